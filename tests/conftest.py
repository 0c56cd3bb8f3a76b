import json
import sys
from pathlib import Path

import pytest

from scanner.cli import run

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
LANDING_ZONE = REPO / "examples" / "landing-zone.json"


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return f"CliResult(code={self.code}, out={self.out[-2000:]!r}, err={self.err[-2000:]!r})"


@pytest.fixture
def cli(capsys):
    """Run certscan in-process; returns exit code and captured output."""
    def invoke(*argv: str) -> CliResult:
        capsys.readouterr()
        code = run([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)
    return invoke


def inventory_doc(certificates, errors=(), coverage=(), collected_at="2026-06-01T00:00:00Z"):
    return {"schema_version": 1, "collected_at": collected_at, "certificates": list(certificates),
            "errors": list(errors), "coverage": list(coverage)}


@pytest.fixture
def write_inventory(tmp_path):
    def write(certificates, name="inventory.json", **kw) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(inventory_doc(certificates, **kw)))
        return path
    return write


@pytest.fixture
def write_file(tmp_path):
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path
    return write


def python() -> str:
    return sys.executable
