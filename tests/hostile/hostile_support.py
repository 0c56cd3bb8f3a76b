"""Running certscan on hostile input as a user would: the installed command in a subprocess,
bounded in time (TIMEOUT) and address space (MEMORY_CAP), and the checks every case makes
(no traceback, a documented exit code, outputs that parse)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
CERTSCAN = shutil.which("certscan", path=str(Path(sys.executable).parent)) or "certscan"
TIMEOUT = 60  # seconds: each case must answer within a few; this only stops a hang
MEMORY_CAP = 1024 ** 3  # bytes of address space: an alias bomb or a huge read hits it, not the machine
EXIT_CODES = {0, 1, 2, 3}


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def __repr__(self) -> str:
        return f"Ran(code={self.code}, out={self.out[-1500:]!r}, err={self.err[-1500:]!r})"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def certscan(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, columns: int = 120) -> Ran:
    """The installed command, as a user runs it; asserts what every hostile case must hold."""
    environment = {**os.environ, "COLUMNS": str(columns), **(env or {})}
    done = subprocess.run([CERTSCAN, *map(str, args)], cwd=cwd, env=environment, capture_output=True,
                          timeout=TIMEOUT, preexec_fn=_limit_memory, stdin=subprocess.DEVNULL)
    ran = Ran(done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))
    assert "Traceback" not in ran.err and "Traceback" not in ran.out, ran
    assert "MemoryError" not in ran.err and "RecursionError" not in ran.err, ran
    assert ran.code in EXIT_CODES, ran
    return ran


def check_outputs(folder: Path) -> dict[str, object]:
    """Every output certscan wrote parses as its format (strict JSON: no NaN), and is returned."""
    found: dict[str, object] = {}
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        if path.suffix in (".json", ".sarif"):
            found[path.name] = json.loads(data, parse_constant=_refuse_constant)
        elif path.suffix == ".xml":
            found[path.name] = ElementTree.fromstring(data)
        elif path.suffix in (".md", ".csv", ".html"):
            found[path.name] = data.decode("utf-8")  # strict: well-formed UTF-8 only
    return found


def _refuse_constant(name: str):
    raise AssertionError(f"an output holds {name}, which strict JSON readers reject")


# -- certificates ---------------------------------------------------------------------------------
_KEY = ec.generate_private_key(ec.SECP256R1())


def make_pem(common_name: str, *, not_before: datetime | None = None, not_after: datetime | None = None) -> bytes:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(_KEY.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - timedelta(days=1))
            .not_valid_after(not_after or now + timedelta(days=200))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
            .sign(_KEY, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


# A one-rule pack whose condition each test supplies.
PACK_HEAD = """apiVersion: certscan/v1
kind: RulePack
metadata: {name: hostile, version: 1.0.0}
rules:
  - id: HOSTILE-001
    title: hostile
    severity: high
    resource: "*"
"""


def pack(body: str) -> str:
    return PACK_HEAD + body + '    message: "{domain}"\n'
