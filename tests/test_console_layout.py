"""Console output at 80, 120 and 200 columns never cuts or breaks an identifier (issue 18:
account ids wrapped, ARNs over 5-9 lines, dns-check breaking CNAMEs, the demo summary cutting
ARNs and showing no domain, gate: PASS fail-on=none under "67 critical"), and the listing
commands speak JSON for scripts."""

from __future__ import annotations

import csv
import functools
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from scanner.report.console import print_demo_close, print_demo_findings
from scanner.report.results_json import read as read_results
from tests.conftest import LANDING_ZONE, REPO
from tests.test_everyday import certscan

DEMO_INVENTORY = REPO / "examples" / "demo-inventory.json"
AS_OF = "2026-11-23T16:31:56Z"
WIDTHS = [80, 120, 200]


@functools.lru_cache(maxsize=None)
def json_of(*argv: str):
    """A command's --json output, run once per module (the tables are what varies by width)."""
    proc = certscan(*argv, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def identifiers(document: dict) -> set[str]:
    out = set()
    for cert in document["certificates"]:
        out |= {cert["id"], cert.get("account") or "", cert.get("domain") or ""}
    return out - {""}


def assert_whole(output: str, values: set[str]) -> None:
    """Every identifier appears whole on one line, and the output's own lines (not counting
    the terminal's soft wrap) are never broken inside one."""
    lines = output.splitlines()
    for value in values:
        assert any(value in line for line in lines), f"{value!r} cut or broken"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", [("inventory",), ("expiring", "--days", "30")])
def test_certificate_listings_keep_arns_accounts_and_domains_whole(width, command):
    proc = certscan(*command, "--inventory", DEMO_INVENTORY, "--as-of", AS_OF, columns=width)
    assert proc.returncode == 0, proc.stderr
    listed = json_of(*command, "--inventory", str(DEMO_INVENTORY), "--as-of", AS_OF)
    assert listed["certificates"]
    assert_whole(proc.stdout, identifiers(listed))
    if width < 200:
        assert "┃" not in proc.stdout or all(len(line) <= width for line in proc.stdout.splitlines() if "┃" in line)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_table_that_fits_is_a_table(width):
    """At every width the narrow listing of rules stays a table (titles wrap between words)."""
    proc = certscan("rules", "list", columns=width)
    assert proc.returncode == 0
    assert "┃" in proc.stdout and all(len(line) <= width for line in proc.stdout.splitlines())
    ids = {rule["id"] for rule in json_of("rules", "list")}
    assert_whole(proc.stdout, ids)


@pytest.mark.parametrize("width", WIDTHS)
def test_controls_keep_ids_whole_and_lines_in_the_terminal(width):
    proc = certscan("controls", "--framework", "pci-dss-4.0", columns=width)
    assert proc.returncode == 0
    rows = json_of("controls", "--framework", "pci-dss-4.0")
    assert_whole(proc.stdout, {row["control"] for row in rows})
    if "┃" in proc.stdout:
        assert all(len(line) <= width for line in proc.stdout.splitlines())


@pytest.mark.parametrize("width", WIDTHS)
def test_dns_check_keeps_every_record_whole(width, tmp_path):
    proc = certscan("dns-check", "--inventory", DEMO_INVENTORY, "--allow-partial", columns=width)
    assert proc.returncode == 0, proc.stderr
    records = json_of("dns-check", "--inventory", str(DEMO_INVENTORY))["records"]
    assert records and any(r["dns_status"] == "missing" for r in records)
    assert_whole(proc.stdout, {r["record_name"] for r in records} | {r["record_value"] for r in records}
                 | {r["account"] for r in records if r["account"]})


def test_dns_check_exports_json_and_csv(tmp_path):
    proc = certscan("dns-check", "--inventory", DEMO_INVENTORY, "--export-json", tmp_path / "dns.json",
                    "--export-csv", tmp_path / "dns.csv")
    assert proc.returncode == 0, proc.stderr
    exported = json.loads((tmp_path / "dns.json").read_text())["records"]
    printed = json_of("dns-check", "--inventory", str(DEMO_INVENTORY))["records"]
    assert exported == printed
    with open(tmp_path / "dns.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["record_name"], r["dns_status"]) for r in rows] == [(r["record_name"], r["dns_status"]) for r in printed]


def test_inventory_json_is_a_saved_inventory(tmp_path):
    out = certscan("inventory", "--inventory", LANDING_ZONE, "--as-of", "2026-06-01", "--json")
    assert out.returncode == 0
    saved = tmp_path / "listed.json"
    saved.write_text(out.stdout)
    again = certscan("inventory", "--inventory", saved, "--as-of", "2026-06-01", "--json")
    assert again.returncode == 0
    assert {c["id"] for c in json.loads(again.stdout)["certificates"]} == {c["id"] for c in json.loads(out.stdout)["certificates"]}


@pytest.mark.parametrize("width", WIDTHS)
def test_demo_summary_names_domain_bucket_account_explains_fail_on_none_and_says_what_next(width, tmp_path):
    report = read_results(REPO / "reports" / "samples" / "certscan-results.json")
    console = Console(width=width, record=True, color_system=None)
    print_demo_findings(report, console, "reports/demo/certscan-findings.csv")
    print_demo_close(report, console, "reports/demo")
    text = console.export_text()
    failing = [r for r in report.results if r.status == "fail"]
    worst = sorted(failing, key=lambda r: (-["info", "low", "medium", "high", "critical"].index(r.severity),
                                           r.rule_id, r.resource_id))[:15]
    assert_whole(text, {r.context["domain"] for r in worst if r.context.get("domain")}
                 | {r.context["account"] for r in worst if r.context.get("account")})
    assert "EXPIRED" in text
    assert f"… and {len(failing) - 15} more (full list in reports/demo/certscan-findings.csv)" in text
    assert "fail-on=none means the demo reports" in text and "fails on none of them" in text
    assert "would fail (exit 1)" in text
    assert "Next:" in text and "certscan scan --aws" in text


@pytest.mark.parametrize("width", [80, 120])
def test_triage_says_how_many_are_not_shown_and_where_they_all_are(width, tmp_path):
    """Issue 18: "Expiring within 30 days (28)" showed 15 rows and said nothing of the other 13;
    the owners table stopped at 15 of 22 the same way."""
    out = tmp_path / "out"
    proc = certscan("triage", "--inventory", DEMO_INVENTORY, "--as-of", AS_OF, "--days", "30", "--output-dir", out,
                    columns=width)
    assert proc.returncode in (0, 1), proc.stderr
    text = proc.stdout
    assert "Expiring within 30 days (28)" in text
    assert f"… and 13 more (full list in {out}/certscan-expiring.csv)" in text
    with open(out / "certscan-expiring.csv", newline="") as handle:
        listed = list(csv.DictReader(handle))
    assert len(listed) == 28
    assert_whole(text, {row["resource_id"] for row in listed[:15]})
    owners = re.search(r"Owners to contact \((\d+)\)", text)
    assert owners and f"… and {int(owners.group(1)) - 15} more (full list in {out}/certscan-findings.csv)" in text
