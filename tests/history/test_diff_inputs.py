"""certscan diff on awkward and hostile input: unwaived findings, rule sets that differ,
files that are not scans, bundles without results, and outside text that tries to reach the
terminal or a report as markup."""

from __future__ import annotations

import json
import zipfile

import pytest

from tests.history.history_support import ACCOUNT, REGION, WEEKS, cert, certscan, scan_week, write_week


@pytest.fixture(scope="module")
def week3(tmp_path_factory):
    """Week 3 with its waiver, and the same inventory without it (the waiver removed)."""
    folder = tmp_path_factory.mktemp("week3")
    assert scan_week(folder, 3, fail_on="none", formats="json,evidence").code == 0
    bare = certscan("scan", "--inventory", folder / "inventory-w3.json", "--as-of", WEEKS[2], "--fail-on", "none",
                    "--output-dir", folder / "bare", "-q")
    assert bare.code == 0, bare
    only_aws = certscan("scan", "--inventory", folder / "inventory-w3.json", "--as-of", WEEKS[2], "--fail-on", "none",
                        "--rules", "policies/aws.yaml", "--output-dir", folder / "aws-only", "-q",
                        cwd=_repo())
    assert only_aws.code == 0, only_aws
    return folder


def _repo():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


def test_a_removed_waiver_is_unwaived_and_fails_the_diff(week3):
    run = certscan("diff", week3 / "w3" / "certscan-results.json", week3 / "bare" / "certscan-results.json",
                   "--format", "json", "--fail-on", "critical")
    assert run.code == 1
    document = json.loads(run.out)
    assert [(c["change"], c["rule_id"], c["waiver"], c["previous_status"], c["status"])
            for c in document["changes"] if c["change"] != "persisting"] == [
        ("unwaived", "EXP-001", "W-LEGACY", "waived", "fail")]
    assert document["counts"]["unwaived"] == 1


def test_rules_on_one_side_only_are_named(week3):
    run = certscan("diff", week3 / "w3" / "certscan-results.json", week3 / "aws-only" / "certscan-results.json",
                   "--format", "json")
    assert run.code == 0, run
    document = json.loads(run.out)
    assert "EXP-001" in document["rules_only_in_from"] and "TAG-001" in document["rules_only_in_from"]
    assert document["rules_only_in_to"] == []
    gone = {(c["rule_id"], c["reason"]) for c in document["changes"] if c["change"] == "gone"}
    # C's failing TAG-001 and D's waived EXP-001: their rules are not in the newer scan, so
    # they are gone (with the reason), never "resolved"
    assert gone == {("TAG-001", "the rule is not evaluated in the newer scan"),
                    ("EXP-001", "the rule is not evaluated in the newer scan")}
    assert not [c for c in document["changes"] if c["change"] == "resolved"]
    assert {(c["change"], c["rule_id"]) for c in document["changes"]} >= {("gone", "TAG-001"), ("persisting", "ACM-003")}
    text = certscan("diff", week3 / "w3" / "certscan-results.json", week3 / "aws-only" / "certscan-results.json")
    assert "rules only in the older scan:" in text.out and "EXP-001" in text.out


def test_bad_inputs_are_exit_2_naming_the_file(week3, tmp_path):
    not_json = tmp_path / "notes.txt"
    not_json.write_text("hello")
    empty_zip = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("manifest.json", "{}")
    broken_results = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken_results, "w") as archive:
        archive.writestr("results.json", '{"scan_id": 1}')
    good = week3 / "w3" / "certscan-results.json"
    for bad, words in ((not_json, "invalid JSON"), (empty_zip, "without results.json"),
                       (broken_results, "broken.zip:results.json"), (tmp_path / "missing.json", "no such file")):
        run = certscan("diff", bad, good)
        assert run.code == 2, (bad, run)
        assert str(bad.name) in run.err and words in run.err, run.err
        assert "Traceback" not in run.err
    both = certscan("diff", not_json, tmp_path / "missing.json")  # every problem at once
    assert both.code == 2 and "notes.txt" in both.err and "missing.json" in both.err
    assert certscan("diff", good, good, "--format", "yaml").code == 2
    assert certscan("diff", good, good, "--fail-on", "urgent").code == 2


def test_outside_text_is_escaped_in_every_diff_format(tmp_path):
    evil = ("arn:aws:acm:eu-west-1:111111111111:certificate/\x1b[2J\x1b]8;;http://x\x07"
            "<img src=x onerror=alert(1)>|**bold**[link](http://x)")
    record = cert(evil, "evil.example.com", "2025-06-01T00:00:00Z", "2026-06-05T00:00:00Z",
                  users=(f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/x/1/443",))
    inventory = tmp_path / "evil.json"
    inventory.write_text(json.dumps({"schema_version": 1, "collected_at": "2026-06-01T00:00:00Z",
                                     "certificates": [record], "errors": [], "coverage": []}))
    empty = write_week(tmp_path, 1)
    for name, source, as_of in (("old", empty, WEEKS[0]), ("new", inventory, WEEKS[1])):
        assert certscan("scan", "--inventory", source, "--as-of", as_of, "--fail-on", "none",
                        "--output-dir", tmp_path / name, "-q").code == 0
    old, new = tmp_path / "old" / "certscan-results.json", tmp_path / "new" / "certscan-results.json"
    text = certscan("diff", old, new)
    assert "\x1b" not in text.out and "\x07" not in text.out
    assert "\\x1b[2J" in text.out
    markdown = certscan("diff", old, new, "--format", "markdown").out
    assert "<img" not in markdown and "&lt;img" in markdown and "\\*\\*bold\\*\\*" in markdown
    assert "\x1b" not in markdown
    # JSON keeps the value exactly (it is data, for tools), validly encoded
    document = json.loads(certscan("diff", old, new, "--format", "json").out)
    assert evil in {c["resource_id"] for c in document["changes"]}
    # the report's "Since the last scan" section and the history page escape it too
    report = certscan("report", "--results", new, "--baseline", old, "--output-dir", tmp_path / "report")
    assert report.code == 0
    page = (tmp_path / "report" / "certscan-report.html").read_text()
    since = page[page.index("<h2>Since the last scan</h2>"):page.index("<h2>Risk level")]
    assert "&lt;img src=x" in since and "\\x1b[2J" in since  # the section this issue adds
    assert "<img" not in page
    history = tmp_path / "h.db"
    for name, source, as_of in (("h1", empty, WEEKS[0]), ("h2", inventory, WEEKS[1])):
        certscan("scan", "--inventory", source, "--as-of", as_of, "--fail-on", "none", "--output-dir",
                 tmp_path / name, "-q", "--history", history)
    page = certscan("history", "--history", history, "--format", "html").out
    assert "&lt;img src=x" in page  # listed: it reached expiry in use
    assert "<img" not in page and "\x1b" not in page and "<script" not in page
    markdown = certscan("history", "--history", history, "--format", "markdown").out
    assert "&lt;img src=x" in markdown and "<img" not in markdown
    text = certscan("history", "--history", history)
    assert text.code == 0 and "\x1b" not in text.out
