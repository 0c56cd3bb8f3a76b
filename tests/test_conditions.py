"""Every operator of the condition language, quantifiers, params and null handling."""

from datetime import datetime, timedelta, timezone

import pytest

from scanner.model import Certificate, ValidationRecord
from scanner.rules.conditions import ConditionCompiler, MissingValue
from scanner.rules.facts import CAPTURES, make_record

AS_OF = datetime(2026, 6, 1, tzinfo=timezone.utc)
CERT = Certificate(
    id="arn:x", source="aws.acm", domain="API.example.com", status="ISSUED", key_size=None,
    not_after=AS_OF + timedelta(days=30, hours=3), sans=["api.example.com", "*.example.com"],
    tags={"Owner": "payments", "env": ""}, in_use=True, region=None,
    validation=[ValidationRecord("a.example.com", "_a.a.example.com.", dns_status="present"),
                ValidationRecord("b.example.com", "_b.b.example.com.", dns_status="missing")],
)


def record(cert=CERT):
    return make_record(cert, AS_OF)


def compile_ok(cond, params=None):
    compiler = ConditionCompiler(params or {})
    predicate = compiler.compile(cond, "assert")
    assert compiler.problems == []
    return predicate


@pytest.mark.parametrize("cond, expected", [
    ({"field": "status", "op": "eq", "value": "ISSUED"}, True),
    ({"field": "status", "op": "eq", "value": "issued"}, False),
    ({"field": "status", "op": "eq", "value": "issued", "ignore_case": True}, True),
    ({"field": "status", "op": "ne", "value": "EXPIRED"}, True),
    ({"field": "days_to_expiry", "op": "lt", "value": 30}, False),
    ({"field": "days_to_expiry", "op": "le", "value": 30}, True),
    ({"field": "days_to_expiry", "op": "gt", "value": 30}, False),
    ({"field": "days_to_expiry", "op": "ge", "value": 30}, True),
    ({"field": "status", "op": "in", "value": ["ISSUED", "EXPIRED"]}, True),
    ({"field": "status", "op": "not_in", "value": ["ISSUED", "EXPIRED"]}, False),
    ({"field": "region", "op": "in", "value": [None]}, True),
    ({"field": "sans", "op": "contains", "value": "*.example.com"}, True),
    ({"field": "domain", "op": "contains", "value": "example"}, True),
    ({"field": "domain", "op": "contains", "value": "EXAMPLE", "ignore_case": True}, True),
    ({"field": "region", "op": "contains", "value": "x"}, False),
    ({"field": "domain", "op": "matches", "value": r"^api\."}, False),
    ({"field": "domain", "op": "matches", "value": r"^api\.", "ignore_case": True}, True),
    ({"field": "sans", "op": "matches", "value": r"^\*\."}, True),
    ({"field": "region", "op": "matches", "value": ".*"}, False),
    ({"field": "domain", "op": "exists"}, True),
    ({"field": "region", "op": "exists"}, False),
    ({"field": "region", "op": "absent"}, True),
    ({"field": "tags.Owner", "op": "eq", "value": "payments"}, True),
    ({"field": "tags.env", "op": "exists"}, False),  # empty string counts as absent
    ({"all": [{"field": "in_use", "op": "eq", "value": True}, {"field": "status", "op": "eq", "value": "ISSUED"}]}, True),
    ({"all": [{"field": "in_use", "op": "eq", "value": True}, {"field": "status", "op": "eq", "value": "X"}]}, False),
    ({"any": [{"field": "in_use", "op": "eq", "value": False}, {"field": "status", "op": "eq", "value": "ISSUED"}]}, True),
    ({"any": [{"field": "in_use", "op": "eq", "value": False}, {"field": "status", "op": "eq", "value": "X"}]}, False),
    ({"not": {"field": "in_use", "op": "eq", "value": True}}, False),
    ({"field": "validation", "op": "any", "where": {"field": "dns_status", "op": "eq", "value": "missing"}}, True),
    ({"field": "validation", "op": "all", "where": {"field": "dns_status", "op": "eq", "value": "present"}}, False),
    ({"field": "validation", "op": "none", "where": {"field": "dns_status", "op": "eq", "value": "mismatch"}}, True),
    ({"field": "sans", "op": "any", "where": {"field": "value", "op": "matches", "value": r"^\*\."}}, True),
    ({"field": "tags", "op": "any", "where": {"all": [
        {"field": "key", "op": "in", "value": ["owner"], "ignore_case": True},
        {"field": "value", "op": "matches", "value": r"\S"}]}}, True),
    ({"field": "tags", "op": "any", "where": {"field": "key", "op": "eq", "value": "owner"}}, False),
    ({"field": "validation", "op": "all", "where": {"field": "dns_status", "op": "eq", "value": "x"}}, False),
])
def test_operator(cond, expected):
    assert compile_ok(cond)(record()) is expected


def test_quantifier_over_empty_list():
    rec = record(Certificate(id="y", source="aws.acm"))
    assert compile_ok({"field": "validation", "op": "any", "where": {"field": "dns_status", "op": "eq", "value": "missing"}})(rec) is False
    assert compile_ok({"field": "validation", "op": "all", "where": {"field": "dns_status", "op": "eq", "value": "missing"}})(rec) is True
    assert compile_ok({"field": "tags", "op": "none", "where": {"field": "key", "op": "eq", "value": "owner"}})(rec) is True


def test_capture_keeps_the_deciding_items():
    rec = record()
    predicate = compile_ok({"field": "validation", "op": "none", "as": "broken",
                            "where": {"field": "dns_status", "op": "eq", "value": "missing"}})
    assert predicate(rec) is False
    assert [item["record_name"] for item in rec[CAPTURES]["broken"]] == ["_b.b.example.com."]


def test_params_are_resolved_at_compile_time():
    predicate = compile_ok({"field": "days_to_expiry", "op": "gt", "value": {"param": "days"}}, {"days": 29})
    assert predicate(record()) is True


def test_ordering_on_unknown_value_raises_missing_value():
    predicate = compile_ok({"field": "key_size", "op": "lt", "value": 2048})
    with pytest.raises(MissingValue) as info:
        predicate(record())
    assert info.value.field == "key_size"


@pytest.mark.parametrize("cond, fragment", [
    ({"field": "nope", "op": "eq", "value": 1}, "unknown certificate field 'nope'"),
    ({"field": "domain", "op": "matches", "value": "("}, "does not compile"),
    ({"field": "days_to_expiry", "op": "gt", "value": {"param": "missing"}}, "unknown parameter 'missing'"),
    ({"field": "validation", "op": "any", "where": {"field": "bogus", "op": "exists"}}, "unknown item field 'bogus'"),
    ({"field": "validation", "op": "any", "as": "domain", "where": {"field": "dns_status", "op": "exists"}}, "would hide a field"),
])
def test_compile_problems_are_collected(cond, fragment):
    compiler = ConditionCompiler({})
    compiler.compile({"all": [cond, {"field": "also_bad", "op": "exists"}]}, "assert")
    messages = [message for _, message in compiler.problems]
    assert any(fragment in m for m in messages), messages
    assert any("also_bad" in m for m in messages)  # every problem, not only the first
