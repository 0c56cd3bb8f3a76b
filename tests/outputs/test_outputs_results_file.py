"""certscan-results.json says each thing once (schema_version 2) and reads back as the same
Results; files of schema_version 1 (every result whole) still read; large documents are
streamed into the file chunk by chunk with the same bytes as one whole serialization."""

from __future__ import annotations

import io
import json

import orjson
import pytest

from scanner.report import atomic as outputs
from scanner.report.atomic import JsonArray, JsonObject
from scanner.inputs.problems import InputError
from scanner.report import results_json
from tests.outputs.outputs_support import REPO


def test_each_rule_and_resource_is_said_once(full_scan):
    document = json.loads((full_scan.dir / "certscan-results.json").read_text())
    assert document["schema_version"] == 2
    rows, resources = document["results"], document["resources"]
    assert {row["resource_id"] for row in rows} == set(resources)
    assert not [row for row in rows if "context" in row or "controls" in row]
    usual = {rule["id"]: rule.get("pass_message") for rule in document["rules"]}
    # a message is written only where it is not the rule's usual (pass) text; this fixture
    # pack renders some pass messages per certificate, and those are kept
    assert not [row for row in rows if row.get("message", object()) == usual[row["rule_id"]]]
    assert [row for row in rows if row["status"] == "fail" and "message" in row]
    for row in rows:
        assert set(row) >= {"rule_id", "resource_id", "status", "severity", "fingerprint"}


def test_with_the_shipped_packs_a_pass_carries_no_message():
    document = json.loads((REPO / "reports" / "samples" / "certscan-results.json").read_text())
    passes = [row for row in document["results"] if row["status"] == "pass"]
    assert passes and not [row for row in passes if "message" in row]


def test_read_gives_back_every_result_whole(full_scan):
    report = results_json.read(full_scan.dir / "certscan-results.json")
    document = json.loads((full_scan.dir / "certscan-results.json").read_text())
    rules = {rule["id"]: rule for rule in document["rules"]}
    assert not [rule for rule in report.rules if "pass_message" in rule]  # a file detail, not a rule's
    for result, row in zip(report.results, document["results"], strict=True):
        assert (result.rule_id, result.resource_id, result.status) == (row["rule_id"], row["resource_id"], row["status"])
        assert result.context == document["resources"][result.resource_id]
        assert result.controls == {fw: [ref["id"] for ref in refs] for fw, refs in rules[result.rule_id]["controls"].items()}
        assert result.message == row.get("message", rules[result.rule_id].get("pass_message"))
        assert result.fingerprint == row["fingerprint"]


def test_a_schema_version_1_file_reads_as_the_same_report(full_scan, tmp_path):
    path = full_scan.dir / "certscan-results.json"
    report = results_json.read(path)
    document = json.loads(path.read_text())
    old = {key: value for key, value in document.items() if key != "resources"}
    old.update(schema_version=1, rules=report.rules, results=[r.to_dict() for r in report.results])
    old_path = tmp_path / "v1.json"
    old_path.write_text(json.dumps(old, indent=2))
    again = results_json.read(old_path)
    assert again.results == report.results
    assert (again.rules, again.summary, again.gate, again.scan_id) == (report.rules, report.summary, report.gate,
                                                                       report.scan_id)
    old["schema_version"] = 7
    old_path.write_text(json.dumps(old))
    with pytest.raises(InputError, match="schema_version 7"):
        results_json.read(old_path)


def test_a_results_file_is_written_in_chunks_with_the_bytes_of_one_serialization(full_scan, monkeypatch):
    report = results_json.read(full_scan.dir / "certscan-results.json")
    monkeypatch.setattr(results_json, "CHUNK", 7)  # many chunks, a short last one
    streamed = outputs.dumps_json_bytes(results_json.results_document(report))
    whole = results_json.results_document(report)
    whole["results"] = [row for chunk in whole["results"].chunks for row in chunk]
    whole["resources"] = {k: v for chunk in whole["resources"].chunks for k, v in chunk.items()}
    assert streamed == orjson.dumps(whole, option=outputs.JSON_OPTIONS) + b"\n"
    assert streamed == (full_scan.dir / "certscan-results.json").read_bytes()


@pytest.mark.parametrize("value", [
    {"a": JsonArray([]), "b": JsonObject([{}, {}]), "c": 1},
    {"nested": {"deep": [1, {"x": "y\nz"}]}, "rows": JsonArray([[{"k": [1, 2]}], [], [{"k": []}, {}]])},
    {"map": JsonObject([{"a": {"b": [1]}}, {"c": "\u00e9\U0001f512"}])},
])
def test_streamed_json_is_what_one_serialization_writes(value):
    def plain(v):
        if isinstance(v, JsonArray):
            return [item for chunk in v.chunks for item in chunk]
        if isinstance(v, JsonObject):
            return {k: item for chunk in v.chunks for k, item in chunk.items()}
        return v
    buffer = io.BytesIO()
    outputs.dump_json(value, buffer)
    materialised = {key: plain(item) for key, item in value.items()}
    # chunks are one-shot iterables in use; these are lists, so they can be read twice
    assert buffer.getvalue() == orjson.dumps(materialised, option=outputs.JSON_OPTIONS) + b"\n"
    assert json.loads(buffer.getvalue()) == materialised
