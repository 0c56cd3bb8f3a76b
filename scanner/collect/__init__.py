"""Collection: the only layer that talks to the outside world.

A source is one module here declaring itself as a module-level ``SOURCE_SPEC = Source(...)`` (its
options, configuration, install extra, unit kind, evidence identities and
``build(options: SourceOptions) -> list[Collector]``); ``registry`` finds it, and the command
line, the schemas and the evidence bundle derive from that declaration.
A Collector lists its *units* (the stable partition used for sharding and coverage: an
account x region for ACM, an account for IAM, a vault, a file path, a host:port) and
collects one unit at a time. A collector never raises for one bad unit: it returns the
CollectionError and the rest of the scan goes on (the runner also contains anything that
escapes, as an InternalError record).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from scanner.model import Certificate, CollectionError, Coverage


@dataclass(frozen=True)
class Option:
    """One command-line option of a source, and where the configuration file gives it.

    ``kind``: "switch" (``--aws``), "text" (one value), "list" (repeatable option; a list in
    the file) or "csv" (one comma list on the command line; a list in the file)."""

    field: str  # the SourceOptions attribute the source reads: options.vault_urls
    flags: tuple[str, ...]  # ("--vault-url",); the first also names the command's keyword
    help: str
    kind: str = "text"
    default: Any = None
    config: str | None = None  # key in the source's part of the configuration file
    metavar: str | None = None

    @property
    def param(self) -> str:
        return self.flags[0].lstrip("-").replace("-", "_")

    def initial(self) -> Any:
        if self.kind in ("list", "csv"):
            return list(self.default or [])
        if self.kind == "switch":
            return bool(self.default)
        return self.default


@dataclass(frozen=True)
class Source:
    """What a source module declares about itself, once, as its module-level ``SOURCE_SPEC``.
    The command-line options, the configuration schema, the record source names allowed in
    inventories and rule packs, the evidence identities and the install hints derive from it."""

    key: str  # "aws": the switch --aws, the options' field and the configuration section
    names: tuple[str, ...]  # record sources it produces: ("aws.acm", "aws.iam")
    help: str  # the switch's help, or what the source reads
    build: Callable[[SourceOptions], list[Collector]]
    options: tuple[Option, ...] = ()
    switch: bool = True  # --KEY selects it; otherwise giving any option in selects does
    selects: tuple[str, ...] = ()  # fields whose values select the source (default: the switch)
    section: bool = True  # its options live under KEY: in the configuration file (else top level)
    extra: str | None = None  # pip extra: certscan[EXTRA]
    requires: tuple[str, ...] = ()  # modules the extra installs, checked before build
    units: str = ""  # what one unit is, for --help and the docs: "context x namespace"
    # evidence manifest identity -> the Coverage field it lists for this source's units
    identities: dict[str, str] = field(default_factory=dict)

    @property
    def selecting_fields(self) -> tuple[str, ...]:
        return self.selects or (self.key,)

    @property
    def all_options(self) -> tuple[Option, ...]:
        if not self.switch:
            return self.options
        return (Option(self.key, (f"--{self.key.replace('_', '-')}",), self.help, "switch"), *self.options)

    def selected(self, options: SourceOptions) -> bool:
        return any(getattr(options, name) for name in self.selecting_fields)

    @property
    def flag(self) -> str:
        """How messages name the source: its switch, or its first selecting option."""
        wanted = self.selecting_fields[0]
        return next(o.flags[0] for o in self.all_options if o.field == wanted)

    @property
    def install_hint(self) -> str:
        return f"pip install 'certscan[{self.extra}]'" if self.extra else ""


class SourceOptions:
    """What the command line (or configuration file) asked to collect: the options every
    source shares, and each registered source's own options as attributes (``options.aws``,
    ``options.vault_urls``); the attribute names come from the sources' declarations."""

    def __init__(self, inventory: str | None = None, shard: tuple[int, int] | None = None, concurrency: int = 8,
                 quiet: bool = False, seams: dict[str, Any] | None = None, **values: Any):
        from scanner.collect.registry import option_fields
        unknown = sorted(set(values) - set(option_fields()))
        if unknown:
            raise TypeError(f"SourceOptions: no source declares {', '.join(unknown)}")
        self.inventory = inventory
        self.shard = shard  # (I, N), 1-based
        self.concurrency = concurrency
        self.quiet = quiet
        # Test seams: injected clients/transports/credentials per source (never from the CLI).
        self.seams: dict[str, Any] = seams if seams is not None else {}
        # The ids of the rules the scan evaluates (None: unknown, collect everything), so a
        # source skips calls only unselected rules need (--check / --skip-check).
        self.rule_ids: frozenset[str] | None = None
        for name, option in option_fields().items():
            setattr(self, name, values[name] if name in values else option.initial())

    def __repr__(self) -> str:
        return f"SourceOptions({', '.join(f'{k}={v!r}' for k, v in vars(self).items() if k != 'seams')})"

    def evaluates(self, rule_id: str) -> bool:
        return self.rule_ids is None or rule_id in self.rule_ids

    @property
    def any_source(self) -> bool:
        return bool(self.inventory) or self.live

    @property
    def live(self) -> bool:
        from scanner.collect.registry import sources
        return any(source.selected(self) for source in sources())


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
