"""The weekly scenario of issue 16 and the helpers its tests share: the installed certscan
run in a subprocess, and a real PostgreSQL server started in a temporary folder.

Three weekly inventories of one AWS account (as_of 2026-06-01, -08, -15), shipped rules:

    A  www.example.com   Amazon-issued, DNS-validated, in use; expires 06-20 (W1, 19 days),
                         renewed by ACM under the same ARN before W2 (not_after 12-20)
    B  shop.example.com  imported, in use by the shop listener; expires 06-15 12:00
                         (W1 14 days, W2 7 days); at W3 deleted, C serves the listener
    C  shop.example.com  imported (W3 only), takes over B's listener, has no owner tag
    D  legacy.example.com imported, in use, appears at W2 already expired; at W3 a waiver
                         covers its EXP-001
    E  old.example.com   imported, not in use; expires 06-10 (W1 9 days, W2 2, W3 expired)
    F  api.example.com   Amazon-issued, in use, valid to 12-01; its validation CNAME is
                         deleted before W2
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ACCOUNT = "111111111111"
REGION = "eu-west-1"
WEEKS = ("2026-06-01", "2026-06-08", "2026-06-15")
CERTSCAN = str(Path(sys.executable).parent / "certscan")


def arn(name: str) -> str:
    return f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/{name}"


def listener(name: str) -> str:
    return f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/{name}/1/443"


A, B, C, D, E, F = (arn(n) for n in ("cert-a", "cert-b", "cert-c", "cert-d", "cert-e", "cert-f"))


def cert(cert_id: str, domain: str, not_before: str, not_after: str, *, kind: str = "IMPORTED", status: str = "ISSUED",
         users: tuple[str, ...] = (), owner: str | None = "team-web", dns: str | None = None) -> dict:
    record = {
        "id": cert_id, "source": "aws.acm", "account": ACCOUNT, "region": REGION, "domain": domain,
        "sans": [domain], "not_before": not_before, "not_after": not_after, "status": status, "type": kind,
        "in_use": bool(users), "in_use_by": list(users), "key_algorithm": "RSA", "key_size": 2048,
        "signature_algorithm": "SHA256WITHRSA", "tags": {"owner": owner} if owner else {},
        "ct_logging": "ENABLED",
    }
    if dns is not None:
        record["validation_method"] = "DNS"
        record["validation"] = [{"domain": domain, "record_name": f"_x1.{domain}.", "record_type": "CNAME",
                                 "record_value": f"_y1.acm-validations.aws.", "dns_status": dns}]
    return record


def week_certificates(week: int) -> list[dict]:
    a_old = cert(A, "www.example.com", "2025-12-20T00:00:00Z", "2026-06-20T00:00:00Z", kind="AMAZON_ISSUED",
                 users=(listener("www"),), dns="present")
    a_new = cert(A, "www.example.com", "2026-06-07T00:00:00Z", "2026-12-20T00:00:00Z", kind="AMAZON_ISSUED",
                 users=(listener("www"),), dns="present")
    b = cert(B, "shop.example.com", "2025-06-15T12:00:00Z", "2026-06-15T12:00:00Z", users=(listener("shop"),))
    c = cert(C, "shop.example.com", "2026-06-12T00:00:00Z", "2026-09-10T00:00:00Z", users=(listener("shop"),),
             owner=None)
    d = cert(D, "legacy.example.com", "2025-06-05T00:00:00Z", "2026-06-05T00:00:00Z", status="EXPIRED",
             users=(listener("legacy"),))
    e_issued = cert(E, "old.example.com", "2025-06-10T00:00:00Z", "2026-06-10T00:00:00Z")
    e_expired = dict(e_issued, status="EXPIRED")
    f = cert(F, "api.example.com", "2025-12-01T00:00:00Z", "2026-12-01T00:00:00Z", kind="AMAZON_ISSUED",
             users=(listener("api"),), dns="present" if week == 1 else "missing")
    if week == 1:
        return [a_old, b, e_issued, f]
    if week == 2:
        return [a_new, b, d, e_issued, f]
    return [a_new, c, d, e_expired, f]


WAIVERS_W3 = f"""apiVersion: certscan/v1
kind: Waivers
waivers:
  - id: W-LEGACY
    rule: EXP-001
    resource: "{D}"
    justification: legacy.example.com is decommissioned on 2026-06-30; clients moved already
    approved_by: ciso@example.com
    expires: 2026-07-01
"""


def write_week(folder: Path, week: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"inventory-w{week}.json"
    path.write_text(json.dumps({"schema_version": 1, "collected_at": f"{WEEKS[week - 1]}T00:00:00Z",
                                "certificates": week_certificates(week), "errors": [], "coverage": []}))
    return path


def write_waivers(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "waivers.yaml"
    path.write_text(WAIVERS_W3)
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str


def certscan(*args, columns: int = 120, env: dict | None = None, cwd: Path | None = None) -> Run:
    environment = dict(os.environ, COLUMNS=str(columns), NO_COLOR="1", **(env or {}))
    done = subprocess.run([CERTSCAN, *map(str, args)], capture_output=True, text=True, env=environment, cwd=cwd,
                          timeout=120, stdin=subprocess.DEVNULL)
    return Run(done.returncode, done.stdout, done.stderr)


def scan_week(folder: Path, week: int, *extra, fail_on: str = "high", formats: str = "json") -> Run:
    argv = ["scan", "--inventory", write_week(folder, week), "--as-of", WEEKS[week - 1], "--fail-on", fail_on,
            "--format", formats, "--output-dir", folder / f"w{week}", "-q"]
    if week == 3:
        argv += ["--waivers", write_waivers(folder)]
    return certscan(*argv, *extra)


# --- a real PostgreSQL server -----------------------------------------------------------------

def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """initdb in a temporary folder, a server on a loopback port, stopped by ``stop``.
    PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` user."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="certscan-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "certscan", "-A", "trust", "--no-sync", "-E", "UTF8")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-t", "60", "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off", "start")
        self.databases = 0

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bindir / tool), *args], check=True, capture_output=True,
                       cwd=self.folder, timeout=120)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://certscan@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        self.databases += 1
        name = f"history_{self.databases}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
