"""Times at the edge of what UTC arithmetic holds, regular expressions built to backtrack, and
file names that are not UTF-8: each gives a clear answer, and nothing else about the scan
changes (the other certificates are still reported)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import zipfile
from datetime import datetime, timezone

import pytest

from hostile_support import certscan, check_outputs, make_pem, pack

from scanner.collect.files import path_from_text, path_text

@pytest.fixture
def scan_dir(tmp_path):
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "one.pem").write_bytes(make_pem("one.example"))
    return tmp_path


# -- time ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("as_of", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00",
                                   "9999-12-31T23:59:59Z", "0001-01-01"])
def test_as_of_outside_utc_arithmetic_is_exit_2_naming_the_option(scan_dir, as_of):
    ran = certscan("scan", "--path", "certs", "--as-of", as_of, "--output-dir", "out", cwd=scan_dir)
    assert ran.code == 2, ran
    assert "--as-of" in ran.err and as_of in ran.err, ran


def test_waiver_expiry_past_utc_is_exit_2_naming_the_field(scan_dir):
    (scan_dir / "waivers.yaml").write_text(
        "apiVersion: certscan/v1\nkind: Waivers\nwaivers:\n"
        "  - {id: W1, rule: WILDCARD-001, resource: '*', justification: a long enough reason, approved_by: someone@example.com,\n"
        "     expires: '9999-12-31T23:59:59-12:00'}\n")
    ran = certscan("scan", "--path", "certs", "--waivers", "waivers.yaml", "--output-dir", "out", cwd=scan_dir)
    assert ran.code == 2, ran
    assert "waivers.yaml:" in ran.err and "expires" in ran.err and "years 1 to 9999" in ran.err, ran


def test_a_rule_timestamp_past_utc_is_exit_2(scan_dir):
    (scan_dir / "pack.yaml").write_text(pack("    assert: {field: not_after, op: lt, value: '0001-01-01T00:00:00+01:00'}\n"))
    ran = certscan("validate", "--rules", "pack.yaml", cwd=scan_dir)
    assert ran.code == 2 and "pack.yaml:9" in ran.err and "not_after" in ran.err, ran


def test_a_certificate_valid_until_the_end_of_time_keeps_working(scan_dir):
    """RFC 5280's 'no well-defined expiration date' is 99991231235959Z: real, and read."""
    end = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    (scan_dir / "certs" / "forever.pem").write_bytes(make_pem("forever.example", not_after=end))
    ran = certscan("scan", "--path", "certs", "--format", "json,sarif,junit,csv,markdown,html", "--output-dir", "out",
                   "--as-of", "2026-06-01", cwd=scan_dir)
    assert ran.code == 0, ran
    outputs = check_outputs(scan_dir / "out")
    certs = {c["id"]: c for c in outputs["certscan-inventory.json"]["certificates"]}
    assert certs["certs/forever.pem"]["not_after"] == "9999-12-31T23:59:59Z"
    assert "certs/one.pem" in certs
    results = outputs["certscan-results.json"]["results"]
    assert {r["resource_id"] for r in results} == {"certs/forever.pem", "certs/one.pem"}


# -- regular expressions ---------------------------------------------------------------------------
def test_a_catastrophic_pattern_runs_in_linear_time(scan_dir):
    victim = "a" * 50 + ".ex"  # ^(a+)+$ against 50 a's and a dot: 2**50 steps for a backtracker
    (scan_dir / "certs" / "victim.pem").write_bytes(make_pem(victim))
    (scan_dir / "pack.yaml").write_text(pack("    assert: {field: domain, op: matches, value: '^(a+)+$'}\n"))
    started = time.monotonic()
    ran = certscan("scan", "--path", "certs", "--rules", "pack.yaml", "--format", "json", "--output-dir", "out",
                   cwd=scan_dir)
    assert time.monotonic() - started < 30
    assert ran.code == 1, ran  # both domains fail the rule: nothing lost, nothing hung
    results = check_outputs(scan_dir / "out")["certscan-results.json"]["results"]
    assert sorted(r["status"] for r in results) == ["fail", "fail"]


@pytest.mark.parametrize("pattern", [r"(a)\1", "(?<=a)b", "(?=a)b", "a{2000}"])
def test_validate_reports_patterns_re2_refuses(scan_dir, pattern):
    (scan_dir / "pack.yaml").write_text(pack(f"    assert: {{field: domain, op: matches, value: '{pattern}'}}\n"))
    ran = certscan("validate", "--rules", "pack.yaml", cwd=scan_dir)
    assert ran.code == 2, ran
    assert "pack.yaml:9" in ran.err and "RE2" in ran.err, ran
    assert "re2.cc" not in ran.err  # RE2's own log stays quiet: the problem is said once, in words


def test_ordinary_patterns_keep_their_meaning(scan_dir):
    """ignore_case folds the text, not the pattern (\\S stays "not a space"); anchors, classes
    and alternation behave as in Python's re."""
    (scan_dir / "certs" / "two.pem").write_bytes(make_pem("Shop.Example"))
    (scan_dir / "pack.yaml").write_text(
        pack("    assert: {all: [{field: domain, op: matches, value: '^S\\S+\\.(example|test)$', ignore_case: true},\n"
             "                   {field: domain, op: matches, value: '^[a-z]+\\.example$'}]}\n"))
    ran = certscan("scan", "--path", "certs", "--rules", "pack.yaml", "--format", "json", "--output-dir", "out",
                   cwd=scan_dir)
    results = {r["resource_id"]: r["status"] for r in check_outputs(scan_dir / "out")["certscan-results.json"]["results"]}
    # one.example: first part fails (no leading s); Shop.Example: second part fails (capital S)
    assert results == {"certs/one.pem": "fail", "certs/two.pem": "fail"}, ran
    (scan_dir / "pack.yaml").write_text(
        pack("    assert: {field: domain, op: matches, value: '^(ONE|shop)\\S*$', ignore_case: true}\n"))
    certscan("scan", "--path", "certs", "--rules", "pack.yaml", "--format", "json", "--output-dir", "out", cwd=scan_dir)
    results = {r["resource_id"]: r["status"] for r in check_outputs(scan_dir / "out")["certscan-results.json"]["results"]}
    assert results == {"certs/one.pem": "pass", "certs/two.pem": "pass"}


def test_a_catastrophic_pattern_through_param_is_linear(scan_dir):
    (scan_dir / "pack.yaml").write_text(pack("    params: {pattern: x}\n"
                                             "    assert: {field: domain, op: matches, value: {param: pattern}}\n"))
    (scan_dir / "certs" / "victim.pem").write_bytes(make_pem("a" * 50 + ".ex"))
    started = time.monotonic()
    ran = certscan("scan", "--path", "certs", "--rules", "pack.yaml", "--param", "HOSTILE-001.pattern=^(a+)+$",
                   "--output-dir", "out", cwd=scan_dir)
    assert ran.code == 1 and time.monotonic() - started < 30, ran
    ran = certscan("scan", "--path", "certs", "--rules", "pack.yaml", "--param", r"HOSTILE-001.pattern=(a)\1",
                   "--output-dir", "out", cwd=scan_dir)
    assert ran.code == 2 and "RE2" in ran.err, ran


# -- names that are not UTF-8 ----------------------------------------------------------------------
BAD_NAME = b"bad-\xff-name.pem"


def test_a_file_name_that_is_not_utf8_is_scanned_reported_and_fingerprinted(scan_dir):
    folder = os.fsencode(scan_dir / "certs")
    with open(os.path.join(folder, BAD_NAME), "wb") as handle:
        handle.write(make_pem("bad.example"))
    with open(os.path.join(folder, b"back\\slash.pem"), "wb") as handle:
        handle.write(make_pem("slash.example"))
    formats = "json,sarif,junit,csv,markdown,html,evidence"
    ran = certscan("scan", "--path", "certs", "--format", formats, "--output-dir", "out", cwd=scan_dir)
    assert ran.code == 0, ran
    assert "certs/bad-\\xff-name.pem" in ran.out or "bad-" not in ran.out  # console: the escaped form, if shown
    outputs = check_outputs(scan_dir / "out")
    shown = "certs/bad-\\xff-name.pem"
    ids = {c["id"] for c in outputs["certscan-inventory.json"]["certificates"]}
    assert ids == {"certs/one.pem", shown, "certs/back\\\\slash.pem"}  # nothing lost, one stable spelling
    results = outputs["certscan-results.json"]["results"]
    assert {r["resource_id"] for r in results} == ids
    assert any(tc.get("name", "").endswith(shown) or shown in (tc.get("classname") or "") or shown in tc.get("name", "")
               for tc in outputs["certscan-junit.xml"].iter("testcase"))
    # the escaped name maps back to the file on disk
    assert os.path.exists(os.path.join(scan_dir, path_from_text(shown)))
    fingerprints = {r["resource_id"]: r["fingerprint"] for r in results}
    # evidence: the bundle verifies, and a second scan gives the same fingerprints
    assert certscan("evidence", "verify", "out/certscan-evidence.zip", "--integrity-only", cwd=scan_dir).code == 0
    with zipfile.ZipFile(scan_dir / "out" / "certscan-evidence.zip") as bundle:
        packed = json.loads(bundle.read("results.json"))["results"]
        assert {r["resource_id"] for r in packed} == ids
    certscan("scan", "--path", "certs", "--format", "json", "--output-dir", "again", cwd=scan_dir)
    again = json.loads((scan_dir / "again" / "certscan-results.json").read_text())["results"]
    assert {r["resource_id"]: r["fingerprint"] for r in again} == fingerprints


def test_a_saved_inventory_with_an_escaped_name_scans_again(scan_dir):
    with open(os.path.join(os.fsencode(scan_dir / "certs"), BAD_NAME), "wb") as handle:
        handle.write(make_pem("bad.example"))
    assert certscan("inventory", "--path", "certs", "--export-json", "inv.json", cwd=scan_dir).code == 0
    ran = certscan("scan", "--inventory", "inv.json", "--format", "json", "--output-dir", "out", cwd=scan_dir)
    assert ran.code == 0, ran
    ids = {r["resource_id"] for r in check_outputs(scan_dir / "out")["certscan-results.json"]["results"]}
    assert ids == {"certs/one.pem", "certs/bad-\\xff-name.pem"}


def test_a_non_utf8_name_on_the_command_line(scan_dir):
    with open(os.path.join(os.fsencode(scan_dir / "certs"), BAD_NAME), "wb") as handle:
        handle.write(make_pem("bad.example"))
    done = subprocess.run([b"certscan", b"inventory", b"--path", b"certs/" + BAD_NAME, b"--path", b"certs/one.pem",
                           b"--export-json", b"inv.json"], cwd=scan_dir, capture_output=True, timeout=60,
                          env={**os.environ, "PATH": os.path.dirname(os.sys.executable) + os.pathsep + os.environ["PATH"]})
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    ids = {c["id"] for c in json.loads((scan_dir / "inv.json").read_text())["certificates"]}
    assert ids == {"certs/one.pem", "certs/bad-\\xff-name.pem"}


@pytest.mark.parametrize("raw", [b"plain.pem", b"bad-\xff.pem", b"back\\slash\\xff.pem", b"\xc3\xa9t\xe9.pem",
                                 b"\\\\x41.pem"])
def test_path_text_is_reversible(raw):
    name = os.fsdecode(raw)
    text = path_text(name)
    text.encode("utf-8")  # always writable
    assert path_from_text(text) == name
