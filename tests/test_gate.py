"""The gate's decision table, in-process: the exit code and the reasons a pipeline acts on.
(tests/test_gate_incomplete.py drives the same promise through the installed command.)"""

from datetime import datetime, timezone

import pytest

from scanner.evaluate.evaluation import Evaluation
from scanner.evaluate.gate import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, decide
from scanner.model import CollectionError, Coverage, Inventory, Result

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def result(status: str, severity: str = "high", rule: str = "R-1", resource: str = "a") -> Result:
    return Result(rule, resource, status, severity, "m", {}, {})


def evaluation(results=(), errors=(), coverage=()) -> Evaluation:
    inventory = Inventory(collected_at=NOW, errors=list(errors), coverage=list(coverage))
    return Evaluation("scan", NOW, inventory, [], list(results))


@pytest.mark.parametrize("fail_on,severity,code", [
    ("high", "high", EXIT_FINDINGS), ("high", "critical", EXIT_FINDINGS), ("high", "medium", EXIT_OK),
    ("critical", "high", EXIT_OK), ("info", "info", EXIT_FINDINGS), ("low", "info", EXIT_OK),
    ("none", "critical", EXIT_OK),
])
def test_threshold_counts_fails_at_or_above(fail_on, severity, code):
    decision = decide(evaluation([result("fail", severity), result("pass", "critical", resource="b")]), fail_on)
    assert decision.exit_code == code
    assert decision.findings == (1 if code == EXIT_FINDINGS else 0)
    assert decision.fail_on == fail_on and decision.incomplete == []


def test_only_unwaived_fails_count():
    results = [result("waived", "critical"), result("not_applicable", "critical"), result("pass", "critical"),
               result("fail", "high", resource="b"), result("fail", "high", resource="c")]
    decision = decide(evaluation(results), "high")
    assert (decision.exit_code, decision.findings) == (EXIT_FINDINGS, 2)


def test_a_collection_error_is_incomplete_and_wins_over_findings():
    error = CollectionError("aws.acm", "AccessDeniedException", "denied", account="111", region="eu-west-1",
                            service="acm", unit="aws.acm/111/eu-west-1")
    decision = decide(evaluation([result("fail", "critical")], errors=[error]), "high")
    assert decision.exit_code == EXIT_INCOMPLETE and decision.findings == 1
    assert decision.incomplete == ["aws.acm 111 eu-west-1 AccessDeniedException: denied"]
    allowed = decide(evaluation([result("fail", "critical")], errors=[error]), "high", allow_partial=True)
    assert allowed.exit_code == EXIT_FINDINGS and allowed.incomplete == decision.incomplete
    clean = decide(evaluation([result("pass")], errors=[error]), "high", allow_partial=True)
    assert clean.exit_code == EXIT_OK


def test_an_incomplete_unit_without_an_error_is_incomplete():
    units = [Coverage("file/a.pem", "file", count=1), Coverage("file/b.pem", "file", complete=False)]
    decision = decide(evaluation([result("pass")], coverage=units), "high")
    assert decision.exit_code == EXIT_INCOMPLETE
    assert decision.incomplete == ["unit file/b.pem incomplete"]
    assert decide(evaluation([result("pass")], coverage=units), "high", allow_partial=True).exit_code == EXIT_OK


def test_an_incomplete_unit_with_its_error_is_said_once():
    error = CollectionError("file", "FileUnreadable", "cannot read", resource="b.pem", unit="file/b.pem")
    units = [Coverage("file/b.pem", "file", complete=False), Coverage("file/c.pem", "file", complete=False)]
    decision = decide(evaluation(errors=[error], coverage=units), "high")
    assert decision.incomplete == ["file b.pem FileUnreadable: cannot read", "unit file/c.pem incomplete"]


def test_an_undecided_rule_is_incomplete():
    decision = decide(evaluation([result("error"), result("error", resource="b"), result("pass", resource="c")]),
                      "high")
    assert decision.exit_code == EXIT_INCOMPLETE
    assert decision.incomplete == ["2 rule evaluation(s) could not decide (status error)"]
    assert decide(evaluation([result("error")]), "high", allow_partial=True).exit_code == EXIT_OK


def test_a_complete_clean_scan_passes():
    units = [Coverage("file/a.pem", "file", count=1)]
    decision = decide(evaluation([result("pass")], coverage=units), "high")
    assert (decision.exit_code, decision.findings, decision.incomplete) == (EXIT_OK, 0, [])
