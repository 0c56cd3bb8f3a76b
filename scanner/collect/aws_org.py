"""The AWS estate one scan covers: which accounts and regions, and a boto3 session per account.

Single account: the standard credential chain, or ``--profile``. Organization
(``--all-accounts``): the management profile (``--management-profile``, else ``--profile``,
else the chain) lists the ACTIVE accounts of the Organization and assumes ``--role-name`` in
each member account; the account the management credentials belong to is scanned with them
directly (the access role usually does not exist there). Role assumption is lazy and cached
per account, so it happens in the worker threads, concurrently; a failure is remembered and
reported by every unit of that account instead of being retried per unit.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ProfileNotFound

from scanner.collect import SourceOptions
from scanner.collect.aws_errors import AWS_ERRORS, aws_error, check_answer, expect, expect_items
from scanner.model import CollectionError
from scanner.inputs.problems import InputError, Problem

SOURCE = "aws"
ROLE_SESSION_NAME = "certscan"
TOTAL_ATTEMPTS = 8  # first try included; adaptive mode: throttling backs off and the client rate adapts
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
DEFAULT_GLOBAL_REGION = "us-east-1"  # where global services (IAM, Route 53, CloudFront, Organizations) answer


@dataclass(frozen=True)
class Account:
    id: str
    name: str | None = None
    organization: str | None = field(default=None, compare=False)  # o-..., from the account's ARN


class AccountUnreachable(Exception):
    """The account's role could not be assumed (denied, missing, STS unreachable)."""

    def __init__(self, account: str, exc: BaseException, role_arn: str):
        self.account = account
        self.exc = exc
        self.role_arn = role_arn
        super().__init__(str(exc))

    def error(self, *, source: str, region: str | None, unit: str | None) -> CollectionError:
        return aws_error(self.exc, source=source, service="sts", account=self.account, region=region, unit=unit,
                         context=f"cannot assume {self.role_arn}")


@dataclass
class Discovery:
    accounts: list[Account] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    caller_account: str | None = None
    caller_arn: str | None = None
    organization_id: str | None = None  # o-..., read from the accounts' ARNs (no extra call)
    errors: list[CollectionError] = field(default_factory=list)


def client_config(concurrency: int) -> Config:
    return Config(
        retries={"mode": "adaptive", "total_max_attempts": TOTAL_ATTEMPTS},
        max_pool_connections=max(10, concurrency),
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="certscan",
    )


def parse_regions(regions: list[str]) -> list[str]:
    """['all'], [] (the profile's region) or explicit names; anything else is bad input."""
    if [r.lower() for r in regions] == ["all"]:
        return ["all"]
    bad = [r for r in regions if not REGION_PATTERN.match(r)]
    if bad:
        raise InputError(Problem("--regions", f"{', '.join(bad)}: expected region names such as "
                                              "eu-west-1,us-east-1, or 'all'"))
    return sorted(set(regions))


def organization_accounts(org: Any) -> list[Account]:
    """The Organization's ACTIVE accounts (every page), sorted by id."""
    accounts = []
    for page in org.get_paginator("list_accounts").paginate():
        for item in expect_items(expect(page, "Accounts", list, "ListAccounts"), ("Id",), "ListAccounts"):
            # State replaces Status (retired in 2026); either says ACTIVE for a live account.
            if (item.get("State") or item.get("Status")) == "ACTIVE":
                accounts.append(Account(item["Id"], item.get("Name"), _organization_of(item.get("Arn"))))
    return sorted(accounts, key=lambda a: a.id)


def _organization_of(arn: Any) -> str | None:
    """o-... from an account ARN (arn:aws:organizations::MANAGEMENT:account/o-xxx/ID)."""
    parts = arn.split("/") if isinstance(arn, str) else []
    return parts[1] if len(parts) == 3 and parts[1].startswith("o-") else None


class AwsEstate:
    """Accounts, regions, sessions and clients for one scan. Thread-safe after discover()."""

    def __init__(self, options: SourceOptions):
        self.options = options
        self.org_mode = options.all_accounts
        profile = (options.management_profile or options.profile) if self.org_mode else options.profile
        try:
            self.base_session = boto3.Session(profile_name=profile)
        except ProfileNotFound:
            option = "--management-profile" if self.org_mode and options.management_profile else "--profile"
            raise InputError(Problem(option, f"AWS profile {profile!r} is not in the AWS config files")) from None
        self.requested_regions = parse_regions(options.regions)
        if not self.requested_regions and not self.base_session.region_name:
            raise InputError(Problem("--regions", "no region given and the AWS profile has none: "
                                                  "pass --regions r1,r2 or --regions all"))
        self.config = client_config(options.concurrency)
        self._loader = self.base_session._session.get_component("data_loader")
        self._discovery: Discovery | None = None
        self.partition = "aws"
        self._discovery_lock = threading.Lock()
        self._lock = threading.Lock()  # guards the dicts below; never held across a network call
        self._account_locks: dict[str, threading.Lock] = {}
        self._sessions: dict[str, boto3.Session | AccountUnreachable] = {}
        self._session_locks: dict[int, threading.Lock] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._identities: dict[str, dict[str, Any]] = {}  # account -> the principal that read it

    # -- discovery -------------------------------------------------------------------------
    @property
    def home_region(self) -> str:
        return self.base_session.region_name or DEFAULT_GLOBAL_REGION

    def discover(self) -> Discovery:
        """Accounts and regions to scan; computed once. Errors here are estate-wide."""
        with self._discovery_lock:
            if self._discovery is None:
                self._discovery = self._discover()
            return self._discovery

    def _discover(self) -> Discovery:
        found = Discovery()
        base = self._base_client("sts", self.home_region)
        try:
            identity = base.get_caller_identity()
            found.caller_account = identity["Account"]
            found.caller_arn = identity.get("Arn")
            self.partition = identity.get("Arn", "arn:aws:").split(":")[1] or "aws"  # aws, aws-us-gov, aws-cn
        except AWS_ERRORS as exc:
            found.errors.append(aws_error(exc, source=SOURCE, service="sts", context="GetCallerIdentity"))
            return found
        with self._lock:
            self._sessions[found.caller_account] = self.base_session
            self._identities[found.caller_account] = {"arn": found.caller_arn, "via": "credentials"}
        if self.org_mode:
            try:
                found.accounts = organization_accounts(self._base_client("organizations", DEFAULT_GLOBAL_REGION))
                found.organization_id = next((a.organization for a in found.accounts if a.organization), None)
            except AWS_ERRORS as exc:
                found.errors.append(aws_error(exc, source=SOURCE, service="organizations",
                                              account=found.caller_account, context="ListAccounts"))
                return found
        else:
            found.accounts = [Account(found.caller_account)]
        if self.requested_regions == ["all"]:
            try:
                answer = self._base_client("ec2", self.home_region).describe_regions(AllRegions=False)
                found.regions = sorted(r["RegionName"] for r in expect_items(
                    expect(answer, "Regions", list, "DescribeRegions"), ("RegionName",), "DescribeRegions"))
            except AWS_ERRORS as exc:
                found.errors.append(aws_error(exc, source=SOURCE, service="ec2", account=found.caller_account,
                                              context="DescribeRegions (--regions all)"))
        else:
            found.regions = self.requested_regions or [self.home_region]
        return found

    # -- sessions and clients ---------------------------------------------------------------
    def role_arn(self, account: str) -> str:
        return f"arn:{self.partition}:iam::{account}:role/{self.options.role_name}"

    def session(self, account: str) -> boto3.Session:
        """The account's session; raises AccountUnreachable (cached) when it cannot be had."""
        with self._lock:
            known = self._sessions.get(account)
            lock = self._account_locks.setdefault(account, threading.Lock())
        if known is None:
            with lock:
                known = self._sessions.get(account)
                if known is None:
                    known = self._assume(account)
                    with self._lock:
                        self._sessions[account] = known
        if isinstance(known, AccountUnreachable):
            raise known
        return known

    def _assume(self, account: str) -> boto3.Session | AccountUnreachable:
        role_arn = self.role_arn(account)
        sts = self._base_client("sts", self.home_region)

        assumed: dict[str, str] = {}

        def fetch() -> dict[str, str]:  # the first call also records whom we became
            answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME)
            creds = expect(answer, "Credentials", dict, "AssumeRole")
            user = answer.get("AssumedRoleUser")
            assumed.setdefault("arn", user.get("Arn") if isinstance(user, dict) else None)
            return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                    "token": creds["SessionToken"], "expiry_time": creds["Expiration"].isoformat()}

        try:
            first = fetch()  # now, so a denied role is reported at once
        except AWS_ERRORS as exc:
            return AccountUnreachable(account, exc, role_arn)
        with self._lock:
            self._identities[account] = {"arn": assumed.get("arn"), "via": "assume-role", "role": role_arn}
        # Refreshable: a long scan outlives the one-hour role session.
        credentials = RefreshableCredentials.create_from_metadata(first, refresh_using=fetch,
                                                                  method="sts-assume-role")
        core = botocore.session.get_session()
        core._credentials = credentials  # botocore has no public setter for ready-made credentials
        # One loader for every account: service models are parsed once, not once per session.
        core.register_component("data_loader", self._loader)
        core.set_config_variable("region", self.home_region)
        return boto3.Session(botocore_session=core)

    def identities(self) -> list[dict[str, Any]]:
        """The principal each account was read as (STS caller or assumed-role ARN), and the
        Organization: for the evidence manifest's scope. ARNs only, never credentials."""
        found = self._discovery
        with self._lock:
            known = dict(self._identities)
        return [{"source": "aws", "account": account, "organization_id": found.organization_id if found else None,
                 **known[account]} for account in sorted(known)]

    def client(self, account: str, service: str, region: str) -> Any:
        """A cached client (clients are thread-safe; sessions are not, so creation is locked)."""
        key = (account, service, region)
        with self._lock:
            found = self._clients.get(key)
        if found is not None:
            return found
        session = self.session(account)
        with self._session_lock(session):
            with self._lock:
                found = self._clients.get(key)
            if found is None:
                found = session.client(service, region_name=region, config=self.config)
                found.meta.events.register("before-parse", check_answer)
                with self._lock:
                    self._clients[key] = found
        return found

    def _base_client(self, service: str, region: str) -> Any:
        key = ("<base>", service, region)
        with self._lock:
            found = self._clients.get(key)
        if found is None:
            with self._session_lock(self.base_session):
                found = self.base_session.client(service, region_name=region, config=self.config)
                found.meta.events.register("before-parse", check_answer)
            with self._lock:
                self._clients.setdefault(key, found)
        return found

    def _session_lock(self, session: boto3.Session) -> threading.Lock:
        with self._lock:
            return self._session_locks.setdefault(id(session), threading.Lock())
