"""A verdict per control (issue 15.1): the pure function, and `certscan controls` as users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.evaluate.controls import (INCONCLUSIVE, NOT_ASSESSED, NOT_SATISFIED, SATISFIED, WITH_EXCEPTIONS,
                              control_verdicts)
from scanner.packs.frameworks import load_catalogs
from scanner.collect import SourceOptions
from scanner.model import Result, parse_time
from scanner.usecases.scan import ScanSettings, run_scan
from tests.conftest import REPO
from tests.results_support import load_results

CERTSCAN = str(Path(sys.executable).with_name("certscan"))
DEMO_INVENTORY = REPO / "examples" / "demo-inventory.json"


def rule(rule_id: str, *controls: str, resource=("aws.acm",), basis="judgment"):
    return {"id": rule_id, "resource": list(resource),
            "controls": {"fw": [{"id": c, "basis": basis, **({"source": "PCI SSC"} if basis == "stated" else {})}
                                for c in controls]}}


def result(rule_id: str, resource: str, status: str) -> Result:
    return Result(rule_id, resource, status, "high", "m", {"fw": []}, {"source": "aws.acm"},
                  {"id": "W-1"} if status == "waived" else None)


def verdict_of(rules, results, coverage=(), errors=()):
    return {v.control: v for v in control_verdicts(rules, results, list(coverage), list(errors))}


def test_each_verdict_from_its_results():
    rules = [rule("A", "1"), rule("B", "2"), rule("C", "3"), rule("D", "4"), rule("E", "5"), rule("F", "5")]
    results = [result("A", "a1", "pass"), result("A", "a2", "fail"), result("A", "a3", "waived"),
               result("B", "b1", "pass"), result("B", "b2", "waived"),
               result("C", "c1", "pass"), result("C", "c2", "error"),
               result("D", "d1", "pass"), result("D", "d2", "not_applicable"),
               result("E", "e1", "not_applicable")]
    v = verdict_of(rules, results)
    assert v["1"].verdict == NOT_SATISFIED and v["1"].failing_resources == ["a2"]
    assert v["1"].waived_resources == ["a3"] and v["1"].counts == {
        "pass": 1, "fail": 1, "waived": 1, "error": 0, "not_applicable": 0}
    assert v["2"].verdict == WITH_EXCEPTIONS and v["2"].failing_resources == []
    assert v["3"].verdict == INCONCLUSIVE and v["3"].undecided_resources == ["c2"]
    assert v["4"].verdict == SATISFIED
    assert v["5"].verdict == NOT_ASSESSED and v["5"].rules_without_resources == ["E", "F"]


def test_a_fail_outweighs_an_error_and_a_waiver_does_not_hide_an_error():
    rules = [rule("A", "1"), rule("B", "1"), rule("C", "2"), rule("D", "2")]
    results = [result("A", "x", "fail"), result("B", "y", "error"),
               result("C", "x", "waived"), result("D", "y", "error")]
    v = verdict_of(rules, results)
    assert v["1"].verdict == NOT_SATISFIED
    assert v["2"].verdict == INCONCLUSIVE


def test_an_unread_unit_makes_only_the_controls_whose_rules_read_it_inconclusive():
    rules = [rule("ACM", "1", resource=["aws.acm"]), rule("AKV", "2", resource=["azure.keyvault"]),
             rule("ANY", "3", resource=["*"])]
    results = [result("ACM", "a", "pass"), result("AKV", "k", "pass"), result("ANY", "a", "pass")]
    error = {"source": "aws.acm", "account": "111111111111", "region": "eu-west-1", "code": "AccessDenied",
             "message": "no", "unit": "aws.acm/111111111111/eu-west-1"}
    v = verdict_of(rules, results, errors=[error])
    assert v["1"].verdict == INCONCLUSIVE and "AccessDenied" in v["1"].unread[0]
    assert v["2"].verdict == SATISFIED
    assert v["3"].verdict == INCONCLUSIVE
    # an incomplete unit with no error record counts the same (the gate's fail-closed case)
    partial = {"unit": "azure.keyvault/kv", "source": "azure.keyvault", "complete": False}
    v = verdict_of(rules, results, coverage=[partial])
    assert v["1"].verdict == SATISFIED and v["2"].verdict == INCONCLUSIVE
    # an estate-wide error ("aws": listing the Organization failed) reaches every AWS rule
    v = verdict_of(rules, results, errors=[dict(error, source="aws", unit=None)])
    assert v["1"].verdict == INCONCLUSIVE and v["2"].verdict == SATISFIED


def test_rules_and_basis_are_listed_and_frameworks_filter():
    rules = [rule("A", "1", basis="stated"), {"id": "B", "resource": ["*"],
                                              "controls": {"other": [{"id": "9", "basis": "judgment"}]}}]
    verdicts = control_verdicts(rules, [], [], [], frameworks=["fw"])
    assert [(v.framework, v.control) for v in verdicts] == [("fw", "1")]
    assert verdicts[0].rules == [{"rule": "A", "basis": "stated", "source": "PCI SSC"}]


def run_certscan(*argv, columns=80, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS=str(columns))
    return subprocess.run([CERTSCAN, *map(str, argv)], capture_output=True, text=True, env=env, timeout=120, cwd=cwd)


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    done = run_certscan("scan", "--inventory", DEMO_INVENTORY, "--format", "json", "--fail-on", "none",
                        "--output-dir", out, "-q")
    assert done.returncode == 0, done.stderr
    return out / "certscan-results.json"


@pytest.mark.parametrize("framework", ["pci-dss-4.0", "soc2", "iso27001-2022", "nist-800-53-r5"])
def test_demo_estate_gives_a_verdict_for_every_mapped_control(demo_results, framework):
    done = run_certscan("controls", "--framework", framework, "--results", demo_results, "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    mapped = {ref["id"] for r in load_results(demo_results)["rules"]
              for ref in r["controls"].get(framework, [])}
    assert {c["control"] for c in document["controls"]} == mapped and mapped
    catalog = load_catalogs()[framework]
    for control in document["controls"]:
        assert control["verdict"] in (SATISFIED, NOT_SATISFIED, WITH_EXCEPTIONS, INCONCLUSIVE, NOT_ASSESSED)
        assert control["title"] == catalog.controls[control["control"]]
        if control["verdict"] == NOT_SATISFIED:
            assert control["failing_resources"] and control["counts"]["fail"] >= len(control["failing_resources"])
    assert sum(document["totals"][framework].values()) == len(mapped)


def test_controls_text_names_every_framework_and_failing_resources(demo_results):
    every = run_certscan("controls", "--results", demo_results)
    assert every.returncode == 0 and "Traceback" not in every.stderr
    for name in ("PCI DSS 4.0 (pci-dss-4.0)", "SOC 2", "ISO/IEC 27001 2022", "NIST SP 800-53 Rev. 5"):
        assert name in every.stdout
    pci = run_certscan("controls", "--framework", "pci-dss-4.0", "--results", demo_results, columns=120)
    assert "4.2.1" in pci.stdout and "not satisfied" in pci.stdout and "failing resource(s)" in pci.stdout
    assert "soc2" not in pci.stdout
    for line in run_certscan("controls", "--results", demo_results, columns=80).stdout.splitlines():
        assert len(line) <= 80, line


def test_controls_refuses_unknown_framework_and_rules_beside_results(demo_results):
    unknown = run_certscan("controls", "--framework", "pci-dss-9", "--results", demo_results)
    assert unknown.returncode == 2 and "pci-dss-9" in unknown.stderr and "pci-dss-4.0" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    both = run_certscan("controls", "--rules", "builtin", "--results", demo_results)
    assert both.returncode == 2 and "--rules" in both.stderr


def test_hostile_resource_ids_reach_the_console_escaped(tmp_path):
    hostile = {"id": "q[/x]\x1b[2J\x07[link=https://evil.test]x[/link]", "source": "file",
               "domain": "h.example", "not_after": "2026-06-02T00:00:00Z", "key_algorithm": "RSA", "key_size": 1024,
               "private_key_present": True}
    inventory = tmp_path / "inv.json"
    inventory.write_text(json.dumps({"schema_version": 1, "collected_at": "2026-06-01T00:00:00Z",
                                     "certificates": [hostile], "errors": [], "coverage": []}))
    # written through the pipeline: the scan's own console summary is another issue's (13.1)
    run_scan(SourceOptions(inventory=str(inventory)),
             ScanSettings(as_of=parse_time("2026-06-01T00:00:00Z"), output_dir=tmp_path / "o", fail_on="none"))
    done = run_certscan("controls", "--framework", "pci-dss-4.0", "--results", tmp_path / "o" / "certscan-results.json",
                        columns=200)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "q[/x]\\x1b[2J\\x07[link=https://evil.test]x[/link]" in done.stdout
