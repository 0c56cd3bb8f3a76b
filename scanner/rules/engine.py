"""Evaluation: a pure function of (certificates, compiled rules, as_of). No clock, no I/O.

Every (rule, certificate) pair whose rule covers the certificate's source gives one Result:
  not_applicable  the rule's `applies` is false
  fail            `assert` is false; severity from the first matching `escalate` entry
  error           a value the rule needs is unknown, or `inconclusive` holds (e.g. a DNS
                  record that could not be resolved): never silently a pass or a fail
  pass            otherwise
Certificates are taken in chunks in resource id order, and each rule runs over the chunk's
certificates of its sources at once; results come out sorted by (rule id, resource id).
"""

from __future__ import annotations

import gc
from functools import partial
from itertools import repeat
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


def rule_evaluator(rule: Rule) -> Callable[[list[Record], list[str], list[dict]], list[Result]]:
    """One closure per rule, taking a group of certificates at once (their records, resource
    ids and contexts, in order): each condition runs over the whole group (see
    rules.conditions), then one pass builds the results in the group's order."""
    rule_id, base, controls = rule.id, rule.severity, rule.control_ids
    params, applies, check, escalate = rule.params, rule.applies, rule.check, rule.escalate
    inconclusive, message, pass_message = rule.inconclusive, rule.message, rule.pass_message
    fail_text, pass_text = message.bind(params), pass_message.bind(params)
    unsure_text = inconclusive[1].bind(params) if inconclusive is not None else None
    static_pass = pass_message.text if pass_message.static else None
    make = partial(tuple.__new__, Result)  # a Result from an 8-tuple, in C

    def cannot(missing: MissingValue) -> str:
        return f"cannot evaluate {rule_id}: {missing.field} is not known for this certificate"

    def severities_of(recs: list[Record]) -> list[str]:
        """The first escalate entry that holds for each; an unknown value skips an entry."""
        found = [base] * len(recs)
        open_ = list(range(len(recs)))
        for when, escalated in escalate:
            if not open_:
                break
            still = []
            for i, v in zip(open_, when([recs[i] for i in open_])):
                if v is True:
                    found[i] = escalated
                else:
                    still.append(i)
            open_ = still
        return found

    def run_all(recs: list[Record], ids: list[str], contexts: list[dict]) -> list[Result]:
        # Columns start as "every certificate passes" and are overwritten where one does not;
        # the results are then made in one C-level pass (zip + tuple.__new__).
        n = len(recs)
        statuses = ["pass"] * n
        severities = [base] * n
        texts: list[Any] = [static_pass] * n
        if applies is None:
            live: Any = range(n)
        else:
            outcome = applies(recs)
            live = [i for i, v in enumerate(outcome) if v is True]
            if len(live) < n:
                for i, v in [(i, v) for i, v in enumerate(outcome) if v is not True]:
                    if v is False:
                        statuses[i] = "not_applicable"
                        if static_pass is None:
                            texts[i] = pass_text(recs[i])
                    else:
                        statuses[i], texts[i] = "error", cannot(v)
        outcome = check(recs if len(live) == n else [recs[i] for i in live])
        failing = []
        for i, v in [(i, v) for i, v in zip(live, outcome) if v is not True]:
            if v is False:
                failing.append(i)
            else:
                statuses[i], texts[i] = "error", cannot(v)
        if failing:
            failed = [recs[i] for i in failing]
            for i, rec, severity in zip(failing, failed, severities_of(failed) if escalate else repeat(base)):
                statuses[i], severities[i], texts[i] = "fail", severity, fail_text(rec)
        if inconclusive is not None or static_pass is None:
            passing = [i for i, v in zip(live, outcome) if v is True]
            if inconclusive is not None and passing:
                unsure = inconclusive[0]([recs[i] for i in passing])
                for i, v in [(i, v) for i, v in zip(passing, unsure) if v is not False]:
                    statuses[i], texts[i] = "error", unsure_text(recs[i]) if v is True else cannot(v)
            if static_pass is None:
                for i in passing:
                    if statuses[i] == "pass":
                        texts[i] = pass_text(recs[i])
        return list(map(make, zip(repeat(rule_id, n), ids, statuses, severities, texts, repeat(controls, n),
                                  contexts, repeat(None, n))))

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
    certs = sorted(certificates, key=lambda c: c.id)
    for start in range(0, len(certs), CHUNK):
        chunk = certs[start:start + CHUNK]
        recs = [make_record(cert, as_of) for cert in chunk]
        ids = [cert.id for cert in chunk]
        contexts = [result_context(cert, rec) for cert, rec in zip(chunk, recs)]
        sources = [cert.source for cert in chunk]
        # the certificates each rule's sources cover, kept in id order so results need no sort
        views: dict[frozenset[str] | None, tuple[list, list, list]] = {None: (recs, ids, contexts)}
        for rule in ordered_rules:
            view = views.get(rule.resources)
            if view is None:
                picked = [i for i, source in enumerate(sources) if source in rule.resources]
                view = views[rule.resources] = ([recs[i] for i in picked], [ids[i] for i in picked],
                                                [contexts[i] for i in picked])
            if view[0]:
                per_rule[rule.id].extend(runners[rule.id](*view))
    return [result for rule in ordered_rules for result in per_rule[rule.id]]
