"""The history store: every scan recorded into SQLite (a file, the default) or PostgreSQL
(a ``postgresql://`` URL, one history shared by many runners), through SQLAlchemy Core.

What is kept per scan: its id, as_of, tool version, the rules it evaluated, coverage and
collection errors; every result but the not-applicable ones (fingerprint, rule, resource,
status, severity, expiry bucket, message); every certificate (id, identity, domain,
fingerprint, not_after, in use and by what). Enough to rebuild a baseline and to compute the
SLIs, and nothing secret: no key material, no credentials.

- The schema has a version (table ``certscan_meta``) and numbered migrations, applied in
  order, under a lock, when a store is opened.
- Recording is one transaction; recording a scan id that is already there changes nothing.
- SQLite runs in WAL mode with a long busy timeout and takes its write lock at BEGIN
  (``BEGIN IMMEDIATE``), so two scans recording into one file at once both land, one after
  the other, instead of one failing on a lock upgrade. PostgreSQL serialises migrations with
  an advisory lock; concurrent recordings of different scans do not conflict.
- A store that cannot be opened, migrated or written raises HistoryError, whose message
  never holds the URL's password.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from scanner.model import Inventory, Result

SCHEMA_VERSION = 2
ADVISORY_LOCK_KEY = 0x63657274  # "cert": serialises migrations on a shared PostgreSQL
BUSY_TIMEOUT_MS = 60_000
BATCH = 5_000  # rows per INSERT round trip


class HistoryError(Exception):
    """The history store could not be opened, read or written (exit 5 for a recording)."""


def _sa():
    # SQLAlchemy is imported only by commands that use a history (it costs ~100 ms).
    import sqlalchemy

    return sqlalchemy


@dataclass
class Tables:
    meta: Any
    scans: Any
    results: Any
    certificates: Any


def _tables(sa) -> tuple[Any, Tables]:
    md = sa.MetaData()
    meta = sa.Table("certscan_meta", md,
                    sa.Column("key", sa.String(64), primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    scans = sa.Table("scans", md,
                     sa.Column("scan_id", sa.String(64), primary_key=True),
                     sa.Column("as_of", sa.DateTime, nullable=False, index=True),
                     sa.Column("recorded_at", sa.DateTime, nullable=False),
                     sa.Column("tool_version", sa.String(64)),
                     sa.Column("complete", sa.Boolean, nullable=False),
                     sa.Column("rules", sa.Text, nullable=False),  # JSON list of rule ids
                     sa.Column("coverage", sa.Text, nullable=False),  # JSON
                     sa.Column("errors", sa.Text, nullable=False),  # JSON
                     sa.Column("certificates", sa.Integer, nullable=False))
    results = sa.Table("results", md,
                       sa.Column("scan_id", sa.String(64), sa.ForeignKey("scans.scan_id"), primary_key=True),
                       sa.Column("fingerprint", sa.String(64), primary_key=True),
                       sa.Column("rule_id", sa.Text, nullable=False),
                       sa.Column("resource_id", sa.Text, nullable=False),
                       sa.Column("status", sa.String(16), nullable=False),
                       sa.Column("severity", sa.String(16), nullable=False),
                       sa.Column("bucket", sa.String(16)),
                       sa.Column("message", sa.Text),
                       sa.Column("waiver", sa.Text))
    certificates = sa.Table("certificates", md,
                            sa.Column("scan_id", sa.String(64), sa.ForeignKey("scans.scan_id"), primary_key=True),
                            sa.Column("cert_id", sa.Text, primary_key=True),
                            sa.Column("source", sa.String(32), nullable=False),
                            sa.Column("account", sa.Text),
                            sa.Column("region", sa.Text),
                            sa.Column("vault", sa.Text),
                            sa.Column("name", sa.Text),
                            sa.Column("status", sa.Text),
                            sa.Column("fingerprint_sha256", sa.Text),
                            sa.Column("domain", sa.Text),
                            sa.Column("not_after", sa.DateTime),
                            sa.Column("in_use", sa.Boolean),
                            sa.Column("in_use_by", sa.Text, nullable=False))  # JSON list
    return md, Tables(meta, scans, results, certificates)


# --- migrations: version N brings a store from N-1 to N -----------------------------------

def _migrate_1(conn, sa, md, t: Tables) -> None:
    """The tables: scans, results, certificates."""
    md.create_all(conn, tables=[t.scans, t.results, t.certificates], checkfirst=True)


def _migrate_2(conn, sa, md, t: Tables) -> None:
    """Indexes for the history report: a finding across scans, a domain's certificates."""
    sa.Index("results_fingerprint", t.results.c.fingerprint).create(conn, checkfirst=True)
    sa.Index("certificates_domain", t.certificates.c.domain).create(conn, checkfirst=True)


MIGRATIONS = {1: _migrate_1, 2: _migrate_2}


# --- opening --------------------------------------------------------------------------------

def describe(target: str) -> str:
    """The target as it may be printed: a URL without its password."""
    if "://" not in target:
        return target
    try:
        return _sa().engine.make_url(target).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown by its scheme only
        return target.split("://", 1)[0] + "://…"


def _url(target: str):
    sa = _sa()
    if target.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        url = sa.engine.make_url(target.replace("postgres://", "postgresql://", 1))
        return url.set(drivername="postgresql+psycopg")
    if target.startswith("sqlite:///"):
        return sa.engine.make_url(target)
    if "://" in target:
        raise HistoryError(f"{describe(target)}: not a history target (a file path for SQLite, or a postgresql:// URL)")
    return sa.engine.URL.create("sqlite", database=str(Path(target)))


def _naive_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(timezone.utc).replace(tzinfo=None)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


class HistoryStore:
    def __init__(self, target: str, upto: int = SCHEMA_VERSION):
        """``upto`` stops the migrations at an older version (to test the migrations)."""
        self.target = target
        self.upto = upto
        self.shown = describe(target)
        sa = _sa()
        self.sa = sa
        self.metadata, self.t = _tables(sa)
        try:
            url = _url(target)
            self.sqlite = url.get_backend_name() == "sqlite"
            if self.sqlite:
                if url.database and url.database != ":memory:":
                    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
                self.engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
                                               poolclass=sa.pool.NullPool)
                sa.event.listen(self.engine, "connect", _sqlite_connect)
                sa.event.listen(self.engine, "begin", _sqlite_begin)
            else:
                self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool,
                                               connect_args={"connect_timeout": 10})
            self._migrate()
        except HistoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - any driver or file error: the store cannot be used
            raise HistoryError(self._explain(exc)) from None

    def _explain(self, exc: BaseException) -> str:
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        detail = text[0] if text else type(exc).__name__
        password = None
        try:
            password = _url(self.target).password if "://" in self.target else None
        except Exception:  # noqa: BLE001
            pass
        if password:
            detail = detail.replace(str(password), "***")
        return f"history {self.shown}: {detail}"

    def _migrate(self) -> None:
        sa, t = self.sa, self.t
        with self.engine.begin() as conn:
            if not self.sqlite:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            t.meta.create(conn, checkfirst=True)
            row = conn.execute(sa.select(t.meta.c.value).where(t.meta.c.key == "schema_version")).first()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise HistoryError(f"history {self.shown}: schema version {version} was written by a newer certscan "
                                   f"(this one knows up to {SCHEMA_VERSION})")
            for step in range(version + 1, self.upto + 1):
                MIGRATIONS[step](conn, sa, self.metadata, t)
            if version == 0:
                conn.execute(t.meta.insert().values(key="schema_version", value=str(self.upto)))
            elif version < self.upto:
                conn.execute(t.meta.update().where(t.meta.c.key == "schema_version").values(value=str(self.upto)))

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(self.sa.select(self.t.meta.c.value)
                                    .where(self.t.meta.c.key == "schema_version")).scalar_one())

    def close(self) -> None:
        self.engine.dispose()

    # --- writing ---------------------------------------------------------------------------

    def record(self, scan: RecordedScan, inventory: Inventory | None, recorded_at: datetime) -> bool:
        """Record one scan; False when its id was already recorded (nothing changes)."""
        sa, t = self.sa, self.t
        try:
            with self.engine.begin() as conn:
                if conn.execute(sa.select(t.scans.c.scan_id).where(t.scans.c.scan_id == scan.scan_id)).first():
                    return False
                conn.execute(t.scans.insert().values(
                    scan_id=scan.scan_id, as_of=_naive_utc(scan.as_of), recorded_at=_naive_utc(recorded_at),
                    tool_version=scan.tool_version, complete=scan.complete, rules=json.dumps(sorted(scan.rules)),
                    coverage=json.dumps(scan.coverage, sort_keys=True), errors=json.dumps(scan.errors, sort_keys=True),
                    certificates=len(inventory.certificates) if inventory is not None else 0))
                _insert_batches(conn, t.results, (
                    {"scan_id": scan.scan_id, "fingerprint": r.fingerprint, "rule_id": r.rule_id,
                     "resource_id": r.resource_id, "status": r.status, "severity": r.severity,
                     "bucket": (r.context or {}).get("expiry_bucket"),
                     "message": r.message if r.status != "pass" else None,
                     "waiver": (r.waiver or {}).get("id") if r.status == "waived" else None}
                    for r in scan.results if r.status != "not_applicable"))
                if inventory is not None:
                    _insert_batches(conn, t.certificates, (
                        {"scan_id": scan.scan_id, "cert_id": c.id, "source": c.source, "account": c.account,
                         "region": c.region, "vault": c.vault, "name": c.name, "status": c.status,
                         "fingerprint_sha256": c.fingerprint_sha256, "domain": c.domain,
                         "not_after": _naive_utc(c.not_after), "in_use": c.in_use,
                         "in_use_by": json.dumps(sorted(c.in_use_by))}
                        for c in inventory.certificates))
            return True
        except sa.exc.IntegrityError:
            return False  # another runner recorded the same scan id first
        except Exception as exc:  # noqa: BLE001
            raise HistoryError(self._explain(exc)) from None

    # --- reading ---------------------------------------------------------------------------

    def _read(self, query, convert) -> list:
        try:
            with self.engine.connect() as conn:
                return [convert(row) for row in conn.execute(query)]
        except Exception as exc:  # noqa: BLE001 - any driver error: the history cannot be read
            raise HistoryError(self._explain(exc)) from None

    def scans(self, since: datetime | None = None, before: datetime | None = None) -> list[ScanRow]:
        sa, t = self.sa, self.t
        query = sa.select(t.scans).order_by(t.scans.c.as_of, t.scans.c.scan_id)
        if since is not None:
            query = query.where(t.scans.c.as_of >= _naive_utc(since))
        if before is not None:
            query = query.where(t.scans.c.as_of < _naive_utc(before))
        return self._read(query, lambda row: ScanRow(
            row.scan_id, _aware(row.as_of), row.tool_version, row.complete, json.loads(row.rules),
            json.loads(row.coverage), json.loads(row.errors), row.certificates))

    def results(self, scan_id: str) -> list[Result]:
        t = self.t
        query = self.sa.select(t.results).where(t.results.c.scan_id == scan_id).order_by(t.results.c.fingerprint)
        return self._read(query, lambda row: Result(
            row.rule_id, row.resource_id, row.status, row.severity, row.message or "", {},
            {"expiry_bucket": row.bucket} if row.bucket else {}, {"id": row.waiver} if row.waiver else None))

    def certificates(self, scan_id: str) -> list[CertificateRow]:
        t = self.t
        query = (self.sa.select(t.certificates).where(t.certificates.c.scan_id == scan_id)
                 .order_by(t.certificates.c.cert_id))
        return self._read(query, lambda row: CertificateRow(
            row.cert_id, row.source, row.account, row.region, row.vault, row.name, row.status,
            row.fingerprint_sha256, row.domain, _aware(row.not_after), row.in_use, tuple(json.loads(row.in_use_by))))


def _insert_batches(conn, table, rows: Iterable[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)


def _sqlite_connect(dbapi_connection, _record) -> None:
    # The driver's own transaction handling would BEGIN lazily (DEFERRED) and fail on the lock
    # upgrade when two writers meet; SQLAlchemy's begin event below issues BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass
class RecordedScan:
    """What a scan gives the store (built from a ScanReport by the use case)."""

    scan_id: str
    as_of: datetime
    tool_version: str
    complete: bool
    rules: list[str]
    coverage: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    results: list[Result]


@dataclass(frozen=True)
class ScanRow:
    scan_id: str
    as_of: datetime
    tool_version: str | None
    complete: bool
    rules: list[str]
    coverage: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    certificates: int


@dataclass(frozen=True)
class CertificateRow:
    cert_id: str
    source: str
    account: str | None
    region: str | None
    vault: str | None
    name: str | None
    status: str | None
    fingerprint_sha256: str | None
    domain: str | None
    not_after: datetime | None
    in_use: bool | None
    in_use_by: tuple[str, ...] = field(default_factory=tuple)

    @property
    def identity(self) -> str:
        """What stays the same when the certificate is renewed in place: the ARN (ACM renews
        under the same ARN), the IAM id, the Key Vault certificate name (each version has its
        own id), the file path, the host:port."""
        if self.source == "azure.keyvault" and self.vault and self.name:
            return f"{self.source}|{self.vault}|{self.name}"
        return f"{self.source}|{self.cert_id}"
