"""The plain data passed between the layers: collect -> inventory -> evaluate -> results.

Everything here is a fact or derived from facts plus the scan's ``as_of``; nothing reads
the clock. Times are timezone-aware UTC datetimes in memory and ISO 8601 'Z' strings on disk.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from itertools import repeat
from typing import Any, NamedTuple

SCHEMA_VERSION = 1
ONE_DAY = timedelta(days=1)
ONE_SECOND = timedelta(seconds=1)

SEVERITIES = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
STATUSES = ("pass", "fail", "waived", "not_applicable", "error")
BUCKETS = ("EXPIRED", "CRITICAL_7D", "WARNING_30D", "ATTENTION_90D", "VALID")
SUPERSEDED = "SUPERSEDED"  # status of a Key Vault version that a newer version replaced


class NaiveDatetimeError(ValueError):
    """A timestamp without a zone: refused rather than silently read as local time."""


def parse_time(value: str | datetime) -> datetime:
    """An ISO 8601 timestamp with 'Z' or an offset, or a date (midnight UTC), as aware UTC."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        if len(text) == 20 and text[19] == "Z":  # the saved form, YYYY-MM-DDTHH:MM:SSZ: already UTC
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is timezone.utc:
                return moment
        if len(text) < 10 or text[4] != "-" or text[7] != "-":
            # fromisoformat also reads the basic forms (20261207, 20261207T000000): refused
            # here as a format error, so they are never reported as a missing time zone
            raise ValueError(f"{text!r} is not a date like 2026-12-31 or a timestamp with a zone")
        if len(text) == 10:  # a plain date: YYYY-MM-DD means midnight UTC
            moment = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError(f"timestamp {value!s} has no time zone (add 'Z' or an offset)")
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:59:59-12:00 is in year 10000 in UTC
        raise ValueError(f"timestamp {str(value)[:40]} is outside the years 1 to 9999 in UTC") from None


_TWO_DIGITS = tuple(f"{i:02d}" for i in range(60))


def format_time(moment: datetime | None) -> str | None:
    """UTC ISO 8601 with 'Z'; microseconds kept only when present."""
    if moment is None:
        return None
    if moment.tzinfo is timezone.utc and not moment.microsecond and moment.year >= 1000:
        # the common case, by table: about twice as fast as %-formatting, which cost more than
        # anything else in building a result's context
        two = _TWO_DIGITS
        return (f"{moment.year}-{two[moment.month]}-{two[moment.day]}T"
                f"{two[moment.hour]}:{two[moment.minute]}:{two[moment.second]}Z")
    moment = moment.astimezone(timezone.utc)
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text[:-6] + "Z"


def days_to_expiry(not_after: datetime, as_of: datetime) -> int:
    """Whole days left, floored toward minus infinity (12 hours past expiry is -1)."""
    return (not_after - as_of).days  # a timedelta keeps days floored and 0 <= seconds < 86400


def expiry_in_words(days: int | None, expired: bool) -> str:
    """"expired 35 days ago", "expired today", "expires today", "expires in 1 day",
    "expires in 12 days", from days_to_expiry and whether not_after <= as_of: what people
    read in rule messages and reports (days as in days_to_expiry, so the two never disagree)."""
    if days is None:
        return "has no known expiry date"
    if expired or days < 0:
        return "expired " + ("today" if days == 0 else f"{plural(-days, 'day')} ago")
    return "expires today" if days == 0 else f"expires in {plural(days, 'day')}"


def days_in_words(days: int | None) -> str:
    """A days_to_expiry value for a table cell: "35 days ago", "today", "in 12 days"."""
    if days is None:
        return "unknown"
    if days < 0:
        return f"{plural(-days, 'day')} ago"
    return "today" if days == 0 else f"in {plural(days, 'day')}"


def span_in_words(span: timedelta) -> str:
    """A time span as days and hours ("189 days 11 hours", "3 hours", "under a minute"),
    never a Python timedelta repr."""
    seconds = abs(int(span.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [plural(days, "day")] if days else []
    if hours:
        parts.append(plural(hours, "hour"))
    if not days and minutes:
        parts.append(plural(minutes, "minute"))
    return " ".join(parts) or "under a minute"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def expiry_bucket(not_after: datetime, as_of: datetime) -> str:
    return bucket_for(days_to_expiry(not_after, as_of), not_after <= as_of)


def bucket_for(days: int, expired: bool) -> str:
    """The bucket of a certificate with `days` left (floored); the one place the thresholds live."""
    if expired:
        return "EXPIRED"
    if days <= 7:
        return "CRITICAL_7D"
    if days <= 30:
        return "WARNING_30D"
    if days <= 90:
        return "ATTENTION_90D"
    return "VALID"


@dataclass
class ValidationRecord:
    """One domain-validation record of a certificate (an ACM DNS CNAME)."""

    domain: str
    record_name: str | None = None
    record_type: str | None = None
    record_value: str | None = None
    dns_status: str = "unknown"  # present | missing | mismatch | unknown
    validation_status: str | None = None  # the provider's own status for this domain
    detail: str | None = None  # why the status is what it is (zone, resolver answer)

    def to_dict(self) -> dict[str, Any]:
        return dict(zip(_RECORD_FIELDS, _get_record_fields(self)))


_RECORD_FIELDS = tuple(f.name for f in fields(ValidationRecord))
_get_record_fields = operator.attrgetter(*_RECORD_FIELDS)


@dataclass
class ChainCertificate:
    """A certificate an endpoint served above its leaf (intermediates, sometimes the root)."""

    subject: str | None = None
    issuer: str | None = None
    not_after: datetime | None = None
    signature_algorithm: str | None = None
    signature_hash: str | None = None  # MD5 | SHA1 | SHA256 | ... (None for Ed25519/Ed448)
    fingerprint_sha256: str | None = None
    self_signed: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["not_after"] = format_time(self.not_after)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChainCertificate:
        kwargs = {k: v for k, v in data.items() if k in _CHAIN_FIELDS}
        if kwargs.get("not_after") is not None:
            kwargs["not_after"] = parse_time(kwargs["not_after"])
        return cls(**kwargs)


_CHAIN_FIELDS = frozenset(ChainCertificate.__dataclass_fields__)


@dataclass(slots=True)
class Certificate:
    """The normalized certificate record. Field names are a contract: rule packs use them.

    Values a source does not give stay None, never guessed. ``days_to_expiry`` and
    ``expiry_bucket`` are not stored: they depend on the scan's as_of (see ``facts``).
    """

    # identity
    id: str
    source: str
    account: str | None = None
    region: str | None = None
    vault: str | None = None
    name: str | None = None
    version: str | None = None
    # subject
    domain: str | None = None
    sans: list[str] = field(default_factory=list)
    subject: str | None = None
    issuer: str | None = None
    serial: str | None = None
    fingerprint_sha256: str | None = None
    # lifetime
    not_before: datetime | None = None
    not_after: datetime | None = None
    # status
    status: str | None = None
    type: str | None = None
    enabled: bool | None = None
    renewal_eligibility: str | None = None
    renewal_status: str | None = None
    in_use: bool | None = None
    in_use_by: list[str] = field(default_factory=list)
    auto_renew: bool | None = None
    renewal_action: str | None = None  # Key Vault lifetime action: AutoRenew | EmailContacts | none
    renew_days_before_expiry: int | None = None
    renew_lifetime_percentage: int | None = None
    validity_months: int | None = None
    issuer_name: str | None = None  # the CA configuration name (Key Vault issuer, e.g. Self, Unknown)
    status_message: str | None = None  # the manager's own words on status (cert-manager Ready message)
    failed_attempts: int | None = None  # issuance attempts failed in a row (cert-manager)
    renewal_time: datetime | None = None  # when the manager will renew (cert-manager status.renewalTime)
    # key
    key_algorithm: str | None = None  # RSA | EC | ED25519 | ...
    key_size: int | None = None  # RSA modulus bits, EC curve bits
    key_curve: str | None = None
    signature_algorithm: str | None = None
    signature_hash: str | None = None  # the hash the signature names: MD5 | SHA1 | SHA256 | ...
    # validation
    validation_method: str | None = None
    validation: list[ValidationRecord] = field(default_factory=list)
    # live endpoint facts
    hostname: str | None = None
    hostname_match: bool | None = None
    chain_complete: bool | None = None
    self_signed: bool | None = None
    trusted: bool | None = None
    tls_version: str | None = None
    chain: list[ChainCertificate] = field(default_factory=list)  # served above the leaf, in order
    chain_not_after: datetime | None = None  # the earliest expiry in ``chain``
    # revocation (--check-revocation): good | revoked | unknown, from the certificate's OCSP responder
    revocation_status: str | None = None
    revocation_reason: str | None = None  # the CRL reason when revoked (keyCompromise, ...)
    revoked_at: datetime | None = None
    revocation_checked_at: datetime | None = None
    revocation_checked_with: str | None = None  # the responder URL asked
    revocation_error: str | None = None  # why the status is unknown
    ocsp_stapled: bool | None = None  # the endpoint stapled an OCSP response to its handshake
    # files
    private_key_present: bool | None = None
    # misc
    tags: dict[str, str] = field(default_factory=dict)
    ct_logging: str | None = None  # ENABLED | DISABLED
    # monitoring (ACM, collected only when MON-001 / MON-002 are evaluated; None: not collected).
    # expiry_events_days is the account x region's ACM setting (GetAccountConfiguration
    # ExpiryEvents.DaysBeforeExpiry), carried on each certificate of that account x region.
    expiry_events_days: int | None = None
    # the highest threshold (days) of the certificate's CloudWatch DaysToExpiry alarms that
    # fire below it with an action enabled; 0 when it has none
    expiry_alarm_days: int | None = None

    @property
    def is_wildcard(self) -> bool:
        if self.domain and self.domain.startswith("*."):
            return True
        for name in self.sans:  # a loop, not any(generator): this runs for every certificate
            if name and name.startswith("*."):
                return True
        return False

    @property
    def validity_days(self) -> int | None:
        if self.not_before is None or self.not_after is None:
            return None
        return (self.not_after - self.not_before).days

    @property
    def cabf_validity_days(self) -> int | None:
        """The validity period as the CA/Browser Forum counts it (Baseline Requirements 1.6.1):
        notBefore to notAfter inclusive, and any part of a day beyond whole days of 86,400
        seconds is another day (200 days and one hour is 201 days)."""
        if self.not_before is None or self.not_after is None:
            return None
        period = self.not_after - self.not_before + ONE_SECOND  # inclusive of the last second
        return period.days + (1 if period.seconds or period.microseconds else 0)

    @property
    def chain_expires_first(self) -> bool | None:
        """Whether a certificate served above the leaf expires before the leaf does."""
        if self.chain_not_after is None or self.not_after is None:
            return None
        return self.chain_not_after < self.not_after

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in a saved inventory (facts only, sorted lists kept as given).

        Made for every certificate at every save and scan id: one C-level attrgetter for the
        fields, then the few kinds that need converting (see _FIELD_NAMES below)."""
        out = dict(zip(_FIELD_NAMES, _get_fields(self)))
        for name in _TIME_NAMES:
            if out[name] is not None:
                out[name] = format_time(out[name])
        for name in _RECORD_LIST_NAMES:
            out[name] = [record.to_dict() for record in out[name]]
        for name in _LIST_NAMES:
            out[name] = list(out[name])
        for name in _MAPPING_NAMES:
            out[name] = dict(sorted(out[name].items()))
        out["is_wildcard"] = self.is_wildcard
        out["validity_days"] = self.validity_days
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Certificate:
        # Made for every certificate of a loaded inventory: set operations and one dict copy
        # in C rather than a Python-level filter over ~50 keys.
        kwargs = dict(data)
        for key in data.keys() - CERTIFICATE_FIELDS:  # derived fields a saved inventory repeats
            del kwargs[key]
        for key in DATETIME_FIELDS:
            value = kwargs.get(key)
            if value is not None:
                kwargs[key] = parse_time(value)
        validation, chain = data.get("validation"), data.get("chain")
        kwargs["validation"] = [ValidationRecord(**record) for record in validation] if validation else []
        kwargs["chain"] = [ChainCertificate.from_dict(entry) for entry in chain] if chain else []
        kwargs["sans"] = list(data.get("sans") or [])
        kwargs["in_use_by"] = list(data.get("in_use_by") or [])
        kwargs["tags"] = dict(data.get("tags") or {})
        if "id" not in kwargs or "source" not in kwargs:
            return cls(**kwargs)  # the generated __init__ says what is missing
        # The generated __init__ of ~55 keyword arguments was most of loading an inventory;
        # every field set here is either given or has a plain default (the fields with a
        # default factory are all given just above).
        values = {**_PLAIN_DEFAULTS, **kwargs}
        certificate = object.__new__(cls)
        any(map(setattr, repeat(certificate), _FIELD_NAMES, map(values.__getitem__, _FIELD_NAMES)))  # C loop
        return certificate

    def facts(self, as_of: datetime) -> dict[str, Any]:
        """Every field as JSON-ready values plus the fields derived from as_of: the view a
        tool or a report may want. (The rule engine reads certificates through rules.facts.)"""
        out = self.to_dict()
        out["days_to_expiry"] = days_to_expiry(self.not_after, as_of) if self.not_after else None
        out["expiry_bucket"] = expiry_bucket(self.not_after, as_of) if self.not_after else None
        out["cabf_validity_days"] = self.cabf_validity_days
        out["chain_expires_first"] = self.chain_expires_first
        chain_end = self.chain_not_after
        out["chain_days_to_expiry"] = days_to_expiry(chain_end, as_of) if chain_end else None
        out["chain_expiry_bucket"] = expiry_bucket(chain_end, as_of) if chain_end else None
        return out


CERTIFICATE_FIELDS = frozenset(f.name for f in fields(Certificate))
DATETIME_FIELDS = frozenset({"not_before", "not_after", "chain_not_after", "renewal_time", "revoked_at",
                             "revocation_checked_at"})
# Certificate.to_dict's plan, from the declared types: which fields need converting, and how.
_FIELD_NAMES = tuple(f.name for f in fields(Certificate))
_get_fields = operator.attrgetter(*_FIELD_NAMES)
_PLAIN_DEFAULTS = {f.name: f.default for f in fields(Certificate) if f.default is not MISSING}
# from_dict builds certificates without __init__: it must give every field that has no plain default
assert {f.name for f in fields(Certificate) if f.default is MISSING} <= {
    "id", "source", "sans", "in_use_by", "tags", "validation", "chain"}, "update Certificate.from_dict"
_TIME_NAMES = tuple(f.name for f in fields(Certificate) if "datetime" in str(f.type))
_RECORD_LIST_NAMES = tuple(f.name for f in fields(Certificate)
                           if str(f.type).startswith(("list[ValidationRecord", "list[ChainCertificate")))
_LIST_NAMES = tuple(f.name for f in fields(Certificate)
                    if str(f.type).startswith("list[") and f.name not in _RECORD_LIST_NAMES)
_MAPPING_NAMES = tuple(f.name for f in fields(Certificate) if str(f.type).startswith("dict["))
# Fields derived from stored ones (and as_of): rules read them, inventories do not store them.
DERIVED_FIELD_KINDS = {"is_wildcard": "boolean", "validity_days": "number", "cabf_validity_days": "number",
                       "chain_expires_first": "boolean",
                       "days_to_expiry": "number", "expiry_bucket": "text",
                       "chain_days_to_expiry": "number", "chain_expiry_bucket": "text"}
# Names a rule may use: stored fields plus derived ones.
FACT_FIELDS = CERTIFICATE_FIELDS | set(DERIVED_FIELD_KINDS)


def _kind_of(annotation: str) -> str:
    if annotation.startswith(("list[ValidationRecord", "list[ChainCertificate")):
        return "records"
    if annotation.startswith(("list[", "dict[")):
        return "list" if annotation.startswith("list[") else "mapping"
    return {"str": "text", "int": "number", "bool": "boolean", "datetime": "timestamp"}[annotation.split("|")[0].strip()]


# What kind of value each field holds (text, number, boolean, timestamp, list of text,
# mapping, records), so a rule comparing a field with the wrong kind of value is refused
# when it is loaded rather than failing, or silently never matching, in a scan.
FIELD_KINDS: dict[str, str] = {f.name: _kind_of(f.type) for f in fields(Certificate)} | DERIVED_FIELD_KINDS
# The same for the fields of a served chain's certificates (items of a quantifier over `chain`).
CHAIN_FIELD_KINDS: dict[str, str] = {f.name: _kind_of(f.type) for f in fields(ChainCertificate)}


@dataclass(frozen=True)
class CollectionError:
    """A unit (account/region, vault, file, endpoint) or part of one that could not be read."""

    source: str
    code: str
    message: str
    account: str | None = None
    region: str | None = None
    service: str | None = None
    resource: str | None = None  # vault URL, file path, host:port, ARN where it helps
    unit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectionError:
        return cls(**{k: v for k, v in data.items() if k in _ERROR_FIELDS})


_ERROR_FIELDS = frozenset(f.name for f in fields(CollectionError))


@dataclass(frozen=True)
class Coverage:
    """One unit of collection that was attempted: what was reached and how many records."""

    unit: str  # stable key, e.g. "aws.acm/123456789012/eu-west-1"; shards partition these
    source: str
    service: str | None = None
    account: str | None = None
    region: str | None = None
    vault: str | None = None
    resource: str | None = None  # path or host:port
    count: int = 0
    complete: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Coverage:
        return cls(**{k: v for k, v in data.items() if k in _COVERAGE_FIELDS})


_COVERAGE_FIELDS = frozenset(f.name for f in fields(Coverage))


@dataclass(frozen=True)
class CoverageGap:
    """Something a scan could not see or decide: a collection error, a unit left incomplete
    without one, or a rule that could not decide (a result with status error)."""

    kind: str  # collection-error | incomplete-unit | undecided
    unit: str | None = None
    error: CollectionError | None = None
    result: Result | None = None


def coverage_gaps(errors: Iterable[CollectionError], coverage: Iterable[Coverage],
                  results: Iterable[Result] = ()) -> list[CoverageGap]:
    """Every gap, in that order: errors as given, then incomplete units that no error
    explains, then undecided results. The gate, the reports and the console all read these."""
    errors = list(errors)
    explained = {error.unit for error in errors}
    gaps = [CoverageGap("collection-error", error.unit, error=error) for error in errors]
    gaps += [CoverageGap("incomplete-unit", unit.unit) for unit in coverage
             if not unit.complete and unit.unit not in explained]
    gaps += [CoverageGap("undecided", result=result) for result in results if result.status == "error"]
    return gaps


@dataclass
class Inventory:
    collected_at: datetime
    certificates: list[Certificate] = field(default_factory=list)
    errors: list[CollectionError] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)
    # Where the inventory came from (shards merged, source options); informational.
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not coverage_gaps(self.errors, self.coverage)

    def gaps(self) -> list[CoverageGap]:
        return coverage_gaps(self.errors, self.coverage)

    def to_dict(self, certificates: bool = True) -> dict[str, Any]:
        """The saved form; without ``certificates``, the rest (for writers that stream them)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "collected_at": format_time(self.collected_at),
            "metadata": self.metadata,
            **({"certificates": [c.to_dict() for c in sorted(self.certificates, key=_cert_key)]} if certificates else {}),
            "errors": [e.to_dict() for e in sorted(self.errors, key=_error_key)],
            "coverage": [c.to_dict() for c in sorted(self.coverage, key=lambda c: c.unit)],
        }


def _cert_key(cert: Certificate) -> tuple[str, str]:
    return (cert.source, cert.id)


def _error_key(error: CollectionError) -> tuple[str, ...]:
    return tuple(str(v or "") for v in (error.source, error.account, error.region,
                                         error.service, error.resource, error.code, error.message))


@dataclass(frozen=True)
class Waiver:
    id: str
    rule: str
    resource: str  # exact id or an fnmatch glob
    justification: str
    approved_by: str
    expires: datetime
    file: str | None = None
    line: int | None = None


class Result(NamedTuple):
    """One (rule, resource) evaluation. Auditors need passes too, so every status is kept.

    A tuple: evaluation makes one per (rule, certificate), about a million for a large
    estate, and a tuple is the cheapest object Python builds (see rules.engine). Change one
    with ``result._replace(...)``."""

    rule_id: str
    resource_id: str
    status: str  # pass | fail | waived | not_applicable | error
    severity: str
    message: str
    controls: dict[str, list[str]]
    context: dict[str, Any]  # shared per certificate: source, account, region, domain, bucket...
    waiver: dict[str, Any] | None = None

    @property
    def fingerprint(self) -> str:
        return result_fingerprint(self.rule_id, self.resource_id)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "rule_id": self.rule_id,
            "resource_id": self.resource_id,
            "status": self.status,
            "severity": self.severity,
            "message": self.message,
            "controls": self.controls,
            "fingerprint": self.fingerprint,
            "context": self.context,
        }
        if self.waiver is not None:
            out["waiver"] = self.waiver
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return cls(
            rule_id=data["rule_id"], resource_id=data["resource_id"], status=data["status"],
            severity=data["severity"], message=data.get("message", ""),
            controls=data.get("controls") or {}, context=data.get("context") or {},
            waiver=data.get("waiver"),
        )


def result_fingerprint(rule_id: str, resource_id: str) -> str:
    """Stable across runs for the same rule and resource: SARIF partialFingerprints, baselines."""
    return hashlib.sha256(f"{rule_id}\x00{resource_id}".encode("utf-8", "backslashreplace")).hexdigest()[:32]
