"""The ``--aws`` source: ACM per account x region, IAM server certificates per account, and
the DNS validation records of ACM certificates checked once every unit is in.

Units: ``aws.acm/<account>/<region>`` and ``aws.iam/<account>``. Accounts and regions are
resolved once (aws_org); a unit whose account cannot be entered (AssumeRole denied) is a
CollectionError for that unit, with its coverage marked incomplete, and the rest goes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.collect import Option, Source, SourceOptions, Unit, UnitResult
from scanner.model import Certificate, CollectionError, Coverage

if TYPE_CHECKING:  # the modules below need boto3: imported where used, so --aws is listed without it
    from scanner.collect.aws_dns import ValidationChecker
    from scanner.collect.aws_org import AwsEstate

ACM, IAM = "aws.acm", "aws.iam"
MON_EVENTS, MON_ALARMS = "MON-001", "MON-002"  # the rules that need ACM's monitoring facts


class AcmCollector:
    source = ACM

    def __init__(self, estate: AwsEstate, checker: ValidationChecker):
        self.estate = estate
        self.checker = checker

    def units(self) -> tuple[list[Unit], list[CollectionError]]:
        found = self.estate.discover()
        units = [Unit(key=f"{self.source}/{account.id}/{region}", label=f"ACM {account.id} {region}",
                      payload=(account.id, region), service="acm", account=account.id, region=region)
                 for account in found.accounts for region in found.regions]
        return units, list(found.errors)  # estate-wide errors are reported once, here

    def collect(self, unit: Unit) -> UnitResult:
        from scanner.collect import aws_acm
        from scanner.collect.aws_org import AccountUnreachable
        account, region = unit.payload
        options = self.estate.options
        try:
            acm = self.estate.client(account, "acm", region)
            tagging = self.estate.client(account, "resourcegroupstaggingapi", region)
            # MON-002's alarms are read only when it is evaluated (one call per in-use certificate)
            cloudwatch = self.estate.client(account, "cloudwatch", region) if options.evaluates(MON_ALARMS) else None
        except AccountUnreachable as exc:
            return UnitResult(errors=[exc.error(source=self.source, region=region, unit=unit.key)],
                              coverage=[Coverage(unit=unit.key, source=self.source, service="acm", account=account,
                                                 region=region, count=0, complete=False)])
        return aws_acm.collect_region(acm, tagging, account=account, region=region, unit=unit.key,
                                      account_config=options.evaluates(MON_EVENTS), cloudwatch=cloudwatch)

    def finish(self, certificates: list[Certificate]) -> list[CollectionError]:
        return self.checker.check(certificates)

    def identities(self) -> list[dict]:
        return self.estate.identities()


class IamCollector:
    source = IAM

    def __init__(self, estate: AwsEstate):
        self.estate = estate

    def units(self) -> tuple[list[Unit], list[CollectionError]]:
        from scanner.collect.aws_org import DEFAULT_GLOBAL_REGION

        found = self.estate.discover()
        return [Unit(key=f"{self.source}/{account.id}", label=f"IAM {account.id}", payload=account.id,
                     service="iam", account=account.id, region=DEFAULT_GLOBAL_REGION)
                for account in found.accounts], []

    def collect(self, unit: Unit) -> UnitResult:
        from scanner.collect import aws_iam
        from scanner.collect.aws_org import DEFAULT_GLOBAL_REGION, AccountUnreachable
        from scanner.collect.aws_usage import CLOUDFRONT, usage_indexes
        account = unit.payload
        try:
            iam = self.estate.client(account, "iam", DEFAULT_GLOBAL_REGION)
        except AccountUnreachable as exc:
            return UnitResult(errors=[exc.error(source=self.source, region=DEFAULT_GLOBAL_REGION, unit=unit.key)],
                              coverage=[Coverage(unit=unit.key, source=self.source, service="iam", account=account,
                                                 count=0, complete=False)])
        scopes = [*self.estate.discover().regions, CLOUDFRONT]
        return aws_iam.collect_account(
            iam, lambda: [index for scope in scopes for index in usage_indexes(self.estate.client, account, scope)],
            account=account, unit=unit.key)


def build(options: SourceOptions) -> list:
    """Bad input (unknown profile, malformed region or resolver) raises InputError here,
    before anything is collected."""
    from scanner.collect.aws_dns import CnameResolver, ValidationChecker, parse_resolver_address
    from scanner.collect.aws_org import DEFAULT_GLOBAL_REGION, AwsEstate
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


SOURCE_SPEC = Source(
    key="aws", names=(ACM, IAM), help="Collect from AWS (ACM, IAM, Route 53).", build=build,
    options=(
        Option("profile", ("--profile",), "AWS profile for a single-account scan.", config="profile"),
        Option("regions", ("--regions",), "r1,r2 or 'all' (enabled regions).", "csv", config="regions"),
        Option("all_accounts", ("--all-accounts",), "Every ACTIVE account of the Organization.", "switch",
               config="all_accounts"),
        Option("management_profile", ("--management-profile", "--ops-profile"),
               "Profile that can list the Organization's accounts.", config="management_profile"),
        Option("role_name", ("--role-name",), "Role assumed in each member account.",
               default="OrganizationAccountAccessRole", config="role_name"),
        Option("dns_resolver", ("--dns-resolver",),
               "IP[:PORT] of the DNS resolver for validation records outside Route 53.", config="dns_resolver"),
    ),
    extra="aws", requires=("boto3",), units="account x region (ACM), account (IAM)",
    identities={"aws_accounts": "account", "regions": "region"},
)
