"""Issue 16's scenario, end to end with the installed certscan: three weekly scans recorded
into a history (SQLite and a real PostgreSQL), every change between them, the gate with
--baseline (a results file, a bundle, the history), and each SLI against values worked out
by hand from the inventories in history_support."""

from __future__ import annotations

import json
import zipfile

import pytest

from tests.history.history_support import A, B, C, D, E, F, certscan, scan_week


def changes_of(document: dict) -> set[tuple]:
    return {(c["change"], c["rule_id"], c["resource_id"], c["previous_severity"], c["severity"],
             c["previous_bucket"], c["bucket"]) for c in document["changes"]}


@pytest.fixture(scope="module")
def weeks(tmp_path_factory):
    """The three weeks scanned (results and evidence), no history; only read by the tests."""
    folder = tmp_path_factory.mktemp("weeks")
    for week in (1, 2, 3):
        run = scan_week(folder, week, fail_on="none", formats="json,evidence")
        assert run.code == 0, run
    return folder


def test_diff_week1_to_week2_names_every_change(weeks):
    run = certscan("diff", weeks / "w1" / "certscan-results.json", weeks / "w2" / "certscan-results.json",
                   "--format", "json")
    assert run.code == 0, run
    document = json.loads(run.out)
    assert changes_of(document) == {
        ("new", "ACM-003", D, None, "critical", None, "EXPIRED"),
        ("new", "EXP-001", D, None, "critical", None, "EXPIRED"),
        ("new", "DNS-001", F, None, "high", None, "VALID"),
        ("resolved", "ACM-003", A, "medium", "medium", "WARNING_30D", "VALID"),
        ("changed", "ACM-003", B, "medium", "high", "WARNING_30D", "CRITICAL_7D"),
        ("changed", "ACM-003", E, "medium", "high", "WARNING_30D", "CRITICAL_7D"),
    }
    assert document["counts"] == {"new": 3, "unwaived": 0, "changed": 2, "persisting": 0, "waived": 0,
                                  "resolved": 1, "gone": 0, "worsened": 2}
    assert document["from"]["as_of"] == "2026-06-01T00:00:00Z" and document["to"]["as_of"] == "2026-06-08T00:00:00Z"
    assert document["rules_only_in_from"] == [] and document["rules_only_in_to"] == []


def test_diff_week2_to_week3_from_bundles(weeks):
    """Evidence bundles on both sides give the same answer as the results files."""
    run = certscan("diff", weeks / "w2" / "certscan-evidence.zip", weeks / "w3" / "certscan-evidence.zip",
                   "--format", "json")
    assert run.code == 0, run
    document = json.loads(run.out)
    assert changes_of(document) == {
        ("new", "TAG-001", C, None, "low", None, "ATTENTION_90D"),
        ("gone", "ACM-003", B, "high", "high", "CRITICAL_7D", None),
        ("changed", "ACM-003", E, "high", "critical", "CRITICAL_7D", "EXPIRED"),
        ("persisting", "ACM-003", D, "critical", "critical", "EXPIRED", "EXPIRED"),
        ("persisting", "DNS-001", F, "high", "high", "VALID", "VALID"),
        ("waived", "EXP-001", D, "critical", "critical", "EXPIRED", "EXPIRED"),
    }
    gone = next(c for c in document["changes"] if c["change"] == "gone")
    assert gone["reason"] == "the certificate is not in the newer inventory"
    waived = next(c for c in document["changes"] if c["change"] == "waived")
    assert waived["waiver"] == "W-LEGACY"
    files = certscan("diff", weeks / "w2" / "certscan-results.json", weeks / "w3" / "certscan-results.json",
                     "--format", "json")
    assert json.loads(files.out)["changes"] == document["changes"]


def test_diff_fail_on_counts_only_new_and_worsened(weeks):
    w2, w3 = weeks / "w2" / "certscan-results.json", weeks / "w3" / "certscan-results.json"
    # W2 -> W3: E's ACM-003 worsened to critical; C's TAG-001 is new but low
    assert certscan("diff", w2, w3, "--fail-on", "critical").code == 1
    assert certscan("diff", w2, w3, "--fail-on", "critical", "--format", "json").code == 1
    assert certscan("diff", w3, w3, "--fail-on", "info").code == 0  # nothing changed
    assert certscan("diff", w2, w3).code == 0  # --fail-on none by default
    # persisting critical findings alone do not fail a diff
    only_persisting = certscan("diff", w3, w3, "--fail-on", "critical", "--format", "json")
    assert only_persisting.code == 0 and json.loads(only_persisting.out)["counts"]["persisting"] == 4


def test_diff_text_and_markdown_read_at_80_columns(weeks):
    w1, w2 = weeks / "w1" / "certscan-results.json", weeks / "w2" / "certscan-results.json"
    text = certscan("diff", w1, w2, columns=80)
    assert text.code == 0
    lines = text.out.splitlines()
    assert all(len(line) <= 80 for line in lines), text.out
    assert ("3 new, 0 unwaived, 2 changed, 2 worsened, 0 persisting, 0 waived, 1 resolved, 0 gone"
            in " ".join(text.out.split()))
    assert "NEW (3)" in text.out and "CHANGED (2)" in text.out and "RESOLVED (1)" in text.out
    assert "medium → high; WARNING_30D → CRITICAL_7D" in text.out
    wide = certscan("diff", w1, w2, columns=120)
    assert all(len(line) <= 120 for line in wide.out.splitlines())
    markdown = certscan("diff", w1, w2, "--format", "markdown", "--output", weeks / "diff.md")
    assert markdown.code == 0 and markdown.out == ""
    page = (weeks / "diff.md").read_text()
    assert "## New (3)" in page and "## Changed (2)" in page and "## Resolved (1)" in page
    assert "medium → high" in page


def test_scan_with_baseline_gates_only_on_new_or_worse(weeks, tmp_path):
    w2_results = weeks / "w2" / "certscan-results.json"
    # without a baseline week 3 fails on three findings at or above high (D, E ACM-003; F DNS-001)
    plain = scan_week(tmp_path / "plain", 3)
    assert plain.code == 1
    assert json.loads((tmp_path / "plain" / "w3" / "certscan-results.json").read_text())["gate"]["findings"] == 3
    # against week 2, only E's worsened ACM-003 counts
    gated = scan_week(tmp_path / "gated", 3, "--baseline", w2_results, formats="json,sarif,junit,markdown,evidence")
    assert gated.code == 1, gated
    out = tmp_path / "gated" / "w3"
    results = json.loads((out / "certscan-results.json").read_text())
    assert results["gate"]["findings"] == 1
    labels = {(r["rule_id"], r["resource_id"]): r.get("baseline") for r in results["results"] if r["status"] == "fail"}
    assert labels == {("ACM-003", D): "existing", ("ACM-003", E): "changed", ("DNS-001", F): "existing",
                      ("TAG-001", C): "new"}
    assert all("baseline" not in r for r in results["results"] if r["status"] != "fail")
    assert results["baseline"]["from"]["scan_id"] == json.loads(w2_results.read_text())["scan_id"]
    assert results["baseline"]["counts"]["gone"] == 1
    # the console leads with what changed
    assert gated.out.index("Since the last scan") < gated.out.index("Failures by severity")
    # SARIF: baselineState per result; the evidence copy adds B's disappeared finding as absent
    sarif = json.loads((out / "certscan.sarif").read_text())
    states = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]): r["baselineState"]
              for r in sarif["runs"][0]["results"]}
    assert states == {("ACM-003", D): "unchanged", ("ACM-003", E): "updated", ("DNS-001", F): "unchanged",
                      ("TAG-001", C): "new"}
    with zipfile.ZipFile(out / "certscan-evidence.zip") as bundle:
        evidence_sarif = json.loads(bundle.read("certscan.sarif"))
    evidence_states = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]): r["baselineState"]
                       for r in evidence_sarif["runs"][0]["results"]}
    assert evidence_states == {**states, ("ACM-003", B): "absent", ("EXP-001", D): "updated"}
    # JUnit marks each failure; the markdown report leads with "Since the last scan"
    junit = (out / "certscan-junit.xml").read_text()
    assert 'message="[new] ' in junit and 'message="[changed] ' in junit and 'message="[existing] ' in junit
    report = (out / "certscan-report.md").read_text()
    assert report.index("## Since the last scan") < report.index("## Risk level")
    assert "**1 new**, **1 worsened**, **1 resolved**" in report
    # the job summary (from the results file) leads with the new failures
    summary = certscan("summary", "--results", out / "certscan-results.json")
    assert summary.out.index("New since the baseline (1)") < summary.out.index("Failures by severity")
    assert "1 new or worse finding(s) at or above `high`" in summary.out


def test_scan_against_its_own_results_passes_the_gate(weeks, tmp_path):
    """Nothing new since the same week: the baseline gate passes where the plain gate fails."""
    run = scan_week(tmp_path, 3, "--baseline", weeks / "w3" / "certscan-evidence.zip")
    assert run.code == 0, run
    results = json.loads((tmp_path / "w3" / "certscan-results.json").read_text())
    assert results["gate"]["findings"] == 0
    assert {r.get("baseline") for r in results["results"] if r["status"] == "fail"} == {"existing"}


def test_report_and_triage_lead_with_changes(weeks, tmp_path):
    run = certscan("report", "--results", weeks / "w2" / "certscan-results.json", "--baseline",
                   weeks / "w1" / "certscan-results.json", "--output-dir", tmp_path / "report")
    assert run.code == 0, run
    page = (tmp_path / "report" / "certscan-report.html").read_text()
    assert page.index("Since the last scan") < page.index("Risk level")
    assert "<strong>3 new</strong>, <strong>2 worsened</strong>, <strong>1 resolved</strong>" in page
    triage = certscan("triage", "--inventory", weeks / "inventory-w2.json", "--as-of", "2026-06-08", "--baseline",
                      weeks / "w1" / "certscan-evidence.zip", "--output-dir", tmp_path / "triage", columns=80)
    assert triage.code == 0, triage
    assert triage.out.index("Since the last scan") < triage.out.index("certscan triage")
    assert "3 new, 2 worsened, 1 resolved" in " ".join(triage.out.split())
    markdown = (tmp_path / "triage" / "certscan-report.md").read_text()
    assert markdown.index("## Since the last scan") < markdown.index("## Risk level")


def test_history_records_three_weeks_and_computes_the_slis(tmp_path, history_target):
    codes = []
    for week in (1, 2, 3):
        run = scan_week(tmp_path, week, "--history", history_target, "--baseline", "history")
        codes.append(run.code)
        assert "recorded in history" in run.err, run
        assert "postgresql://" not in run.err or "@127.0.0.1" in run.err
    # W1: an empty history, every finding new, but all medium: pass; W2: D x2, F new, B and E
    # worsened; W3: E worsened (C's new TAG-001 is low)
    assert codes == [0, 1, 1]
    findings = [json.loads((tmp_path / f"w{w}" / "certscan-results.json").read_text())["gate"]["findings"]
                for w in (1, 2, 3)]
    assert findings == [0, 5, 1]
    # recording the same scan again is a no-op
    again = scan_week(tmp_path, 3, "--history", history_target)
    assert again.code == 1 and "already in history" in again.err

    history = certscan("history", "--history", history_target, "--format", "json")
    assert history.code == 0, history
    view = json.loads(history.out)
    scans = view["scans"]
    assert [s["as_of"] for s in scans] == ["2026-06-01T00:00:00Z", "2026-06-08T00:00:00Z", "2026-06-15T00:00:00Z"]
    assert [s["certificates"] for s in scans] == [4, 5, 5]
    assert [s["buckets"] for s in scans] == [
        {"VALID": 1, "WARNING_30D": 3},
        {"CRITICAL_7D": 2, "EXPIRED": 1, "VALID": 2},
        {"ATTENTION_90D": 1, "EXPIRED": 2, "VALID": 2}]
    assert [s["findings"] for s in scans] == [
        {"medium": 3}, {"critical": 2, "high": 3}, {"critical": 2, "high": 1, "low": 1}]
    assert [(s["new"], s["resolved"], s["worsened"]) for s in scans] == [(None, None, None), (3, 1, 2), (1, 1, 1)]

    slis = view["slis"]
    # D reached expiry in use (seen at W2); E reached it unused (W3); B was replaced first
    assert slis["expired_while_in_use"]["count"] == 1
    assert slis["expired_while_in_use"]["reached_expiry"] == 2
    assert slis["expired_while_in_use"]["share"] == 0.5
    assert [(c["cert_id"], c["in_use"]) for c in slis["expired_while_in_use"]["certificates"]] == [(D, True), (E, False)]
    # A renewed in place, seen at W2 (06-08), 12 days before 06-20; C took over B's listener,
    # seen at W3 (06-15 00:00), 12 hours before B's 06-15 12:00: 0 whole days
    lead = slis["rotation_lead_time"]
    assert [(r["kind"], r["old_id"], r["new_id"], r["lead_days"]) for r in lead["events"]] == [
        ("renewed", A, A, 12), ("replaced", B, C, 0)]
    assert (lead["rotations"], lead["mean_days"], lead["median_days"], lead["min_days"]) == (2, 6.0, 6.0, 0)
    # A's ACM-003 (medium) fixed after 7 days; B's (high at its last failure) gone after 14;
    # D's EXP-001 was waived, which resolves nothing
    assert slis["mean_time_to_resolve"] == {"high": {"resolved": 1, "mean_days": 14.0},
                                            "medium": {"resolved": 1, "mean_days": 7.0}}
    # open at W3 past the matrix: E's ACM-003 (critical, 14 d), D's ACM-003 (critical, 7 d),
    # F's DNS-001 (high, 7 d); C's TAG-001 (low, 0 d) is within its 90 days
    overdue = [(f["rule_id"], f["resource_id"], f["severity"], f["age_days"]) for f in slis["open_too_long"]["findings"]]
    assert overdue == [("ACM-003", E, "critical", 14.0), ("ACM-003", D, "critical", 7.0), ("DNS-001", F, "high", 7.0)]

    since = json.loads(certscan("history", "--history", history_target, "--since", "2026-06-08", "--format", "json").out)
    assert [s["as_of"][:10] for s in since["scans"]] == ["2026-06-08", "2026-06-15"]

    text = certscan("history", "--history", history_target, columns=80)
    assert text.code == 0
    assert all(len(line) <= 80 for line in text.out.splitlines()), text.out
    assert "1 of 2 that reached expiry (50.0 %)" in text.out
    page = certscan("history", "--history", history_target, "--format", "html", "--output", tmp_path / "h.html")
    assert page.code == 0
    html = (tmp_path / "h.html").read_text()
    assert html.count("<svg") == 1 and "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert html.count("<rect") == 2 + 3 + 3  # one per non-empty bucket per scan
