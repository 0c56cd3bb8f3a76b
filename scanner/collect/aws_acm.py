"""ACM certificates of one account x region, as normalized records.

Economy: ListCertificates summaries already carry domain, SANs (first 100), status, type,
dates, key algorithm, InUse and renewal eligibility, so the summary is the record. Details
(DescribeCertificate, one call per certificate) are fetched only where a rule or the record
needs what the summary lacks:
  - AMAZON_ISSUED and PRIVATE: validation method and records (DNS-001), renewal status, CT
    logging preference, serial and issuer exist only in the details;
  - in use: InUseBy names the load balancers / distributions that depend on the certificate;
  - SANs missing from the summary or truncated (HasAdditionalSubjectAlternativeNames):
    WILDCARD-001 needs every name.
An imported, unused certificate therefore costs no call of its own. Tags come in bulk from
the Resource Groups Tagging API (GetResources, 100 ARNs a page; a certificate it does not
return was never tagged). If that API is denied, ListTagsForCertificate is used per
certificate so TAG-001 never judges tags that were not read.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from scanner.collect import UnitResult
from scanner.collect.aws_errors import AWS_ERRORS, MalformedResponse, aws_error, expect, expect_items
from scanner.model import Certificate, CollectionError, Coverage, ValidationRecord

SOURCE = "aws.acm"
PAGE_SIZE = 1000  # ListCertificates maximum
TAG_PAGE_SIZE = 100  # GetResources maximum
MANAGED_TYPES = ("AMAZON_ISSUED", "PRIVATE")
EC_CURVES = {"prime256v1": ("P-256", 256), "secp384r1": ("P-384", 384), "secp521r1": ("P-521", 521)}
# DescribeCertificate runs this many at a time within one account x region, under ACM's
# request-rate quota for it (applied by AWS per account per region; 10 per second is the
# documented default, see the ACM quotas page): a region with thousands of DNS-validated
# certificates is not read one call at a time, and is not throttled either. Botocore's
# adaptive retries still handle any throttling that happens anyway (a lowered quota).
DESCRIBE_WORKERS = 4
DESCRIBE_RATE = 10.0


class RateLimiter:
    """At most ``rate`` acquisitions per second, spaced evenly (a token bucket of one), shared
    by the threads of a process. ``clock``/``sleep`` are seams for tests."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / rate
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self) -> None:
        with self._lock:
            now = self.clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self.sleep(slot - now)


_limiters: dict[tuple[str, str, str], RateLimiter] = {}
_limiters_lock = threading.Lock()


def rate_limiter(account: str, region: str, api: str, rate: float) -> RateLimiter:
    """One limiter per account, region and API, as AWS counts the quota (units of one account
    and region may run in different threads, or shards of one process)."""
    with _limiters_lock:
        return _limiters.setdefault((account, region, api), RateLimiter(rate))


def all_key_types(acm: Any) -> list[str]:
    """Every key type the service model knows: ListCertificates returns only RSA_1024 and
    RSA_2048 certificates unless Includes.keyTypes names the others."""
    return list(acm.meta.service_model.shape_for("KeyAlgorithm").enum)


def list_summaries(acm: Any) -> Iterator[dict[str, Any]]:
    paginator = acm.get_paginator("list_certificates")
    pages = paginator.paginate(Includes={"keyTypes": all_key_types(acm)},
                               PaginationConfig={"PageSize": PAGE_SIZE})
    for page in pages:
        yield from expect_items(expect(page, "CertificateSummaryList", list, "ListCertificates"),
                                ("CertificateArn",), "ListCertificates")


def needs_details(summary: dict[str, Any]) -> bool:
    if summary.get("Type") in MANAGED_TYPES or not summary.get("Type"):
        return True
    if summary.get("InUse"):
        return True
    return "SubjectAlternativeNameSummaries" not in summary or bool(summary.get("HasAdditionalSubjectAlternativeNames"))


def acm_key(value: str | None) -> tuple[str | None, int | None, str | None]:
    """ACM's KeyAlgorithm word (RSA_2048, EC_prime256v1) as (algorithm, bits, curve)."""
    if not value:
        return None, None, None
    family, _, rest = value.partition("_")
    if family == "RSA" and rest.isdigit():
        return "RSA", int(rest), None
    if family == "EC" and rest in EC_CURVES:
        curve, bits = EC_CURVES[rest]
        return "EC", bits, curve
    return value, None, None  # a key type newer than this mapping: keep the provider's word


def normalize_serial(value: str | None) -> str | None:
    """ACM writes serials as colon-separated hex bytes; records use plain lower-case hex
    (as the X.509 parser does) so a certificate matches across sources."""
    if not value:
        return None
    if ":" in value:
        try:
            return format(int(value.replace(":", ""), 16), "x")
        except ValueError:
            return value
    return value.lower()


def utc(moment: Any) -> datetime | None:
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def validation_records(detail: dict[str, Any]) -> tuple[str | None, list[ValidationRecord]]:
    """The validation method and, for DNS, one record per domain (dns_status decided later)."""
    options = detail.get("DomainValidationOptions") or []
    methods = sorted({o.get("ValidationMethod") for o in options if o.get("ValidationMethod")})
    method = "DNS" if "DNS" in methods else (methods[0] if methods else None)
    records = []
    for option in options:
        if option.get("ValidationMethod") != "DNS":
            continue
        rr = option.get("ResourceRecord") or {}
        records.append(ValidationRecord(
            domain=option.get("DomainName", ""),
            record_name=rr.get("Name"),
            record_type=rr.get("Type"),
            record_value=rr.get("Value"),
            dns_status="unknown",
            validation_status=option.get("ValidationStatus"),
            detail=None if rr else "ACM has not published a validation record for this domain yet",
        ))
    return method, sorted(records, key=lambda r: (r.domain, r.record_name or ""))


def certificate_record(summary: dict[str, Any], detail: dict[str, Any] | None, *, account: str,
                       region: str) -> Certificate:
    """The normalized record from the summary, completed by the details where fetched."""
    merged = {**summary, **(detail or {})}
    algorithm, size, curve = acm_key(merged.get("KeyAlgorithm"))
    if detail and "SubjectAlternativeNames" in detail:
        sans = list(detail["SubjectAlternativeNames"])
    else:
        sans = list(summary.get("SubjectAlternativeNameSummaries") or [])
    record = Certificate(
        id=merged["CertificateArn"],
        source=SOURCE,
        account=account,
        region=region,
        domain=merged.get("DomainName"),
        sans=sans,
        status=merged.get("Status"),
        type=merged.get("Type"),
        not_before=utc(merged.get("NotBefore")),
        not_after=utc(merged.get("NotAfter")),
        key_algorithm=algorithm,
        key_size=size,
        key_curve=curve,
        renewal_eligibility=merged.get("RenewalEligibility"),
        in_use=merged.get("InUse") if "InUse" in summary else None,
    )
    if detail:
        record.in_use_by = sorted(detail.get("InUseBy") or [])
        if record.in_use is None:
            record.in_use = bool(record.in_use_by)
        record.subject = detail.get("Subject")
        record.issuer = detail.get("Issuer")
        record.serial = normalize_serial(detail.get("Serial"))
        record.signature_algorithm = detail.get("SignatureAlgorithm")
        record.renewal_status = (detail.get("RenewalSummary") or {}).get("RenewalStatus")
        record.ct_logging = (detail.get("Options") or {}).get("CertificateTransparencyLoggingPreference")
        record.validation_method, record.validation = validation_records(detail)
    return record


def bulk_tags(tagging: Any, arns: set[str]) -> dict[str, dict[str, str]]:
    """Tags of every tagged ACM certificate of the region, from GetResources."""
    found: dict[str, dict[str, str]] = {}
    paginator = tagging.get_paginator("get_resources")
    for page in paginator.paginate(ResourceTypeFilters=["acm:certificate"], ResourcesPerPage=TAG_PAGE_SIZE):
        for item in expect_items(expect(page, "ResourceTagMappingList", list, "GetResources"),
                                 ("ResourceARN",), "GetResources"):
            if item["ResourceARN"] in arns:
                found[item["ResourceARN"]] = {t["Key"]: t.get("Value") or "" for t in item.get("Tags", [])}
    return found


def collect_region(acm: Any, tagging: Any, *, account: str, region: str, unit: str,
                   account_config: bool = False, cloudwatch: Any = None) -> UnitResult:
    """Everything ACM holds in one account x region. Never raises for a provider error."""
    errors: list[CollectionError] = []

    def failed(exc: BaseException, service: str = "acm", resource: str | None = None) -> None:
        errors.append(aws_error(exc, source=SOURCE, service=service, account=account, region=region,
                                unit=unit, resource=resource))

    try:
        summaries = list(list_summaries(acm))
    except AWS_ERRORS as exc:
        failed(exc)
        return UnitResult(errors=errors, coverage=[_coverage(unit, account, region, 0, False)])

    details = describe_all([s for s in summaries if needs_details(s)], acm,
                           rate_limiter(account, region, "acm:DescribeCertificate", DESCRIBE_RATE))
    records = []
    for summary in summaries:
        detail = None
        arn = summary["CertificateArn"]
        if arn in details:
            detail, error = details[arn]
            if error is not None:
                failed(error, resource=arn)
        records.append(certificate_record(summary, detail, account=account, region=region))

    if records:
        _attach_tags(records, acm, tagging, failed)
        if account_config:
            _attach_expiry_events(records, acm, failed)
        if cloudwatch is not None:
            _attach_expiry_alarms(records, cloudwatch, failed)
    return UnitResult(certificates=records, errors=errors,
                      coverage=[_coverage(unit, account, region, len(records), not errors)])


def describe_all(summaries: list[dict[str, Any]], acm: Any,
                 limiter: RateLimiter) -> dict[str, tuple[dict[str, Any] | None, BaseException | None]]:
    """DescribeCertificate for each summary, DESCRIBE_WORKERS at a time under the limiter:
    ARN -> (details, None) or (None, the provider error). The caller records errors in the
    summaries' order, so the inventory does not depend on which call finished first."""

    def describe(summary: dict[str, Any]) -> tuple[dict[str, Any] | None, BaseException | None]:
        limiter.acquire()
        try:
            return expect(acm.describe_certificate(CertificateArn=summary["CertificateArn"]),
                          "Certificate", dict, "DescribeCertificate"), None
        except AWS_ERRORS as exc:
            return None, exc

    if len(summaries) <= 1:
        answers = [describe(s) for s in summaries]
    else:
        with ThreadPoolExecutor(max_workers=min(DESCRIBE_WORKERS, len(summaries)),
                                thread_name_prefix="certscan-acm-describe") as pool:
            answers = list(pool.map(describe, summaries))
    return {summary["CertificateArn"]: answer for summary, answer in zip(summaries, answers)}


def _attach_tags(records: list[Certificate], acm: Any, tagging: Any, failed) -> None:
    try:
        tags = bulk_tags(tagging, {r.id for r in records})
    except AWS_ERRORS:
        # tag:GetResources not allowed (or failing): read each certificate's tags instead.
        for record in records:
            try:
                answer = acm.list_tags_for_certificate(CertificateArn=record.id)
                record.tags = {t["Key"]: t.get("Value") or "" for t in answer.get("Tags", [])}
            except AWS_ERRORS as exc:
                failed(exc, resource=record.id)
        return
    for record in records:
        record.tags = tags.get(record.id, {})


def _coverage(unit: str, account: str, region: str, count: int, complete: bool) -> Coverage:
    return Coverage(unit=unit, source=SOURCE, service="acm", account=account, region=region,
                    count=count, complete=complete)


DEFAULT_DAYS_BEFORE_EXPIRY = 45  # ACM's documented default when the account never set it
DAYS_TO_EXPIRY_ALARMS = ("LessThanThreshold", "LessThanOrEqualToThreshold")


def _attach_expiry_events(records: list[Certificate], acm: Any, failed) -> None:
    """MON-001: the account x region's ExpiryEvents.DaysBeforeExpiry (one call per unit),
    carried on each of its certificates."""
    try:
        answer = acm.get_account_configuration()
    except AWS_ERRORS as exc:
        failed(exc)
        return
    days = (answer.get("ExpiryEvents") or {}).get("DaysBeforeExpiry", DEFAULT_DAYS_BEFORE_EXPIRY)
    if not isinstance(days, int) or isinstance(days, bool):
        failed(MalformedResponse("GetAccountConfiguration: ExpiryEvents.DaysBeforeExpiry is not a number"))
        return
    for record in records:
        record.expiry_events_days = days


def expiry_alarm_days(alarms: list[dict[str, Any]]) -> int:
    """The highest threshold of the DaysToExpiry alarms that fire below it and have an
    action enabled; 0 when there is none."""
    best = 0
    for alarm in alarms:
        if alarm.get("ComparisonOperator") not in DAYS_TO_EXPIRY_ALARMS:
            continue
        if not alarm.get("ActionsEnabled") or not alarm.get("AlarmActions"):
            continue
        threshold = alarm.get("Threshold")
        if isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and threshold > best:
            best = int(threshold)
    return best


def _attach_expiry_alarms(records: list[Certificate], cloudwatch: Any, failed) -> None:
    """MON-002: DescribeAlarmsForMetric on AWS/CertificateManager DaysToExpiry for each
    in-use certificate (one call each; unused certificates need no alarm)."""
    for record in records:
        if not record.in_use:
            continue
        try:
            answer = cloudwatch.describe_alarms_for_metric(
                Namespace="AWS/CertificateManager", MetricName="DaysToExpiry",
                Dimensions=[{"Name": "CertificateArn", "Value": record.id}])
            alarms = expect(answer, "MetricAlarms", list, "DescribeAlarmsForMetric")
        except AWS_ERRORS as exc:
            failed(exc, service="cloudwatch", resource=record.id)
            continue
        # Only alarms on this certificate's metric count, whatever else an answer holds (moto,
        # for one, ignores the Dimensions filter).
        record.expiry_alarm_days = expiry_alarm_days([a for a in alarms if isinstance(a, dict) and any(
            isinstance(d, dict) and d.get("Name") == "CertificateArn" and d.get("Value") == record.id
            for d in a.get("Dimensions") or [])])
