"""certscan summary: the markdown job summary of a saved scan (scanner/report/github_summary.py)."""

import json

from scanner.report import github_summary
from tests.conftest import LANDING_ZONE

AS_OF = "2026-06-01T00:00:00Z"


def scan(cli, inventory, out, *extra):
    result = cli("scan", "--inventory", inventory, "--as-of", AS_OF, "--output-dir", out, *extra)
    assert result.code in (0, 1, 3), result
    return out / "certscan-results.json"


def summary(cli, results_file):
    result = cli("summary", "--results", results_file)
    assert result.code == 0, result
    return result.out


def test_counts_match_the_results_file(cli, tmp_path):
    results_file = scan(cli, LANDING_ZONE, tmp_path)
    data = json.loads(results_file.read_text())
    text = summary(cli, results_file)

    by_severity = data["summary"]["failures_by_severity"]
    row = "| " + " | ".join(str(by_severity.get(s, 0)) for s in ("critical", "high", "medium", "low", "info")) + " |"
    assert row in text
    buckets = data["summary"]["certificates_by_bucket"]
    row = "| " + " | ".join(str(buckets.get(b, 0)) for b in
                            ("EXPIRED", "CRITICAL_7D", "WARNING_30D", "ATTENTION_90D", "VALID", "UNKNOWN")) + " |"
    assert row in text
    failing = {r["resource_id"] for r in data["results"] if r["status"] == "fail"}
    assert f"### Failing certificates ({len(failing)})" in text
    assert f"FAIL — {data['gate']['findings']} finding(s) at or above `high`" in text
    assert f"Scan `{data['scan_id']}` as of {AS_OF}" in text


def test_worst_certificates_come_first_and_blocking_rules_are_bold(cli, tmp_path, write_inventory):
    expired = {"id": "expired-cert", "source": "file", "domain": "old.example.com",
               "not_after": "2026-05-01T00:00:00Z", "key_algorithm": "EC", "key_size": 256}
    wildcard = {"id": "wildcard-cert", "source": "file", "domain": "*.example.com",
                "not_after": "2027-06-01T00:00:00Z", "key_algorithm": "EC", "key_size": 256}
    text = summary(cli, scan(cli, write_inventory([wildcard, expired]), tmp_path / "o"))
    rows = [line for line in text.splitlines() if line.startswith("| ") and "-cert" in line]
    assert [r.split(" | ")[1] for r in rows] == ["expired-cert", "wildcard-cert"]
    assert rows[0].startswith("| **critical** |")
    assert "WILDCARD-001 (low)" in rows[1] and "**WILDCARD-001" not in rows[1]
    assert "1 of them have a failure at or above `high`" in text


def test_outside_text_cannot_inject_markdown_or_html(cli, tmp_path, write_inventory):
    hostile = {"id": "evil|<img src=x onerror=alert(1)>", "source": "file", "domain": "*.<b>x</b>|[y](http://z)",
               "not_after": "2026-05-01T00:00:00Z", "key_algorithm": "EC", "key_size": 256}
    text = summary(cli, scan(cli, write_inventory([hostile]), tmp_path / "o"))
    assert "<img" not in text and "<b>" not in text
    assert "evil\\|&lt;img src=x onerror=alert(1)&gt;" in text
    assert "\\*.&lt;b&gt;x&lt;/b&gt;\\|\\[y\\](http://z)" in text
    row = next(line for line in text.splitlines() if "evil" in line)
    assert row.count(" | ") == 4  # still five cells: no pipe got through


def test_long_lists_are_cut_and_point_at_the_results_file(cli, tmp_path, write_inventory):
    certs = [{"id": f"c{i:03}", "source": "file", "domain": f"h{i}.example.com", "not_after": "2026-05-01T00:00:00Z",
              "key_algorithm": "EC", "key_size": 256} for i in range(github_summary.MAX_CERTIFICATE_ROWS + 7)]
    text = summary(cli, scan(cli, write_inventory(certs), tmp_path / "o"))
    assert sum(1 for line in text.splitlines() if line.startswith("| ") and "| c0" in line) == github_summary.MAX_CERTIFICATE_ROWS
    assert "… and 7 more" in text


def test_coverage_gaps_name_the_unreadable_sources(cli, tmp_path, write_inventory):
    errors = [{"source": "azure.keyvault", "account": None, "region": None, "service": "keyvault",
               "resource": "https://kv-hr.vault.azure.net", "code": "Forbidden",
               "message": "caller lacks certificates/list", "unit": "azure.keyvault/kv-hr"}]
    coverage = [{"unit": "azure.keyvault/kv-hr", "source": "azure.keyvault", "vault": "https://kv-hr.vault.azure.net",
                 "count": 0, "complete": False},
                {"unit": "file/certs", "source": "file", "resource": "certs", "count": 0, "complete": False}]
    results_file = scan(cli, write_inventory([], errors=errors, coverage=coverage), tmp_path / "o", "--fail-on", "none")
    text = summary(cli, results_file)
    assert "INCOMPLETE" in text
    row = next(line for line in text.splitlines() if "Forbidden" in line)
    assert "https://kv-hr.vault.azure.net" in row and "caller lacks certificates/list" in row
    assert "- file/certs" in text  # partly read, no error record: listed as an incomplete unit
    assert "azure.keyvault/kv-hr" not in text.split("partly read", 1)[-1]  # its error already says it


def test_a_clean_scan_says_nothing_is_missing(cli, tmp_path, write_inventory):
    good = {"id": "good", "source": "file", "domain": "www.example.com", "not_after": "2027-06-01T00:00:00Z",
            "key_algorithm": "EC", "key_size": 256}
    coverage = [{"unit": "file/good", "source": "file", "resource": "good", "count": 1}]
    text = summary(cli, scan(cli, write_inventory([good], coverage=coverage), tmp_path / "o"))
    assert "PASS" in text
    assert "None: all 1 unit(s) reached were read completely." in text
    assert "None: no unwaived failure." in text


def test_bad_results_file_is_exit_2_naming_it(cli, tmp_path):
    missing = cli("summary", "--results", tmp_path / "nope.json")
    assert missing.code == 2 and "nope.json" in missing.err
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"certificates": []}))
    result = cli("summary", "--results", wrong)
    assert result.code == 2 and "not a certscan results file" in result.err
    assert "Traceback" not in result.err
