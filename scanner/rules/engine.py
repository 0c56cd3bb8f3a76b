"""Evaluation: a pure function of (certificates, compiled rules, as_of). No clock, no I/O.

Every (rule, certificate) pair whose rule covers the certificate's source gives one Result:
  not_applicable  the rule's `applies` is false
  fail            `assert` is false; severity from the first matching `escalate` entry
  error           a value the rule needs is unknown, or `inconclusive` holds (e.g. a DNS
                  record that could not be resolved): never silently a pass or a fail
  pass            otherwise
Certificates are taken in chunks, grouped by source, and each rule runs over a whole group
at a time; results come out sorted by (rule id, resource id).
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from scanner.model import Certificate, Result, format_time
from scanner.rules.conditions import MissingValue
from scanner.rules.facts import BUCKET, DAYS, Record, make_record
from scanner.rules.model import Rule

OWNER_TAG_KEYS = ("owner", "team", "contact")
_OWNER_RANK = {key: rank for rank, key in enumerate(OWNER_TAG_KEYS)}


def result_context(cert: Certificate, rec: Record) -> dict[str, Any]:
    """What reports need to know about the resource without the inventory at hand.
    Built once per certificate and shared by all its results."""
    owner = None
    tags = cert.tags
    if tags:
        rank = len(OWNER_TAG_KEYS)
        for key, value in tags.items():  # the first of OWNER_TAG_KEYS present with a value
            at = _OWNER_RANK.get(key.casefold(), rank)
            if at < rank and value:
                owner, rank = value, at
    return {
        "source": cert.source, "account": cert.account, "region": cert.region, "vault": cert.vault,
        "domain": cert.domain, "not_after": format_time(cert.not_after), "days_to_expiry": rec[DAYS],
        "expiry_bucket": rec[BUCKET], "in_use": cert.in_use, "type": cert.type, "status": cert.status,
        "owner": owner,
    }


Item = tuple  # (record, resource id, context) of one certificate: see rules.facts


def rule_evaluator(rule: Rule) -> Callable[[list[Item]], list[Result]]:
    """One closure per rule, looping over a chunk of certificates itself: this body runs
    once per (rule, certificate), so attribute lookups and a call per result are kept off it."""
    rule_id, base, controls = rule.id, rule.severity, rule.control_ids
    params, applies, check, escalate = rule.params, rule.applies, rule.check, rule.escalate
    inconclusive, message, pass_message = rule.inconclusive, rule.message, rule.pass_message
    static_pass = pass_message.text if pass_message.static else None
    new = tuple.__new__  # builds the Result tuple in C: this is called once per result

    def severity_of(rec: dict) -> str:
        for when, escalated in escalate:
            try:
                if when(rec):
                    return escalated
            except MissingValue:
                continue
        return base

    def run_all(items: list[Item]) -> list[Result]:
        out: list[Result] = []
        append = out.append
        for rec, resource_id, context in items:
            try:
                if applies is not None and not applies(rec):
                    append(new(Result, (rule_id, resource_id, "not_applicable", base,
                                        static_pass if static_pass is not None else pass_message.render(rec, params),
                                        controls, context, None)))
                    continue
                if not check(rec):
                    append(new(Result, (rule_id, resource_id, "fail", severity_of(rec) if escalate else base,
                                        message.render(rec, params), controls, context, None)))
                    continue
                if inconclusive is not None and inconclusive[0](rec):
                    append(new(Result, (rule_id, resource_id, "error", base, inconclusive[1].render(rec, params),
                                        controls, context, None)))
                    continue
            except MissingValue as missing:
                append(new(Result, (rule_id, resource_id, "error", base,
                                    f"cannot evaluate {rule_id}: {missing.field} is not known for this certificate",
                                    controls, context, None)))
                continue
            append(new(Result, (rule_id, resource_id, "pass", base,
                                static_pass if static_pass is not None else pass_message.render(rec, params),
                                controls, context, None)))
        return out

    return run_all


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
    groups: dict[str, list[tuple[dict, str, dict]]] = {}
    certs = sorted(certificates, key=lambda c: c.id)
    for start in range(0, len(certs), CHUNK):
        groups.clear()
        for cert in certs[start:start + CHUNK]:
            rec = make_record(cert, as_of)
            groups.setdefault(cert.source, []).append((rec, cert.id, result_context(cert, rec)))
        for source, items in groups.items():
            for rule in ordered_rules:
                if rule.covers(source):
                    per_rule[rule.id].extend(runners[rule.id](items))
    # each rule's list is in certificate id order already, but sources were interleaved per chunk
    out: list[Result] = []
    for rule in ordered_rules:
        found = per_rule[rule.id]
        found.sort(key=_RESOURCE_ID)
        out.extend(found)
    return out


_RESOURCE_ID = operator.attrgetter("resource_id")
