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

import gc
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from scanner.model import SOURCES, Certificate, FactReader, Result, format_time
from scanner.rules.conditions import MissingValue
from scanner.rules.model import Rule

CONTEXT_FIELDS = ("source", "account", "region", "vault", "domain", "not_after",
                  "days_to_expiry", "expiry_bucket", "in_use", "type", "status", "tags")
OWNER_TAG_KEYS = ("owner", "team", "contact")
CONTEXT_NEEDS = frozenset(CONTEXT_FIELDS)


def result_context(rec: dict) -> dict[str, Any]:
    """What reports need to know about the resource without the inventory at hand.
    Built once per certificate and shared by all its results."""
    owner = None
    tags = rec["tags"]
    if tags:
        lowered = {str(k).casefold(): v for k, v in tags.items()}
        owner = next((lowered[k] for k in OWNER_TAG_KEYS if lowered.get(k)), None)
    return {
        "source": rec["source"], "account": rec["account"], "region": rec["region"], "vault": rec["vault"],
        "domain": rec["domain"], "not_after": format_time(rec["not_after"]), "days_to_expiry": rec["days_to_expiry"],
        "expiry_bucket": rec["expiry_bucket"], "in_use": rec["in_use"], "type": rec["type"], "status": rec["status"],
        "owner": owner,
    }


def rule_evaluator(rule: Rule) -> Callable[[dict, str, dict], Result]:
    """One closure per rule with everything it needs bound locally: this runs once per
    (rule, certificate), so attribute lookups and generic calls are kept off it."""
    rule_id, base, controls = rule.id, rule.severity, rule.control_ids
    params, applies, check, escalate = rule.params, rule.applies, rule.check, rule.escalate
    inconclusive, message, pass_message = rule.inconclusive, rule.message, rule.pass_message
    static_pass = pass_message.text if pass_message.static else None

    def severity_of(rec: dict) -> str:
        for when, escalated in escalate:
            try:
                if when(rec):
                    return escalated
            except MissingValue:
                continue
        return base

    def run(rec: dict, resource_id: str, context: dict) -> Result:
        try:
            if applies is not None and not applies(rec):
                return Result(rule_id, resource_id, "not_applicable", base,
                              static_pass if static_pass is not None else pass_message.render(rec, params),
                              controls, context)
            if not check(rec):
                return Result(rule_id, resource_id, "fail", severity_of(rec) if escalate else base,
                              message.render(rec, params), controls, context)
            if inconclusive is not None and inconclusive[0](rec):
                return Result(rule_id, resource_id, "error", base, inconclusive[1].render(rec, params), controls, context)
        except MissingValue as missing:
            return Result(rule_id, resource_id, "error", base,
                          f"cannot evaluate {rule_id}: {missing.field} is not known for this certificate",
                          controls, context)
        return Result(rule_id, resource_id, "pass", base,
                      static_pass if static_pass is not None else pass_message.render(rec, params), controls, context)

    return run


def evaluate(certificates: Iterable[Certificate], rules: list[Rule], as_of: datetime) -> list[Result]:
    # About a million acyclic objects are allocated here; the cyclic collector's passes
    # over them cost a fifth of the time and can free nothing.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _evaluate(certificates, rules, as_of)
    finally:
        if paused:
            gc.enable()


CHUNK = 4096  # certificates whose records are held at once: bounds memory, keeps each rule's loop tight


def _evaluate(certificates: Iterable[Certificate], rules: list[Rule], as_of: datetime) -> list[Result]:
    ordered_rules = sorted(rules, key=lambda r: r.id)
    per_rule: dict[str, list[Result]] = {rule.id: [] for rule in ordered_rules}
    runners = {rule.id: rule_evaluator(rule) for rule in ordered_rules}
    reader = FactReader(CONTEXT_NEEDS.union(*(rule.fields for rule in ordered_rules)))
    read = reader.read
    groups: dict[str, list[tuple[dict, str, dict]]] = {}
    certs = sorted(certificates, key=lambda c: c.id)
    for start in range(0, len(certs), CHUNK):
        groups.clear()
        for cert in certs[start:start + CHUNK]:
            rec = read(cert, as_of)
            rec["resource_id"] = cert.id
            groups.setdefault(cert.source, []).append((rec, cert.id, result_context(rec)))
        for source, items in groups.items():
            for rule in ordered_rules:
                if rule.covers(source):
                    run = runners[rule.id]
                    per_rule[rule.id].extend([run(rec, resource_id, context) for rec, resource_id, context in items])
    # each rule's list is in certificate id order already, but sources were interleaved per chunk
    out: list[Result] = []
    for rule in ordered_rules:
        found = per_rule[rule.id]
        found.sort(key=_resource_id)
        out.extend(found)
    return out


def _resource_id(result: Result) -> str:
    return result.resource_id
