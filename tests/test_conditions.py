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


def holds(condition, rec):
    """One record read alone: True or False, or MissingValue raised (as a rule result sees it)."""
    outcome = condition([rec])[0]
    if outcome is True or outcome is False:
        return outcome
    raise MissingValue(outcome.field)


def compile_ok(cond, params=None):
    """The condition, read one record at a time (see bulk tests below for many at once)."""
    compiler = ConditionCompiler(params or {})
    condition = compiler.compile(cond, "assert")
    assert compiler.problems == []
    return lambda rec: holds(condition, rec)


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


# --- many records at once ------------------------------------------------------------------
# A condition takes a whole list of records in one call (rules.conditions). Each record's
# outcome, and what a quantifier captured for it, must be what that record gives on its own.

def _varied_records():
    from scanner.inputs.inventory_file import load_inventory
    from tests.conftest import LANDING_ZONE
    certs = list(load_inventory(LANDING_ZONE).certificates)
    certs += [  # unknowns: ordering on them is MissingValue, whatever sits beside them
        Certificate(id="z1", source="aws.acm", status="ISSUED", type="AMAZON_ISSUED", key_algorithm="RSA"),
        Certificate(id="z2", source="tls", not_after=AS_OF, tags={"OWNER": " "}, sans=[None, "*.x.org"]),
        Certificate(id="z3", source="aws.acm", validation_method="DNS",
                    validation=[ValidationRecord("a", dns_status="unknown"), ValidationRecord("b", dns_status="missing")]),
    ]
    return certs


def _conditions_of(rule):
    found = [("applies", rule.applies), ("assert", rule.check)]
    found += [(f"escalate[{i}]", when) for i, (when, _) in enumerate(rule.escalate)]
    if rule.inconclusive:
        found.append(("inconclusive", rule.inconclusive[0]))
    return [(name, cond) for name, cond in found if cond is not None]


def test_a_list_of_records_gives_what_each_gives_alone():
    from scanner.packs.loader import load_rules
    certs = _varied_records()
    checked = 0
    for rule in load_rules():
        for name, condition in _conditions_of(rule):
            together = [make_record(c, AS_OF) for c in certs]
            outcomes = condition(together)
            for cert, rec, outcome in zip(certs, together, outcomes):
                alone = make_record(cert, AS_OF)
                expected = condition([alone])[0]
                where = f"{rule.id} {name} {cert.id}"
                if isinstance(expected, MissingValue):
                    assert isinstance(outcome, MissingValue) and outcome.field == expected.field, where
                else:
                    assert outcome is expected, where
                assert rec[CAPTURES] == alone[CAPTURES], where
                checked += 1
    assert checked > 500


UNKNOWN_SIZE = {"field": "key_size", "op": "ge", "value": 2048}
FIRST_OR_LOW = {"any": [{"field": "value", "op": "eq", "value": "first"}, {"field": "value", "op": "lt", "value": "m"}]}


@pytest.mark.parametrize("cond, expected", [
    # a part decided by an earlier one is not read, so its unknown value does not count
    ({"all": [{"field": "status", "op": "eq", "value": "nope"}, UNKNOWN_SIZE]}, [False, False]),
    ({"all": [{"field": "status", "op": "eq", "value": "ISSUED"}, UNKNOWN_SIZE]}, [True, False]),
    ({"all": [{"field": "status", "op": "ne", "value": "nope"}, UNKNOWN_SIZE]}, [True, "key_size"]),
    ({"any": [{"field": "status", "op": "eq", "value": "ISSUED"}, UNKNOWN_SIZE]}, [True, "key_size"]),
    ({"not": UNKNOWN_SIZE}, [False, "key_size"]),
    # any() stops at the first matching item; an unknown item read before it is the outcome
    ({"field": "sans", "op": "any", "where": FIRST_OR_LOW}, [True, "value"]),
    ({"field": "sans", "op": "none", "where": FIRST_OR_LOW}, [False, "value"]),
    ({"field": "sans", "op": "all", "where": {"field": "value", "op": "lt", "value": "z"}}, ["value", "value"]),
    ({"field": "sans", "op": "none", "where": {"field": "value", "op": "eq", "value": "first"}}, [False, False]),
])
def test_unknown_values_count_only_where_they_are_read(cond, expected):
    first = make_record(Certificate(id="a", source="aws.acm", status="ISSUED", key_size=4096, sans=["first", None]), AS_OF)
    second = make_record(Certificate(id="b", source="tls", status=None, key_size=None, sans=[None, "first"]), AS_OF)
    compiler = ConditionCompiler({})
    condition = compiler.compile(cond, "assert")
    assert compiler.problems == []
    for records in ([first, second], [first], [second]):  # together and alone
        got = [o.field if isinstance(o, MissingValue) else o for o in condition(records)]
        assert got == [expected[0 if rec is first else 1] for rec in records]
