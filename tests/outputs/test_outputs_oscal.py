"""certscan-oscal-ar.json (issue 15.3): valid against NIST's OSCAL assessment-results schema,
readable by compliance-trestle's models, deterministic, and saying what the scan found."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scanner.report import oscal, results_json
from tests.outputs.oscal_schema import problems
from tests.results_support import load_results
from tests.outputs.outputs_support import REPO, WAIVERS, scan_argv

CERTSCAN = str(Path(sys.executable).with_name("certscan"))


def certscan(*argv, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([CERTSCAN, *map(str, argv)], capture_output=True, text=True, cwd=REPO, timeout=180,
                          env=dict(os.environ, SOURCE_DATE_EPOCH="1780000000", COLUMNS="120", **(env or {})))


@pytest.fixture(scope="module")
def oscal_scan(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("oscal")
    done = certscan(*scan_argv(out, formats="json,oscal,evidence"), "-q")
    assert done.returncode == 1, done.stderr  # the fixture estate has high findings
    return out


def document(folder: Path) -> dict:
    return json.loads((folder / oscal.OSCAL_FILE).read_text(encoding="utf-8"))


def test_valid_against_nist_schema_and_trestle_models(oscal_scan):
    doc = document(oscal_scan)
    assert problems(doc) == []
    from trestle.oscal.assessment_results import AssessmentResults
    parsed = AssessmentResults.model_validate(doc["assessment-results"])
    assert parsed.metadata.oscal_version.root.root == oscal.OSCAL_VERSION == "1.2.1"
    assert doc["assessment-results"]["metadata"]["oscal-version"] == "1.2.1"


def test_the_schema_check_can_fail(oscal_scan):
    """The validator really applies NIST's \\p{L} token pattern and the required fields."""
    doc = document(oscal_scan)
    bad = copy.deepcopy(doc)
    bad["assessment-results"]["results"][0]["findings"][0]["target"]["target-id"] = "4.2.1"  # not a token
    assert any("target-id" in p for p in problems(bad))
    bad = copy.deepcopy(doc)
    del bad["assessment-results"]["results"][0]["observations"][0]["methods"]
    assert any("methods" in p for p in problems(bad))
    bad = copy.deepcopy(doc)
    bad["assessment-results"]["results"][0]["risks"][0]["status"] = "waived ok"
    assert problems(bad)


def test_one_result_with_findings_observations_and_waivers_as_risks(oscal_scan):
    doc = document(oscal_scan)["assessment-results"]
    saved = load_results(oscal_scan / "certscan-results.json")
    [result] = doc["results"]
    assert {p["name"]: p["value"] for p in result["props"]}["scan-id"] == saved["scan_id"]
    # observations: one per (rule, outcome), every judged resource a subject exactly once
    observed = {}
    for obs in result["observations"]:
        props = {p["name"]: p["value"] for p in obs["props"]}
        assert obs["methods"] == ["TEST"] and obs["collected"].startswith("2026-06-01T00:00:00")
        assert obs["relevant-evidence"][0]["href"].startswith("#")
        observed[(props["rule-id"], props["outcome"])] = sorted(s["title"] for s in obs["subjects"])
    expected = {}
    for r in saved["results"]:
        if r["status"] != "not_applicable":
            expected.setdefault((r["rule_id"], r["status"]), []).append(r["resource_id"])
    assert observed == {k: sorted(v) for k, v in expected.items()}
    # findings: one per framework control, the verdict as a property, the state from it
    controls = {(c["framework"], c["control"]): c for c in json.loads(certscan(
        "controls", "--results", oscal_scan / "certscan-results.json", "--json").stdout)["controls"]}
    findings = {}
    for finding in result["findings"]:
        props = {p["name"]: p["value"] for p in finding["props"]}
        findings[(props["framework"], props["control"])] = (props["verdict"], finding["target"]["status"]["state"])
    assert set(findings) == set(controls)
    for key, (verdict, state) in findings.items():
        assert verdict == controls[key]["verdict"]
        assert state == ("satisfied" if verdict in ("satisfied", "satisfied with exceptions") else "not-satisfied")
    selected = {s["control-id"] for s in result["reviewed-controls"]["control-selections"][0]["include-controls"]}
    assert "pci-dss-4.0_4.2.1" in selected and len(selected) == len(controls)
    # risks: the active waiver only (W-OLD has expired), with justification, approver and expiry
    [risk] = result["risks"]
    assert risk["status"] == "deviation-approved" and "W-1" in risk["title"]
    assert risk["description"] == "Shared CDN edge certificate; split planned for Q3."
    assert "ciso@example.com" in risk["statement"] and risk["deadline"].startswith("2027-01-01")
    waived = next(o["uuid"] for o in result["observations"]
                  if {p["name"]: p["value"] for p in o["props"]}["outcome"] == "waived")
    assert {"observation-uuid": waived} in risk["related-observations"]


def test_same_inputs_same_document_and_uuids_derive_from_the_scan(oscal_scan, tmp_path):
    again = tmp_path / "again"
    assert certscan(*scan_argv(again, formats="oscal"), "-q").returncode == 1
    assert (again / oscal.OSCAL_FILE).read_bytes() == (oscal_scan / oscal.OSCAL_FILE).read_bytes()
    other = tmp_path / "other"
    assert certscan(*scan_argv(other, "--as-of", "2026-06-02T00:00:00Z", formats="oscal"), "-q").returncode == 1
    first, second = document(oscal_scan)["assessment-results"], document(other)["assessment-results"]
    assert first["uuid"] != second["uuid"]
    assert first["results"][0]["uuid"] == oscal.derived_uuid(
        load_results(oscal_scan / "certscan-results.json")["scan_id"], "result")


def test_the_evidence_bundle_carries_the_document(oscal_scan):
    with zipfile.ZipFile(oscal_scan / "certscan-evidence.zip") as bundle:
        assert json.loads(bundle.read(oscal.OSCAL_FILE)) == document(oscal_scan)


def test_collection_errors_and_hostile_text_stay_valid(oscal_scan):
    report = results_json.read(oscal_scan / "certscan-results.json")
    report.errors = [{"source": "aws.acm", "account": "111111111111", "region": "eu-west-1", "service": "acm",
                      "code": "AccessDeniedException", "message": "denied \x1b[2J\x07 <script>",
                      "unit": "aws.acm/111111111111/eu-west-1"}]
    report.results = [r._replace(resource_id="\x1b]8;;https://evil.test\x07x") if i == 0 else r
                      for i, r in enumerate(report.results)]
    doc = json.loads(oscal.render(report))
    assert problems(doc) == []
    text = json.dumps(doc)
    assert "\\u001b" not in text and "\\u0007" not in text
    errors = [o for o in doc["assessment-results"]["results"][0]["observations"]
              if any(p["name"] == "collection-error" for p in o["props"])]
    assert len(errors) == 1 and "AccessDeniedException" in errors[0]["title"]



def test_rules_without_controls_still_give_a_valid_document(oscal_scan):
    report = results_json.read(oscal_scan / "certscan-results.json")
    report.rules = [dict(rule, controls={}) for rule in report.rules]
    doc = json.loads(oscal.render(report))
    assert problems(doc) == []
    result = doc["assessment-results"]["results"][0]
    assert "findings" not in result and "no control was assessed" in result["reviewed-controls"]["description"]
