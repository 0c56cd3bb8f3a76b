"""The ``--aws`` source: ACM per account x region, IAM server certificates per account, and
the DNS validation records of ACM certificates checked once every unit is in.

Units: ``aws.acm/<account>/<region>`` and ``aws.iam/<account>``. Accounts and regions are
resolved once (aws_org); a unit whose account cannot be entered (AssumeRole denied) is a
CollectionError for that unit, with its coverage marked incomplete, and the rest goes on.
"""

from __future__ import annotations

from scanner.collect import SourceOptions, Unit, UnitResult
from scanner.collect import aws_acm, aws_iam
from scanner.collect.aws_dns import CnameResolver, ValidationChecker, parse_resolver_address
from scanner.collect.aws_org import DEFAULT_GLOBAL_REGION, AccountUnreachable, AwsEstate
from scanner.collect.aws_usage import CLOUDFRONT, usage_indexes
from scanner.model import Certificate, CollectionError, Coverage


class AcmCollector:
    source = aws_acm.SOURCE

    def __init__(self, estate: AwsEstate, checker: ValidationChecker):
        self.estate = estate
        self.checker = checker

    def units(self) -> tuple[list[Unit], list[CollectionError]]:
        found = self.estate.discover()
        units = [Unit(key=f"{self.source}/{account.id}/{region}", label=f"ACM {account.id} {region}",
                      payload=(account.id, region))
                 for account in found.accounts for region in found.regions]
        return units, list(found.errors)  # estate-wide errors are reported once, here

    def collect(self, unit: Unit) -> UnitResult:
        account, region = unit.payload
        try:
            acm = self.estate.client(account, "acm", region)
            tagging = self.estate.client(account, "resourcegroupstaggingapi", region)
        except AccountUnreachable as exc:
            return UnitResult(errors=[exc.error(source=self.source, region=region, unit=unit.key)],
                              coverage=[Coverage(unit=unit.key, source=self.source, service="acm", account=account,
                                                 region=region, count=0, complete=False)])
        return aws_acm.collect_region(acm, tagging, account=account, region=region, unit=unit.key)

    def finish(self, certificates: list[Certificate]) -> list[CollectionError]:
        return self.checker.check(certificates)

    def identities(self) -> list[dict]:
        return self.estate.identities()


class IamCollector:
    source = aws_iam.SOURCE

    def __init__(self, estate: AwsEstate):
        self.estate = estate

    def units(self) -> tuple[list[Unit], list[CollectionError]]:
        found = self.estate.discover()
        return [Unit(key=f"{self.source}/{account.id}", label=f"IAM {account.id}", payload=account.id)
                for account in found.accounts], []

    def collect(self, unit: Unit) -> UnitResult:
        account = unit.payload
        try:
            iam = self.estate.client(account, "iam", DEFAULT_GLOBAL_REGION)
        except AccountUnreachable as exc:
            return UnitResult(errors=[exc.error(source=self.source, region=None, unit=unit.key)],
                              coverage=[Coverage(unit=unit.key, source=self.source, service="iam", account=account,
                                                 count=0, complete=False)])
        scopes = [*self.estate.discover().regions, CLOUDFRONT]
        return aws_iam.collect_account(
            iam, lambda: [index for scope in scopes for index in usage_indexes(self.estate.client, account, scope)],
            account=account, unit=unit.key)


def build(options: SourceOptions) -> list:
    """Bad input (unknown profile, malformed region or resolver) raises InputError here,
    before anything is collected."""
    estate = AwsEstate(options)
    if options.dns_resolver:
        parse_resolver_address(options.dns_resolver)
    checker = ValidationChecker(
        accounts=lambda: [a.id for a in estate.discover().accounts],
        route53_for=lambda account: estate.client(account, "route53", DEFAULT_GLOBAL_REGION),
        resolver=CnameResolver(options.dns_resolver),
        concurrency=options.concurrency,
    )
    return [AcmCollector(estate, checker), IamCollector(estate)]
