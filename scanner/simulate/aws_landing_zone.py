"""A simulated AWS landing zone, built with moto: an Organization of N accounts, ACM
certificates in every account x region, IAM server certificates, Route 53 zones (one shared
zone in a network account, and delegated sub-zones in some accounts) and ELBv2 listeners
that use some certificates, with chosen problems planted.

The builder only makes API calls through boto3, so it works under an active in-process
``moto.mock_aws()`` (the demo, most tests) and against a moto server (``endpoint_url``, or
``AWS_ENDPOINT_URL``). What it plants is deterministic (names, counts, which account and
region); moto's ARNs and account ids are random, so the result lists them.

Planted problems (counts in ``Problems``):
  expired_in_use  Amazon-issued, DNS-validated certificates in use by a load balancer whose
                  validation CNAMEs were deleted, and which expired. moto dates a requested
                  certificate "now", so these are requested with the clock moved back
                  (``backdate``: e.g. ``freezegun_clock``; in-process moto only).
  iam_expired     IAM server certificates past expiry (IAM accepts expired bodies).
  wildcard        imported certificates for ``*.<domain>``.
  untagged        imported certificates with no owner tag.
Everything else is healthy: valid well past 90 days, owner-tagged, not wildcard, validation
CNAMEs present.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import botocore.session

from scanner.simulate.certs import SimulatedCA

PROBLEM_KINDS = ("expired_in_use", "iam_expired", "wildcard", "untagged")
Clock = Callable[[datetime], AbstractContextManager]


@dataclass(frozen=True)
class Problems:
    expired_in_use: int = 2
    iam_expired: int = 2
    wildcard: int = 2
    untagged: int = 2


@dataclass(frozen=True)
class LandingZoneSpec:
    accounts: int = 31  # the management account included
    regions: tuple[str, ...] = ("us-east-1", "eu-west-1")
    imported_per_unit: int = 2  # healthy imported certificates per account x region
    amazon_issued: int = 4  # healthy DNS-validated ones, CNAMEs present, spread over the accounts
    iam_per_account: int = 1  # healthy IAM server certificates per account
    imported_in_use: int = 1  # healthy imported certificates put on a load balancer
    iam_in_use: int = 1  # healthy IAM server certificates put on a load balancer
    problems: Problems = field(default_factory=Problems)
    domain: str = "corp.example"
    role_name: str = "OrganizationAccountAccessRole"
    owner_tag: str = "owner"


@dataclass(frozen=True)
class PlantedCertificate:
    label: str  # deterministic: "a03/eu-west-1/imported-1"
    source: str  # aws.acm | aws.iam
    account: str
    region: str | None
    domain: str
    arn: str
    problems: tuple[str, ...] = ()  # expired, dns_missing, wildcard, untagged
    in_use: bool = False


@dataclass
class LandingZone:
    management_account: str
    accounts: list[str]  # index order: accounts[0] is the management account
    regions: list[str]
    certificates: list[PlantedCertificate] = field(default_factory=list)
    zones: list[tuple[str, str]] = field(default_factory=list)  # (account, zone name)
    iam_tags_kept: bool = True  # False when the backend drops IAM tags (moto does)

    def ids(self, *, problem: str | None = None, source: str | None = None, in_use: bool | None = None) -> set[str]:
        return {c.arn for c in self.certificates
                if (problem is None or problem in c.problems) and (source is None or c.source == source)
                and (in_use is None or c.in_use == in_use)}


@contextlib.contextmanager
def freezegun_clock(moment: datetime) -> Iterator[None]:
    """Moves the clock of this process (in-process moto included) to ``moment``."""
    from freezegun import freeze_time

    # freezegun walks every loaded module's attributes; the kubernetes client's lazy package
    # would import (and build pydantic models of) hundreds of modules against a fake datetime
    with freeze_time(moment, ignore=["kubernetes"]):
        yield


class _Clients:
    def __init__(self, management: boto3.Session, endpoint_url: str | None, role_name: str, home_region: str):
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._management = management
        self._endpoint = endpoint_url
        self._role_name = role_name
        self._home = home_region
        self.management_account = self.client(None, "sts", home_region).get_caller_identity()["Account"]
        self._sessions[self.management_account] = management

    def client(self, account: str | None, service: str, region: str) -> Any:
        key = (account or "<management>", service, region)
        if key not in self._clients:
            session = self._management if account is None else self._session(account)
            self._clients[key] = session.client(service, region_name=region, endpoint_url=self._endpoint)
        return self._clients[key]

    def _session(self, account: str) -> boto3.Session:
        if account not in self._sessions:
            creds = self.client(None, "sts", self._home).assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/{self._role_name}", RoleSessionName="landing-zone")["Credentials"]
            core = botocore.session.get_session()
            # One loader for every account: service models are parsed once, not once per session.
            core.register_component("data_loader", self._management._session.get_component("data_loader"))
            core.set_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
            self._sessions[account] = boto3.Session(botocore_session=core, region_name=self._home)
        return self._sessions[account]


class _Builder:
    def __init__(self, spec: LandingZoneSpec, clients: _Clients, clock: Clock | None, now: datetime):
        self.spec = spec
        self.clients = clients
        self.clock = clock
        self.now = now
        self.ca = SimulatedCA(now=now)
        self.zone_ids: dict[str, tuple[str, str]] = {}  # zone name -> (account, zone id)
        self.balancers: dict[tuple[str, str], list[Any]] = {}  # (account, region) -> [arn, next port]
        self.lz: LandingZone | None = None

    # -- names ------------------------------------------------------------------------------
    @staticmethod
    def label(index: int) -> str:
        return f"a{index:02d}"

    def account_domain(self, index: int) -> str:
        return f"{self.label(index)}.{self.spec.domain}"

    def owns_zone(self, index: int) -> bool:
        return index >= 2 and index % 2 == 0  # every other member delegates its own sub-zone

    def tags(self, index: int, *, owner: bool = True) -> list[dict[str, str]]:
        tags = [{"Key": "env", "Value": "prod"}]
        if owner:
            tags.insert(0, {"Key": self.spec.owner_tag, "Value": f"team-{self.label(index)}"})
        return tags

    # -- organization and DNS -----------------------------------------------------------------
    def organization(self) -> list[str]:
        org = self.clients.client(None, "organizations", "us-east-1")
        org.create_organization(FeatureSet="ALL")
        accounts = [self.clients.management_account]
        for index in range(1, self.spec.accounts):
            status = org.create_account(Email=f"{self.label(index)}@{self.spec.domain}",
                                        AccountName=f"member-{self.label(index)}")["CreateAccountStatus"]
            accounts.append(status["AccountId"])
        return accounts

    def zones(self) -> None:
        lz = self.lz
        network = 1 if len(lz.accounts) > 1 else 0  # the shared DNS account
        self._zone(network, self.spec.domain)
        for index in range(len(lz.accounts)):
            if self.owns_zone(index):
                self._zone(index, self.account_domain(index))

    def _zone(self, index: int, name: str) -> None:
        account = self.lz.accounts[index]
        zone = self.clients.client(account, "route53", "us-east-1").create_hosted_zone(
            Name=name, CallerReference=f"lz-{name}")["HostedZone"]
        self.zone_ids[name] = (account, zone["Id"])
        self.lz.zones.append((account, name))

    def zone_for(self, record_name: str) -> tuple[str, str]:
        name = record_name.rstrip(".").lower()
        best = max((z for z in self.zone_ids if name == z or name.endswith("." + z)), key=len)
        return self.zone_ids[best]

    def cnames(self, arn: str, account: str, region: str, action: str) -> None:
        acm = self.clients.client(account, "acm", region)
        detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        seen = set()
        for option in detail.get("DomainValidationOptions", []):
            rr = option.get("ResourceRecord")
            if not rr or rr["Name"] in seen:
                continue
            seen.add(rr["Name"])
            zone_account, zone_id = self.zone_for(rr["Name"])
            self.clients.client(zone_account, "route53", "us-east-1").change_resource_record_sets(
                HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": {
                    "Name": rr["Name"], "Type": rr["Type"], "TTL": 300, "ResourceRecords": [{"Value": rr["Value"]}]}}]})

    # -- load balancers -------------------------------------------------------------------------
    def use(self, certificate_arn: str, account: str, region: str) -> None:
        """An HTTPS listener on the unit's load balancer, with this default certificate."""
        key = (account, region)
        if key not in self.balancers:
            ec2 = self.clients.client(account, "ec2", region)
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"{region}{az}")
                       ["Subnet"]["SubnetId"] for n, az in ((1, "a"), (2, "b"))]
            lb = self.clients.client(account, "elbv2", region).create_load_balancer(
                Name=f"lz-{region}", Subnets=subnets, Scheme="internet-facing", Type="application")
            self.balancers[key] = [lb["LoadBalancers"][0]["LoadBalancerArn"], 443]
        lb_arn, port = self.balancers[key]
        self.balancers[key][1] += 1
        self.clients.client(account, "elbv2", region).create_listener(
            LoadBalancerArn=lb_arn, Protocol="HTTPS", Port=port, Certificates=[{"CertificateArn": certificate_arn}],
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])

    # -- certificates -----------------------------------------------------------------------------
    def import_acm(self, index: int, region: str, name: str, domain: str, *, owner: bool = True,
                   problems: tuple[str, ...] = (), in_use: bool = False) -> None:
        account = self.lz.accounts[index]
        issued = self.ca.issue(domain, not_before=self.now - timedelta(days=1), not_after=self.now + timedelta(days=397))
        arn = self.clients.client(account, "acm", region).import_certificate(
            Certificate=issued.certificate_pem.encode(), PrivateKey=issued.private_key_pem.encode(),
            CertificateChain=issued.chain_pem.encode(), Tags=self.tags(index, owner=owner))["CertificateArn"]
        if in_use:
            self.use(arn, account, region)
        self._planted(f"{self.label(index)}/{region}/{name}", "aws.acm", account, region, domain, arn, problems, in_use)

    def request_acm(self, index: int, region: str, name: str, domain: str, *, expired: bool = False) -> None:
        account = self.lz.accounts[index]
        acm = self.clients.client(account, "acm", region)

        def request() -> str:
            return acm.request_certificate(DomainName=domain, ValidationMethod="DNS",
                                           Tags=self.tags(index))["CertificateArn"]

        if expired:
            # Requested 400 days ago: a 365-day certificate that could not renew (its CNAMEs are gone).
            with self.clock(self.now - timedelta(days=400)):
                arn = request()
            self.cnames(arn, account, region, "UPSERT")
            self.cnames(arn, account, region, "DELETE")
            self.use(arn, account, region)
            self._planted(f"{self.label(index)}/{region}/{name}", "aws.acm", account, region, domain, arn,
                          ("expired", "dns_missing"), True)
        else:
            arn = request()
            self.cnames(arn, account, region, "UPSERT")
            self._planted(f"{self.label(index)}/{region}/{name}", "aws.acm", account, region, domain, arn, (), False)

    def upload_iam(self, index: int, name: str, domain: str, *, expired: bool = False, in_use: bool = False) -> None:
        account = self.lz.accounts[index]
        if expired:
            issued = self.ca.issue(domain, not_before=self.now - timedelta(days=400), not_after=self.now - timedelta(days=30))
        else:
            issued = self.ca.issue(domain, not_before=self.now - timedelta(days=1), not_after=self.now + timedelta(days=300))
        iam = self.clients.client(account, "iam", "us-east-1")
        meta = iam.upload_server_certificate(
            ServerCertificateName=name, CertificateBody=issued.certificate_pem, PrivateKey=issued.private_key_pem,
            CertificateChain=issued.chain_pem, Tags=self.tags(index))["ServerCertificateMetadata"]
        if not iam.get_server_certificate(ServerCertificateName=name)["ServerCertificate"].get("Tags"):
            self.lz.iam_tags_kept = False
        if in_use:
            self.use(meta["Arn"], account, self.lz.regions[0])
        problems = ("expired",) if expired else ()
        if not self.lz.iam_tags_kept:
            problems += ("untagged",)  # the backend lost the owner tag: that is what a scan will see
        self._planted(f"{self.label(index)}/iam/{name}", "aws.iam", account, None, domain, meta["Arn"], problems, in_use)

    def _planted(self, label, source, account, region, domain, arn, problems, in_use) -> None:
        self.lz.certificates.append(PlantedCertificate(label, source, account, region, domain, arn,
                                                       tuple(problems), in_use))

    # -- the plan ------------------------------------------------------------------------------------
    def placements(self, count: int, offset: int) -> list[tuple[int, str]]:
        """Deterministic (account index, region) for each planted item, spread over members."""
        members = len(self.lz.accounts) - 1
        regions = self.lz.regions
        return [((1 + (offset + i) % members) if members else 0, regions[i % len(regions)]) for i in range(count)]

    def build(self) -> LandingZone:
        spec = self.spec
        if spec.problems.expired_in_use and self.clock is None:
            raise ValueError("planting expired Amazon-issued certificates needs a clock to move back "
                             "(backdate=freezegun_clock, in-process moto); set Problems(expired_in_use=0) otherwise")
        accounts = self.organization()
        self.lz = LandingZone(management_account=accounts[0], accounts=accounts, regions=list(spec.regions))
        self.zones()
        for index in range(len(accounts)):
            for region in spec.regions:
                for j in range(spec.imported_per_unit):
                    self.import_acm(index, region, f"imported-{j + 1}", f"app{j + 1}.{self.account_domain(index)}")
            for j in range(spec.iam_per_account):
                self.upload_iam(index, f"{self.label(index)}-legacy-{j + 1}", f"legacy{j + 1}.{self.account_domain(index)}")
        problems = spec.problems
        # moto makes an RSA-2048 key for each requested certificate: a total, not a count per unit.
        for n, (index, region) in enumerate(self.placements(spec.amazon_issued, 4), 1):
            self.request_acm(index, region, f"issued-{n}", f"web{n}.{self.account_domain(index)}")
        for n, (index, region) in enumerate(self.placements(spec.imported_in_use, 5), 1):
            self.import_acm(index, region, f"in-use-{n}", f"shop{n}.{self.account_domain(index)}", in_use=True)
        for n, (index, region) in enumerate(self.placements(spec.iam_in_use, 6), 1):
            self.upload_iam(index, f"{self.label(index)}-lb-{n}", f"lb{n}.{self.account_domain(index)}", in_use=True)
        for n, (index, region) in enumerate(self.placements(problems.expired_in_use, 0), 1):
            self.request_acm(index, region, f"expired-in-use-{n}", f"pay{n}.{self.account_domain(index)}", expired=True)
        for n, (index, region) in enumerate(self.placements(problems.iam_expired, 1), 1):
            self.upload_iam(index, f"{self.label(index)}-expired-{n}", f"old{n}.{self.account_domain(index)}", expired=True)
        for n, (index, region) in enumerate(self.placements(problems.wildcard, 2), 1):
            self.import_acm(index, region, f"wildcard-{n}", f"*.w{n}.{self.account_domain(index)}", problems=("wildcard",))
        for n, (index, region) in enumerate(self.placements(problems.untagged, 3), 1):
            self.import_acm(index, region, f"untagged-{n}", f"tmp{n}.{self.account_domain(index)}", owner=False,
                            problems=("untagged",))
        return self.lz


def build_landing_zone(spec: LandingZoneSpec, management: boto3.Session, *, endpoint_url: str | None = None,
                       backdate: Clock | None = None, now: datetime | None = None) -> LandingZone:
    """Build the landing zone with the management account's session. ``backdate(moment)``
    returns a context manager that moves the clock (needed for Problems.expired_in_use)."""
    home = management.region_name or "us-east-1"
    clients = _Clients(management, endpoint_url, spec.role_name, home)
    return _Builder(spec, clients, backdate, now or datetime.now(timezone.utc)).build()


@contextlib.contextmanager
def simulated_aws() -> Iterator[boto3.Session]:
    """In-process moto with fake credentials (for the demo): yields the management session.
    ACM's validation wait is set to 0 so requested certificates are ISSUED at once."""
    os.environ["MOTO_ACM_VALIDATION_WAIT"] = "0"
    from moto import mock_aws, settings

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                            "AWS_DEFAULT_REGION", "AWS_PROFILE", "MOTO_EC2_LOAD_DEFAULT_AMIS")}
    wait = settings.ACM_VALIDATION_WAIT
    settings.ACM_VALIDATION_WAIT = 0
    os.environ.update(AWS_ACCESS_KEY_ID="simulated", AWS_SECRET_ACCESS_KEY="simulated", AWS_DEFAULT_REGION="us-east-1",
                      MOTO_EC2_LOAD_DEFAULT_AMIS="false")  # load balancers need no AMIs; loading them is slow
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    try:
        with mock_aws():
            yield boto3.Session(region_name="us-east-1")
    finally:
        settings.ACM_VALIDATION_WAIT = wait
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
