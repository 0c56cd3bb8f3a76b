"""Fail closed: a unit marked incomplete is enough to make the gate exit 3, even when no error
record says why (a saved or merged inventory edited by hand, or a collector that marked the
unit and lost its error). Without this test, a gate that ignored coverage would go unnoticed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import inventory_doc

CERTSCAN = str(Path(sys.executable).parent / "certscan")
CERT = {"id": "/etc/ssl/web.pem", "source": "file", "domain": "web.example", "sans": ["web.example"],
        "not_before": "2026-01-01T00:00:00Z", "not_after": "2027-01-01T00:00:00Z", "key_algorithm": "EC",
        "key_size": 256}
UNITS = [{"unit": "file//etc/ssl/web.pem", "source": "file", "resource": "/etc/ssl/web.pem", "count": 1,
          "complete": True},
         {"unit": "file//etc/ssl/lost.pem", "source": "file", "resource": "/etc/ssl/lost.pem", "count": 0,
          "complete": False}]


def certscan(*args, cwd):
    done = subprocess.run([CERTSCAN, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "120"})
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def incomplete(tmp_path):
    path = tmp_path / "incomplete.json"
    path.write_text(json.dumps(inventory_doc([CERT], coverage=UNITS)))
    return path


def test_a_saved_inventory_with_an_incomplete_unit_and_no_error_exits_3(incomplete, tmp_path):
    done = certscan("scan", "--inventory", incomplete, "--as-of", "2026-06-01", "--fail-on", "none",
                    "--output-dir", "out", cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "file//etc/ssl/lost.pem" in done.stdout + done.stderr  # says which unit


def test_allow_partial_accepts_it_and_still_names_it(incomplete, tmp_path):
    done = certscan("scan", "--inventory", incomplete, "--as-of", "2026-06-01", "--fail-on", "none",
                    "--allow-partial", "--output-dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "file//etc/ssl/lost.pem" in done.stdout + done.stderr


def test_a_merged_inventory_keeps_the_incomplete_unit_and_exits_3(incomplete, tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps(inventory_doc([{**CERT, "id": "/etc/ssl/api.pem", "domain": "api.example"}], coverage=[
        {"unit": "file//etc/ssl/api.pem", "source": "file", "resource": "/etc/ssl/api.pem", "count": 1,
         "complete": True}])))
    merged = certscan("merge", incomplete, other, "--output", "merged.json", cwd=tmp_path)
    assert merged.returncode in (0, 3), merged.stdout + merged.stderr
    done = certscan("scan", "--inventory", "merged.json", "--as-of", "2026-06-01", "--fail-on", "none",
                    "--output-dir", "out", cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    results = json.loads((tmp_path / "out" / "certscan-results.json").read_text())
    assert {r["resource_id"] for r in results["results"]} == {"/etc/ssl/web.pem", "/etc/ssl/api.pem"}


def test_the_same_inventory_complete_passes(tmp_path):
    """The control: only the incomplete mark makes the difference."""
    path = tmp_path / "complete.json"
    path.write_text(json.dumps(inventory_doc([CERT], coverage=[UNITS[0]])))
    done = certscan("scan", "--inventory", path, "--as-of", "2026-06-01", "--fail-on", "none",
                    "--output-dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
