"""Helpers of the notification and metrics tests: the installed certscan in a subprocess, a
loopback HTTP server that records what Apprise's json:// and form:// webhooks (and a
Pushgateway client) send, an aiosmtpd mailbox, and a small estate with known owners."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

REPO = Path(__file__).resolve().parents[1]
CERTSCAN = str(Path(sys.executable).parent / "certscan")
AS_OF = "2026-06-01T00:00:00Z"


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def certscan(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None, columns: int = 120) -> Run:
    """The installed command, as a user runs it."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CERTSCAN_")}
    environ.update({"COLUMNS": str(columns), "NO_COLOR": "1"}, **(env or {}))
    proc = subprocess.run([CERTSCAN, *map(str, argv)], capture_output=True, text=True, env=environ,
                          cwd=cwd, timeout=120, stdin=subprocess.DEVNULL)
    return Run(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Received:
    path: str
    method: str
    content_type: str
    body: bytes

    def fields(self) -> dict[str, str]:
        """title/message/type of a json:// or form:// notification."""
        if self.content_type.startswith("application/json"):
            return json.loads(self.body)
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Webhooks:
    """A loopback HTTP server: records every request; paths listed in ``refuse`` answer 500."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, scheme: str, path: str) -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path.split("?", 1)[0] == path]


def serve_webhooks():
    hooks = Webhooks()

    class Handler(BaseHTTPRequestHandler):
        def _record(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with hooks.lock:
                hooks.received.append(Received(self.path, self.command, self.headers.get("Content-Type", ""), body))
            refused = self.path.split("?", 1)[0] in hooks.refuse
            self.send_response(500 if refused else 200)
            answer = b"refused by the test server" if refused else b"ok"
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_POST = do_PUT = _record

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hooks.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread, hooks


def bodies_to(mailbox, address: str) -> list[str]:
    """Text of each message an aiosmtpd mailbox (tests.outputs.test_outputs_triage.Mailbox) got for address."""
    out = []
    for (_sender, rcpts), message in zip(mailbox.envelopes, mailbox.messages):
        if address in rcpts:
            out.append(message.get_body(preferencelist=("plain", "html")).get_content())
    return out


RESOURCE_LINE = re.compile(r"^\s*resource: (.+?)\s*$", re.MULTILINE)


def resources_in(text: str) -> list[str]:
    return RESOURCE_LINE.findall(text)


def cert(cid: str, *, owner: str | None, days: float, domain: str, account: str = "111111111111",
         wildcard: bool = False, fingerprint: str | None = None, **extra) -> dict:
    """An imported ACM certificate expiring ``days`` after AS_OF (ACM-003 fails within 30 days)."""
    from datetime import datetime, timedelta, timezone
    as_of = datetime(2026, 6, 1, tzinfo=timezone.utc)
    not_after = (as_of + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    not_before = (as_of - timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {
        "id": f"arn:aws:acm:eu-west-1:{account}:certificate/{cid}", "source": "aws.acm", "account": account,
        "region": "eu-west-1", "domain": domain, "sans": [domain] + ([f"*.{domain}"] if wildcard else []),
        "subject": f"CN={domain}", "issuer": "CN=Example Issuing CA,O=Example", "serial": cid,
        "fingerprint_sha256": fingerprint, "not_before": not_before, "not_after": not_after,
        "status": "ISSUED", "type": "IMPORTED", "in_use": True, "key_algorithm": "RSA", "key_size": 2048,
        "tags": {"owner": owner} if owner else {},
    }
    record.update(extra)
    return record


def write_inventory(path: Path, certificates: list[dict], errors: list[dict] = (), coverage: list[dict] = ()) -> Path:
    path.write_text(json.dumps({"schema_version": 1, "collected_at": AS_OF, "certificates": certificates,
                                "errors": list(errors), "coverage": list(coverage)}))
    return path
