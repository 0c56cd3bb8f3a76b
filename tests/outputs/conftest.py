"""Fixtures of the output tests (issue 5): one scan of the fixture inventory that gives every
result status (pass, fail, waived, not_applicable, error), a signed scan, Ed25519 keys."""

from __future__ import annotations

import pytest

from tests.outputs.outputs_support import KeyPair, ScanOutput, make_keypair, run_in_repo, scan_argv


@pytest.fixture(scope="session")
def full_scan(tmp_path_factory) -> ScanOutput:
    """One scan of the fixture inventory writing every format (shared: the outputs are only read)."""
    out = tmp_path_factory.mktemp("full-scan")
    code = run_in_repo(scan_argv(out))
    return ScanOutput(out, code)


@pytest.fixture(scope="session")
def keypair(tmp_path_factory) -> KeyPair:
    return make_keypair(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def signed_scan(tmp_path_factory, keypair) -> ScanOutput:
    out = tmp_path_factory.mktemp("signed-scan")
    code = run_in_repo(scan_argv(out, "--sign-key", str(keypair.private_path), formats="json,evidence"))
    return ScanOutput(out, code)
