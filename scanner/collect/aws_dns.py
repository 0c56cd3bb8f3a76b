"""Is each ACM DNS validation CNAME actually published? present / missing / mismatch / unknown.

A record is looked up in the Route 53 public hosted zone that holds its name (the zone with
the longest matching suffix, in any account of the scan: DNS is often kept in one shared
account). Names in no Route 53 zone, or whose zone could not be read, go to a DNS resolver
(dnspython; ``--dns-resolver IP[:PORT]``, else the system's). ``unknown`` means it could not
be decided from here (resolver timeout, SERVFAIL, no resolver): it is never ``missing``.
Names compare case-insensitively, with or without the trailing dot.

Economy: per zone, either one ListResourceRecordSets call per name (StartRecordName, one
item) or the whole zone listed (300 records a page), whichever costs fewer calls; the zone
sizes come with ListHostedZones.
"""

from __future__ import annotations

import ipaddress
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.resolver

from scanner.collect.aws_errors import AWS_ERRORS, aws_error, expect, expect_items
from scanner.model import Certificate, CollectionError, ValidationRecord
from scanner.inputs.problems import InputError, Problem

SOURCE = "aws.acm"
RECORDS_PER_PAGE = 300  # ListResourceRecordSets maximum
RESOLVER_TIMEOUT = 2.0
RESOLVER_LIFETIME = 6.0


def normalize_name(name: str) -> str:
    """Lower case, no trailing dot, Route 53's octal escape for '*' undone."""
    return name.strip().replace("\\052", "*").rstrip(".").lower()


def classify(expected: str | None, found: Iterable[str]) -> str:
    values = [normalize_name(v) for v in found]
    if not values:
        return "missing"
    if expected is not None and normalize_name(expected) in values:
        return "present"
    return "mismatch"


@dataclass(frozen=True)
class HostedZone:
    account: str
    id: str
    name: str  # normalized
    record_count: int

    @property
    def label(self) -> str:
        return f"Route 53 zone {self.name}. ({self.id.rsplit('/', 1)[-1]}) in account {self.account}"


def list_public_zones(route53: Any, account: str) -> list[HostedZone]:
    zones = []
    for page in route53.get_paginator("list_hosted_zones").paginate():
        for zone in expect_items(expect(page, "HostedZones", list, "ListHostedZones"), ("Id", "Name"), "ListHostedZones"):
            if (zone.get("Config") or {}).get("PrivateZone"):
                continue  # ACM validates through public DNS only
            zones.append(HostedZone(account, zone["Id"], normalize_name(zone["Name"]),
                                    int(zone.get("ResourceRecordSetCount") or 0)))
    return zones


def zones_for(name: str, zones: list[HostedZone]) -> list[HostedZone]:
    """The zones with the longest name that is a suffix of ``name`` at a label boundary."""
    best: list[HostedZone] = []
    best_len = -1
    for zone in zones:
        if name == zone.name or name.endswith("." + zone.name):
            if len(zone.name) > best_len:
                best, best_len = [zone], len(zone.name)
            elif len(zone.name) == best_len:
                best.append(zone)
    return best


def cname_at(route53: Any, zone_id: str, name: str) -> list[str]:
    """CNAME values at exactly ``name`` (one call)."""
    answer = route53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name,
                                               StartRecordType="CNAME", MaxItems="1")
    out = []
    for rrset in expect(answer, "ResourceRecordSets", list, "ListResourceRecordSets")[:1]:
        if rrset.get("Type") == "CNAME" and normalize_name(rrset["Name"]) == name:
            out = [r["Value"] for r in rrset.get("ResourceRecords", [])]
    return out


def zone_cnames(route53: Any, zone_id: str) -> dict[str, list[str]]:
    """Every CNAME of the zone (ceil(records / 300) calls)."""
    out: dict[str, list[str]] = defaultdict(list)
    paginator = route53.get_paginator("list_resource_record_sets")
    for page in paginator.paginate(HostedZoneId=zone_id, PaginationConfig={"PageSize": RECORDS_PER_PAGE}):
        for rrset in expect_items(expect(page, "ResourceRecordSets", list, "ListResourceRecordSets"),
                                  ("Name", "Type"), "ListResourceRecordSets"):
            if rrset.get("Type") == "CNAME":
                out[normalize_name(rrset["Name"])].extend(r["Value"] for r in rrset.get("ResourceRecords", []))
    return out


# -- resolver ---------------------------------------------------------------------------------
def parse_resolver_address(text: str) -> tuple[str, int]:
    """'IP', 'IP:PORT', '[IPv6]:PORT' or a bare IPv6 address."""
    host, port = text.strip(), 53
    if host.startswith("["):
        inside, _, rest = host[1:].partition("]")
        host = inside
        if rest:
            if not rest.startswith(":"):
                host = ""
            else:
                port = _port(rest[1:], text)
    elif host.count(":") == 1:
        host, raw = host.split(":")
        port = _port(raw, text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise InputError(Problem("--dns-resolver", f"{text!r}: expected IP[:PORT], e.g. 10.0.0.2 or "
                                                   "127.0.0.1:5353 or [::1]:53")) from None
    return host, port


def _port(raw: str, text: str) -> int:
    if raw.isdigit() and 0 < int(raw) < 65536:
        return int(raw)
    raise InputError(Problem("--dns-resolver", f"{text!r}: the port must be a number from 1 to 65535"))


@dataclass(frozen=True)
class ResolverAnswer:
    status: str  # present | missing | mismatch | unknown (for one expected value)
    values: tuple[str, ...]
    detail: str


class CnameResolver:
    def __init__(self, address: str | None):
        self.label = f"resolver {address}" if address else "the system resolver"
        self._error: str | None = None
        try:
            if address:
                host, port = parse_resolver_address(address)
                self._resolver = dns.resolver.Resolver(configure=False)
                self._resolver.nameservers = [host]
                self._resolver.port = port
            else:
                self._resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration as exc:
            self._resolver = None
            self._error = f"no DNS resolver configured here ({exc}); pass --dns-resolver IP[:PORT]"
        if self._resolver is not None:
            self._resolver.timeout = RESOLVER_TIMEOUT
            self._resolver.lifetime = RESOLVER_LIFETIME

    def lookup(self, name: str) -> tuple[str, list[str], str]:
        """(kind, values, detail): kind is answer | nxdomain | noanswer | unknown."""
        if self._resolver is None:
            return "unknown", [], self._error or "no resolver"
        try:
            answer = self._resolver.resolve(name + ".", "CNAME", raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            return "nxdomain", [], f"{self.label}: NXDOMAIN (the name does not exist)"
        except dns.exception.DNSException as exc:  # timeout, SERVFAIL from every server, ...
            return "unknown", [], f"{self.label}: {type(exc).__name__}: {exc}"
        if answer.rrset is None:
            return "noanswer", [], f"{self.label}: the name has no CNAME record"
        values = [record.target.to_text() for record in answer.rrset]
        return "answer", values, f"{self.label}: CNAME {', '.join(values)}"


# -- the checker --------------------------------------------------------------------------------
@dataclass
class NameFinding:
    """What the zones (or the resolver) hold at one name."""

    values: list[str]
    detail: str
    decided: bool = True  # False: unknown


class ValidationChecker:
    """Sets dns_status on every DNS validation record of the ACM certificates given."""

    def __init__(self, *, accounts: Callable[[], list[str]], route53_for: Callable[[str], Any],
                 resolver: CnameResolver, concurrency: int = 8):
        self._accounts = accounts
        self._route53_for = route53_for  # account -> Route 53 client (raises when unreachable)
        self._resolver = resolver
        self._concurrency = max(1, concurrency)

    def check(self, certificates: list[Certificate]) -> list[CollectionError]:
        records = [r for c in certificates if c.source == SOURCE for r in c.validation if r.record_name]
        if not records:
            return []
        names = sorted({normalize_name(r.record_name) for r in records})
        zones, errors = self._zones()
        findings, lookup_errors = self._from_route53(names, zones)
        errors += lookup_errors
        rest = [n for n in names if n not in findings]
        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            for name, finding in zip(rest, pool.map(self._from_resolver, rest)):
                findings[name] = finding
        for record in records:
            self._decide(record, findings[normalize_name(record.record_name)])
        return errors

    @staticmethod
    def _decide(record: ValidationRecord, finding: NameFinding) -> None:
        if not finding.decided:
            record.dns_status, record.detail = "unknown", finding.detail
            return
        record.dns_status = classify(record.record_value, finding.values)
        record.detail = finding.detail

    def _zones(self) -> tuple[list[HostedZone], list[CollectionError]]:
        def one(account: str) -> tuple[list[HostedZone], list[CollectionError]]:
            try:
                client = self._route53_for(account)
            except Exception:  # noqa: BLE001 - an unreachable account is reported by its own units
                return [], []
            try:
                return list_public_zones(client, account), []
            except AWS_ERRORS as exc:
                return [], [aws_error(exc, source=SOURCE, service="route53", account=account,
                                      context="ListHostedZones (validation records)")]

        zones: list[HostedZone] = []
        errors: list[CollectionError] = []
        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            for found, failed in pool.map(one, self._accounts()):
                zones += found
                errors += failed
        return zones, errors

    def _from_route53(self, names: list[str], zones: list[HostedZone]
                      ) -> tuple[dict[str, NameFinding], list[CollectionError]]:
        by_zone: dict[HostedZone, list[str]] = defaultdict(list)
        zones_of: dict[str, list[HostedZone]] = {}
        for name in names:
            zones_of[name] = zones_for(name, zones)
            for zone in zones_of[name]:
                by_zone[zone].append(name)

        def read(zone: HostedZone) -> tuple[HostedZone, dict[str, list[str]] | None, CollectionError | None]:
            wanted = by_zone[zone]
            try:
                client = self._route53_for(zone.account)
                if math.ceil(max(zone.record_count, 1) / RECORDS_PER_PAGE) < len(wanted):
                    every = zone_cnames(client, zone.id)
                    return zone, {n: every.get(n, []) for n in wanted}, None
                return zone, {n: cname_at(client, zone.id, n) for n in wanted}, None
            except AWS_ERRORS as exc:
                return zone, None, aws_error(exc, source=SOURCE, service="route53", account=zone.account,
                                             resource=zone.id, context="ListResourceRecordSets")

        answers: dict[HostedZone, dict[str, list[str]] | None] = {}
        errors: list[CollectionError] = []
        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            for zone, found, error in pool.map(read, sorted(by_zone, key=lambda z: (z.name, z.account, z.id))):
                answers[zone] = found
                if error:
                    errors.append(error)

        findings: dict[str, NameFinding] = {}
        for name in names:
            read_zones = [z for z in zones_of[name] if answers.get(z) is not None]
            if not zones_of[name] or len(read_zones) < len(zones_of[name]):
                continue  # not in Route 53, or a zone could not be read: ask the resolver
            holding = [(z, answers[z][name]) for z in read_zones if answers[z][name]]
            if holding:
                values = [v for _, found in holding for v in found]
                where = "; ".join(f"{z.label}: CNAME {', '.join(found)}" for z, found in holding)
            else:
                values, where = [], "; ".join(f"{z.label}: no CNAME at this name" for z in read_zones)
            findings[name] = NameFinding(values=values, detail=where)
        return findings, errors

    def _from_resolver(self, name: str) -> NameFinding:
        kind, values, detail = self._resolver.lookup(name)
        if kind == "unknown":
            return NameFinding(values=[], detail=detail, decided=False)
        return NameFinding(values=values, detail=detail)
