"""certscan-junit.xml: strict Ant JUnit schema, a suite per rule, a case per evaluated resource."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from scanner.report import junit, results_json
from tests.outputs.outputs_support import JUNIT_XSD

xmlschema = pytest.importorskip("xmlschema")


def strict_schema():
    if not JUNIT_XSD.is_file():
        pytest.skip(f"{JUNIT_XSD} is absent (the shared reference folder beside the project)")
    return xmlschema.XMLSchema(str(JUNIT_XSD))


def test_junit_validates_against_the_strict_schema(full_scan):
    strict_schema().validate(str(full_scan.dir / "certscan-junit.xml"))


def test_a_suite_per_rule_and_a_case_per_evaluated_resource(full_scan):
    root = ET.parse(full_scan.dir / "certscan-junit.xml").getroot()
    document = full_scan.json("certscan-results.json")
    results = document["results"]
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == sorted(r["id"] for r in document["rules"])
    assert [s.get("id") for s in suites] == [str(i) for i in range(len(suites))]
    for suite in suites:
        rule_id = suite.get("name")
        expected = {r["resource_id"]: r for r in results if r["rule_id"] == rule_id and r["status"] != "not_applicable"}
        cases = suite.findall("testcase")
        assert {c.get("name") for c in cases} == set(expected)
        assert {c.get("classname") for c in cases} <= {rule_id}
        assert suite.get("tests") == str(len(expected))
        assert suite.get("failures") == str(sum(r["status"] == "fail" for r in expected.values()))
        assert suite.get("errors") == str(sum(r["status"] == "error" for r in expected.values()))
        assert suite.get("skipped") == str(sum(r["status"] == "waived" for r in expected.values()))
        assert suite.get("timestamp") == "2026-06-01T00:00:00"  # as_of, without a zone
        properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
        assert properties["scan_id"] == document["scan_id"]
        assert properties["rule_pack_version"] == "2.3.1"
        for case in cases:
            result = expected[case.get("name")]
            children = list(case)
            if result["status"] == "pass":
                assert children == []
            elif result["status"] == "fail":
                (failure,) = children
                assert failure.tag == "failure" and failure.get("type") == result["severity"]
                assert failure.get("message") == result["message"]
            elif result["status"] == "waived":
                (skipped,) = children
                assert skipped.tag == "skipped"
                assert result["waiver"]["id"] in skipped.get("message")
                assert result["waiver"]["justification"] in skipped.get("message")
            else:
                (error,) = children
                assert error.tag == "error" and error.get("message") == result["message"]
    statuses = {r["status"] for r in results}
    assert {"pass", "fail", "waived", "not_applicable", "error"} <= statuses


def test_hostile_text_stays_well_formed_and_valid(full_scan):
    report = results_json.read(full_scan.dir / "certscan-results.json")
    nasty = 'bad\x01 <tag attr="x">&amp; ]]> \x1b[31m'
    report.results = [r._replace(message=r.message + nasty, resource_id=r.resource_id + ' "q" <&>')
                      for r in report.results]
    data = junit.render(report)
    root = ET.fromstring(data)
    failure = root.find(".//failure")
    assert "<tag attr=\"x\">&amp; ]]>" in failure.get("message")
    assert "\x01" not in failure.get("message")
    strict_schema().validate(data.decode("utf-8"))


def test_junit_from_a_saved_results_file_matches_the_fresh_one(full_scan):
    report = results_json.read(full_scan.dir / "certscan-results.json")
    assert junit.render(report) == (full_scan.dir / "certscan-junit.xml").read_bytes()
