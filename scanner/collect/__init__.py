"""Collection: the only layer that talks to the outside world.

A source is one module here exposing ``build(options: SourceOptions) -> list[Collector]``.
A Collector lists its *units* (the stable partition used for sharding and coverage: an
account x region for ACM, an account for IAM, a vault, a file path, a host:port) and
collects one unit at a time. A collector never raises for one bad unit: it returns the
CollectionError and the rest of the scan goes on (the runner also contains anything that
escapes, as an InternalError record).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from scanner.model import Certificate, CollectionError, Coverage


@dataclass
class SourceOptions:
    """What the command line (or config file) asked to collect."""

    inventory: str | None = None
    # AWS
    aws: bool = False
    profile: str | None = None
    regions: list[str] = field(default_factory=list)  # empty: the profile's region; ["all"]: every enabled one
    all_accounts: bool = False
    management_profile: str | None = None
    role_name: str = "OrganizationAccountAccessRole"
    dns_resolver: str | None = None  # IP[:PORT] for validation records outside Route 53
    # Azure Key Vault
    azure: bool = False
    vault_urls: list[str] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)
    # files and live endpoints
    paths: list[str] = field(default_factory=list)
    pkcs12_password_env: str | None = None
    endpoints: list[str] = field(default_factory=list)
    endpoints_file: str | None = None
    # execution
    shard: tuple[int, int] | None = None  # (I, N), 1-based
    concurrency: int = 8
    quiet: bool = False
    # Test seams: injected clients/transports/credentials per source (never from the CLI).
    seams: dict[str, Any] = field(default_factory=dict)

    @property
    def any_source(self) -> bool:
        return bool(self.inventory) or self.live

    @property
    def live(self) -> bool:
        return bool(self.aws or self.azure or self.paths or self.endpoints or self.endpoints_file)


@dataclass(frozen=True)
class Unit:
    key: str  # stable across runs: "aws.acm/123456789012/eu-west-1", "file//etc/ssl/a.pem"
    label: str  # for progress display
    payload: Any = None
    # Where the unit lives, so that even an unforeseen failure is recorded with its place.
    service: str | None = None
    account: str | None = None
    region: str | None = None


@dataclass
class UnitResult:
    certificates: list[Certificate] = field(default_factory=list)
    errors: list[CollectionError] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)


class Collector(Protocol):
    source: str

    def units(self) -> tuple[list[Unit], list[CollectionError]]:
        """The units to collect, and errors met while listing them (e.g. an account whose role cannot be assumed)."""

    def collect(self, unit: Unit) -> UnitResult:
        """Everything one unit holds. Must not raise for a provider error."""

    def finish(self, certificates: list[Certificate]) -> list[CollectionError]:
        """Optional cross-unit step after every unit is in (e.g. DNS validation lookups)."""
