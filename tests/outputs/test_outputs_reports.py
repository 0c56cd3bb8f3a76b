"""Human reports (markdown, HTML), findings exports (CSV, JSON) and `certscan report`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from scanner.report import findings, html, markdown, results_json
from tests.outputs.outputs_support import AS_OF, INVENTORY, PACK, REPO, run_in_repo

HOSTILE_OWNER = '<script>alert("x")</script> | **bold** [link](http://evil)'
FORMULA_OWNER = '=HYPERLINK("http://evil","click")'


def report_argv(out: Path, *extra: str) -> list[str]:
    return ["report", "--inventory", str(INVENTORY.relative_to(REPO)), "--rules", str(PACK.relative_to(REPO)),
            "--as-of", AS_OF, "--output-dir", str(out), "--allow-partial", *extra]


def section(text: str, title: str) -> str:
    return text.split(f"## {title}")[1].split("\n## ")[0]


def table_rows(block: str) -> list[list[str]]:
    """Cells of a markdown table's body rows, markdown escapes removed."""
    rows = [line for line in block.splitlines() if line.startswith("|")][2:]
    return [[cell.strip().replace("\\", "") for cell in row.split(" | ")] for row in rows]


def test_executive_report_has_every_section_of_the_sop(full_scan):
    text = (full_scan.dir / "certscan-report.md").read_text(encoding="utf-8")
    assert text.startswith("# certscan executive report")
    assert "| As of | 2026-06-01T00:00:00Z |" in text
    assert "| Generated | " in text
    assert "## Risk level: CRITICAL" in text  # expired certificates and critical findings
    buckets = {row[0].strip("| "): row[1:] for row in table_rows(section(text, "Expiry buckets and escalation"))}
    assert list(buckets) == ["EXPIRED", "CRITICAL_7D", "WARNING_30D", "ATTENTION_90D", "VALID"]
    assert buckets["EXPIRED"][:4] == ["2", "critical", "Replace immediately", "Incident owner (on-call, opens an incident)"]
    assert buckets["CRITICAL_7D"][:3] == ["1", "high", "Renew within 24 hours"]
    assert buckets["WARNING_30D"][:3] == ["1", "medium", "Schedule renewal this week"]
    assert buckets["ATTENTION_90D"][:3] == ["1", "low", "Plan renewal"]
    assert buckets["VALID"][:3] == ["4", "info", "None"]
    assert "team-payments" in buckets["CRITICAL_7D"][4]  # the owner of the certificate in that bucket
    failing = table_rows(section(text, "Failing rules by severity"))
    assert [(row[0].strip("| "), row[1]) for row in failing] == [
        ("critical", "ACM-003"), ("critical", "IAM-001"), ("high", "DNS-001"), ("low", "TAG-001")]
    accounts = [row[0].strip("| ") for row in table_rows(section(text, "Top accounts"))]
    assert accounts == ["111111111111", "222222222222"]
    owners = {row[0].strip("| "): row for row in table_rows(section(text, "Owners to contact"))}
    assert set(owners) == {"(no owner tag)", "team-payments", "team-web"}
    gaps = section(text, "Coverage gaps")
    assert "DNS-001" in gaps and "cdn.example.org" in gaps
    expiring = [row[2] for row in table_rows(section(text, "Certificates expiring within 30 days"))]
    assert expiring == ["arn:aws:iam::222222222222:server-certificate/legacy",
                        "arn:aws:acm:eu-west-1:111111111111:certificate/expired",
                        "arn:aws:acm:eu-west-1:111111111111:certificate/soon", "certs/web.pem"]


def test_technical_report_lists_every_finding(full_scan):
    report = results_json.read(full_scan.dir / "certscan-results.json")
    text = markdown.render(report, mode="technical", days=60)
    assert text.startswith("# certscan technical report")
    for result in report.results:
        if result.status in ("fail", "waived", "error"):
            assert markdown.md(result.resource_id) in text.split("## Findings")[1]
    assert "kv-prod" in text.split("## Certificates expiring within 60 days")[1].split("##")[0]


def test_reports_from_saved_results_match_a_fresh_scan(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")
    fresh = tmp_path / "fresh"
    assert run_in_repo(report_argv(fresh)) == 0
    saved = tmp_path / "scan"
    assert run_in_repo(["scan", "--inventory", str(INVENTORY), "--rules", str(PACK.relative_to(REPO)), "--as-of", AS_OF,
                        "--output-dir", str(saved), "--format", "json", "--allow-partial"]) == 1
    again = tmp_path / "again"
    assert run_in_repo(["report", "--results", str(saved / "certscan-results.json"), "--output-dir", str(again)]) == 0
    for name in ("certscan-report.md", "certscan-report.html", "certscan-findings.csv", "certscan-findings.json"):
        assert (fresh / name).read_bytes() == (again / name).read_bytes(), name
    assert "2026-05-28T20:26:40Z" in (again / "certscan-report.md").read_text()


def _hostile_report(full_scan):
    report = results_json.read(full_scan.dir / "certscan-results.json")
    owners = {"certificate/soon": HOSTILE_OWNER, "certificate/pending": FORMULA_OWNER}
    report.results = [next((result._replace(context=dict(result.context, owner=owner))
                            for end, owner in owners.items() if result.resource_id.endswith(end)), result)
                      for result in report.results]
    return report


def test_html_is_self_contained_and_escapes_everything(full_scan):
    page = html.render(_hostile_report(full_scan), mode="technical")
    assert "<script>" not in page and "alert(" not in page.replace("alert(&quot;", "")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "default-src 'none'" in page
    lowered = page.lower()
    for loads_something in ("<link", "src=", "href=", "<a ", "<img", "@import", "url("):
        assert loads_something not in lowered


def test_markdown_escapes_values_from_the_estate(full_scan):
    text = markdown.render(_hostile_report(full_scan))
    assert "<script>" not in text
    assert "&lt;script&gt;" in text  # shown as text: HTML-escaped (scanner.report.escape.markdown)
    assert "\\[link\\]" in text and "\\*\\*bold\\*\\*" in text
    for line in text.splitlines():
        if "script" in line:  # the owner's '|' must not split the table row
            assert line.count(" | ") == line.replace("\\|", "").count(" | ")


def test_findings_csv_holds_fail_error_and_waived_and_defuses_formulas(full_scan):
    report = _hostile_report(full_scan)
    rows = list(csv.DictReader(io.StringIO(findings.render_csv(report))))
    expected = [r for r in report.results if r.status in ("fail", "error", "waived")]
    assert len(rows) == len(expected)
    assert {r["status"] for r in rows} == {"fail", "error", "waived"}
    assert [r["status"] for r in rows] == sorted((r["status"] for r in rows), key=["fail", "error", "waived"].index)
    pending = next(r for r in rows if r["resource_id"].endswith("certificate/pending"))
    assert pending["owner"] == "'" + FORMULA_OWNER
    waived = next(r for r in rows if r["status"] == "waived")
    assert waived["waiver_id"] == "W-1" and waived["waiver_justification"]


def test_findings_json_has_the_same_rows(full_scan, tmp_path):
    report = results_json.read(full_scan.dir / "certscan-results.json")
    (path,) = findings.write_json_export(report, tmp_path)
    document = json.loads(path.read_text())
    assert document["scan_id"] == report.scan_id
    assert len(document["findings"]) == len(list(csv.DictReader(io.StringIO(findings.render_csv(report)))))


def test_report_command_writes_the_human_outputs(tmp_path):
    out = tmp_path / "out"
    assert run_in_repo(report_argv(out, "--mode", "technical")) == 0
    assert {"certscan-report.md", "certscan-report.html", "certscan-findings.csv",
            "certscan-findings.json"} <= {p.name for p in out.iterdir()}
    assert "## Findings" in (out / "certscan-report.md").read_text()


def test_report_on_an_incomplete_scan_exits_3_and_names_the_gap(tmp_path):
    inventory = json.loads(INVENTORY.read_text())
    inventory["errors"] = [{"source": "aws.acm", "account": "444444444444", "region": "eu-west-1", "service": "acm",
                            "code": "AccessDeniedException", "message": "not authorized to list certificates",
                            "unit": "aws.acm/444444444444/eu-west-1"}]
    inventory["coverage"].append({"unit": "aws.acm/444444444444/eu-west-1", "source": "aws.acm", "service": "acm",
                                  "account": "444444444444", "region": "eu-west-1", "count": 0, "complete": False})
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(inventory))
    out = tmp_path / "out"
    argv = ["report", "--inventory", str(partial), "--rules", str(PACK), "--as-of", AS_OF, "--output-dir", str(out)]
    assert run_in_repo(argv) == 3
    text = (out / "certscan-report.md").read_text()
    assert "AccessDeniedException" in text and "444444444444" in text
    assert "Coverage incomplete" in text
    assert run_in_repo(argv + ["--allow-partial"]) == 0


@pytest.mark.parametrize("argv", [
    ["report", "--results", "x.json", "--inventory", "y.json"],
    ["report"],
    ["report", "--results", "does-not-exist.json"],
    ["report", "--inventory", str(INVENTORY), "--rules", str(PACK), "--mode", "verbose"],
])
def test_report_bad_input_is_exit_2(argv, tmp_path, capsys):
    assert run_in_repo(argv + ["--output-dir", str(tmp_path)]) == 2
    assert "Traceback" not in capsys.readouterr().err
