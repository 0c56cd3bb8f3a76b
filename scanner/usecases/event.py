"""The event use case: answer ACM's EventBridge events by scanning just the certificates they
name, the way a scan reads them, and evaluating the rule packs on those records only.

Each event's certificate is read in the event's account: with the current credentials when
they belong to it, else by assuming the role (``--role-name``) from them, as ``--all-accounts``
does. DescribeCertificate gives the record (summary fields included), ListTagsForCertificate
its tags; the DNS validation records are checked by the scan's ValidationChecker (Route 53 of
the event's account and the caller's, else the resolver). A certificate deleted since its
event is reported as such (``outcome: deleted``) and is no gap; one that cannot be read is a
collection error, so the gate exits 3 as for any incomplete scan. Account-level rules are
left to scans: an event run collects no account x region records for them to judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from scanner.collect import SourceOptions
from scanner.inputs.acm_event import AcmEvent
from scanner.model import Certificate, Coverage, Inventory
from scanner.usecases.scan import ScanRun, ScanSettings, run_scan

SOURCE = "aws.acm"


@dataclass
class EventSources:
    profile: str | None = None  # the credentials the events are answered with
    role_name: str | None = None  # assumed in an event's account when the credentials are another account's
    dns_resolver: str | None = None
    concurrency: int = 8


def unit_of(event: AcmEvent) -> str:
    return f"{SOURCE}/{event.account}/{event.region}/{event.certificate_arn.rsplit('/', 1)[-1]}"


def collect_events(events: list[AcmEvent], sources: EventSources, collected_at: datetime,
                   ) -> tuple[Inventory, list[dict[str, Any]]]:
    """The inventory of the events' certificates, and each event with what became of it
    (collected, deleted or unreadable)."""
    from scanner.collect.aws_dns import CnameResolver, ValidationChecker, parse_resolver_address
    from scanner.collect.aws_errors import aws_error
    from scanner.collect.aws_org import DEFAULT_GLOBAL_REGION, AwsEstate

    options = SourceOptions(profile=sources.profile, regions=sorted({e.region for e in events}),
                            role_name=sources.role_name or "OrganizationAccountAccessRole",
                            dns_resolver=sources.dns_resolver, concurrency=sources.concurrency)
    if sources.dns_resolver:
        parse_resolver_address(sources.dns_resolver)
    estate = AwsEstate(options)
    inventory = Inventory(collected_at=collected_at)
    inventory.metadata["sources"] = {"aws_accounts": sorted({e.account for e in events}),
                                     "regions": sorted({e.region for e in events})}
    found = estate.discover()
    inventory.errors.extend(found.errors)
    outcomes: dict[str, str] = {}
    records: list[Certificate] = []
    for event in events:
        arn = event.certificate_arn
        if arn in outcomes:
            continue  # several events about one certificate: read it once
        unit = unit_of(event)

        def failed(exc: BaseException, service: str = "acm", context: str | None = None) -> None:
            inventory.errors.append(aws_error(exc, source=SOURCE, service=service, account=event.account,
                                              region=event.region, unit=unit, resource=arn, context=context))

        outcome, record = _read_certificate(event, estate, found.caller_account, failed, inventory.errors)
        outcomes[arn] = outcome
        if record is not None:
            records.append(record)
        inventory.coverage.append(Coverage(
            unit=unit, source=SOURCE, service="acm", account=event.account, region=event.region, resource=arn,
            count=int(record is not None), complete=outcome == "deleted" or (record is not None and not any(
                e.unit == unit for e in inventory.errors))))

    accounts = sorted({e.account for e in events} | ({found.caller_account} if found.caller_account else set()))
    checker = ValidationChecker(
        accounts=lambda: accounts,
        route53_for=lambda account: estate.client(account, "route53", DEFAULT_GLOBAL_REGION),
        resolver=CnameResolver(sources.dns_resolver), concurrency=sources.concurrency)
    inventory.errors.extend(checker.check(records))
    inventory.certificates = sorted(records, key=lambda c: c.id)
    inventory.coverage.sort(key=lambda c: c.unit)
    return inventory, [{**e.to_dict(), "outcome": outcomes[e.certificate_arn]} for e in events]


def run_event(events: list[AcmEvent], sources: EventSources, settings: ScanSettings) -> ScanRun:
    """Collect the events' certificates, evaluate, report, record: a scan of just these."""
    answered: list[dict[str, Any]] = []

    def gather(started: datetime) -> Inventory:
        inventory, outcomes = collect_events(events, sources, started)
        answered.extend(outcomes)
        return inventory

    return run_scan(SourceOptions(), settings, collector=gather, events=answered)


def summary(run: ScanRun) -> dict[str, Any]:
    """What an event run found, as plain data (the Lambda handler returns and logs this)."""
    failing = sorted({(r.resource_id, r.rule_id) for r in run.report.results if r.status == "fail"})
    return {"events": run.report.events, "exit_code": run.exit_code, "summary": run.report.summary,
            "failing": [{"resource": resource, "rule": rule} for resource, rule in failing],
            "errors": [{"code": e.get("code"), "resource": e.get("resource")} for e in run.report.errors]}



def _read_certificate(event: AcmEvent, estate: Any, caller: str | None, failed: Callable[..., None],
                      errors: list) -> tuple[str, Certificate | None]:
    """(outcome, record): collected with its record, deleted, or unreadable (error recorded)."""
    from scanner.collect import aws_acm
    from scanner.collect.aws_errors import AWS_ERRORS, error_code, expect, expect_items
    from scanner.collect.aws_org import AccountUnreachable

    if caller is None:
        return "unreadable", None  # the credentials themselves failed: reported once, by discovery
    try:
        acm = estate.client(event.account, "acm", event.region)
    except AccountUnreachable as exc:
        errors.append(exc.error(source=SOURCE, region=event.region, unit=unit_of(event)))
        return "unreadable", None
    try:
        detail = expect(acm.describe_certificate(CertificateArn=event.certificate_arn), "Certificate", dict,
                        "DescribeCertificate")
    except AWS_ERRORS as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return "deleted", None
        failed(exc, context="DescribeCertificate")
        return "unreadable", None
    record = aws_acm.certificate_record(detail, detail, account=event.account, region=event.region)
    try:
        answer = acm.list_tags_for_certificate(CertificateArn=event.certificate_arn)
        tags = answer.get("Tags") or [] if "Tags" in answer else []  # ACM leaves Tags out when there are none
        record.tags = {t["Key"]: t.get("Value") or "" for t in expect_items(tags, ("Key",), "ListTagsForCertificate")}
    except AWS_ERRORS as exc:
        failed(exc, context="ListTagsForCertificate")  # its coverage is incomplete: the gate says so
    return "collected", record
