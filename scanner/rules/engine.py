"""Evaluation: a pure function of (certificates, compiled rules, as_of). No clock, no I/O.

Every (rule, certificate) pair whose rule covers the certificate's source gives one Result:
  not_applicable  the rule's `applies` is false
  fail            `assert` is false; severity from the first matching `escalate` entry
  error           a value the rule needs is unknown, or `inconclusive` holds (e.g. a DNS
                  record that could not be resolved): never silently a pass or a fail
  pass            otherwise
Results come out sorted by (rule id, resource id) without a global sort: certificates are
visited in id order and each rule keeps its own list.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from scanner.model import Certificate, Result, SOURCES
from scanner.rules.conditions import MissingValue
from scanner.rules.model import Rule

CONTEXT_FIELDS = ("source", "account", "region", "vault", "domain", "not_after",
                  "days_to_expiry", "expiry_bucket", "in_use", "type", "status")
OWNER_TAG_KEYS = ("owner", "team", "contact")


def result_context(rec: dict) -> dict[str, Any]:
    """What reports need to know about the resource without the inventory at hand."""
    context = {key: rec.get(key) for key in CONTEXT_FIELDS}
    tags = rec.get("tags") or {}
    lowered = {str(k).casefold(): v for k, v in tags.items()}
    context["owner"] = next((lowered[k] for k in OWNER_TAG_KEYS if lowered.get(k)), None)
    return context


def evaluate_rule(rule: Rule, rec: dict, resource_id: str, context: dict) -> Result:
    params = rule.params
    try:
        if rule.applies is not None and not rule.applies(rec):
            return Result(rule.id, resource_id, "not_applicable", rule.severity,
                          rule.pass_message.render(rec, params), rule.control_ids, context)
        if not rule.check(rec):
            severity = rule.severity
            for when, escalated in rule.escalate:
                try:
                    if when(rec):
                        severity = escalated
                        break
                except MissingValue:
                    continue
            return Result(rule.id, resource_id, "fail", severity, rule.message.render(rec, params),
                          rule.control_ids, context)
        if rule.inconclusive is not None:
            when, template = rule.inconclusive
            if when(rec):
                return Result(rule.id, resource_id, "error", rule.severity, template.render(rec, params),
                              rule.control_ids, context)
    except MissingValue as missing:
        return Result(rule.id, resource_id, "error", rule.severity,
                      f"cannot evaluate {rule.id}: {missing.field} is not known for this certificate",
                      rule.control_ids, context)
    return Result(rule.id, resource_id, "pass", rule.severity, rule.pass_message.render(rec, params),
                  rule.control_ids, context)


def evaluate(certificates: Iterable[Certificate], rules: list[Rule], as_of: datetime) -> list[Result]:
    ordered_rules = sorted(rules, key=lambda r: r.id)
    by_source = {source: [r for r in ordered_rules if r.covers(source)] for source in SOURCES}
    per_rule: dict[str, list[Result]] = {rule.id: [] for rule in ordered_rules}
    for cert in sorted(certificates, key=lambda c: c.id):
        applicable = by_source.get(cert.source) or [r for r in ordered_rules if r.covers(cert.source)]
        if not applicable:
            continue
        rec = cert.facts(as_of)
        rec["resource_id"] = cert.id
        context = result_context(rec)
        for rule in applicable:
            per_rule[rule.id].append(evaluate_rule(rule, rec, cert.id, context))
    return [result for rule in ordered_rules for result in per_rule[rule.id]]
