"""Evaluation: a pure function of (certificates, compiled rules, as_of). No clock, no I/O.

Every (rule, certificate) pair whose rule covers the certificate's source gives one Result:
  not_applicable  the rule's `applies` is false
  fail            `assert` is false; severity from the first matching `escalate` entry
  error           a value the rule needs is unknown, or `inconclusive` holds (e.g. a DNS
                  record that could not be resolved): never silently a pass or a fail
  pass            otherwise
Certificates are taken in chunks in resource id order, and each rule runs over the chunk's
certificates of its sources at once (rules.runner); results come out sorted by (rule id,
resource id).
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from scanner.model import Certificate, Result, format_time
from scanner.rules.facts import BUCKET, DAYS, Record, make_record
from scanner.rules.model import Rule
from scanner.rules.runner import rule_runner

OWNER_TAG_KEYS = ("owner", "team", "contact")


def owner_rank(rules: Iterable[Rule]) -> dict[str, int]:
    """Which tag names the owner, best first: the keys TAG-001 reads (its `keys` parameter, as
    configured), then the usual owner, team, contact. Notification routes match this owner,
    so a team that configures TAG-001 is routed by the same tag its rule checks."""
    keys: list[str] = []
    for rule in rules:
        if rule.id == "TAG-001":
            configured = rule.params.get("keys")
            keys += [str(k) for k in (configured if isinstance(configured, list) else [])]
    keys += OWNER_TAG_KEYS
    rank: dict[str, int] = {}
    for key in keys:
        rank.setdefault(key.casefold(), len(rank))
    return rank


_DEFAULT_OWNER_RANK = {key: rank for rank, key in enumerate(OWNER_TAG_KEYS)}


def result_context(cert: Certificate, rec: Record, owner_ranks: dict[str, int] = _DEFAULT_OWNER_RANK) -> dict[str, Any]:
    """What reports need to know about the resource without the inventory at hand.
    Built once per certificate and shared by all its results."""
    owner = None
    tags = cert.tags
    if tags:
        rank = len(owner_ranks)
        for key, value in tags.items():  # the best-ranked owner tag present with a value
            at = owner_ranks.get(key.casefold(), rank)
            if at < rank and value and str(value).strip():
                owner, rank = value, at
    return {
        "source": cert.source, "account": cert.account, "region": cert.region, "vault": cert.vault,
        "domain": cert.domain, "not_after": format_time(cert.not_after), "days_to_expiry": rec[DAYS],
        "expiry_bucket": rec[BUCKET], "in_use": cert.in_use, "type": cert.type, "status": cert.status,
        "owner": owner, "fingerprint_sha256": cert.fingerprint_sha256,
    }


def evaluate(certificates: Iterable[Certificate], rules: list[Rule], as_of: datetime) -> list[Result]:
    # About a million acyclic objects are allocated here (one per result); the cyclic
    # collector's passes over them can free nothing. It is paused while they are made, and
    # then they are frozen (moved out of its view): otherwise the first allocation after
    # this walks all of them, and later passes walk them again as they age, about 0.3 s
    # each at 100,000 certificates. A scan holds its results until it ends, and they are
    # still freed by reference counting; only a reference cycle among frozen objects would
    # outlive them, which matters for a long-lived process, not for a command.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _evaluate(certificates, rules, as_of)
    finally:
        if paused:
            gc.freeze()
            gc.enable()


CHUNK = 4096  # certificates whose records are held at once: bounds memory, keeps each rule's loop tight


def _evaluate(certificates: Iterable[Certificate], rules: list[Rule], as_of: datetime) -> list[Result]:
    ordered_rules = sorted(rules, key=lambda r: r.id)
    per_rule: dict[str, list[Result]] = {rule.id: [] for rule in ordered_rules}
    runners = {rule.id: rule_runner(rule) for rule in ordered_rules}
    certs = sorted(certificates, key=_ID)
    owner_ranks = owner_rank(ordered_rules)
    for start in range(0, len(certs), CHUNK):
        chunk = certs[start:start + CHUNK]
        recs = [make_record(cert, as_of) for cert in chunk]
        ids = list(map(_ID, chunk))
        contexts = [result_context(cert, rec, owner_ranks) for cert, rec in zip(chunk, recs)]
        at: dict[str, list[int]] = {}  # source -> positions in the chunk
        for i, source in enumerate(map(_SOURCE, chunk)):
            at.setdefault(source, []).append(i)
        # the certificates each rule's sources cover, kept in id order so results need no sort
        views: dict[frozenset[str] | None, tuple[list, list, list]] = {None: (recs, ids, contexts)}
        for rule in ordered_rules:
            view = views.get(rule.resources)
            if view is None:
                picked = sorted(i for source in rule.resources for i in at.get(source, ()))
                view = views[rule.resources] = ([recs[i] for i in picked], [ids[i] for i in picked],
                                                [contexts[i] for i in picked])
            if view[0]:
                per_rule[rule.id].extend(runners[rule.id](*view))
    return [result for rule in ordered_rules for result in per_rule[rule.id]]


_ID = operator.attrgetter("id")
_SOURCE = operator.attrgetter("source")
