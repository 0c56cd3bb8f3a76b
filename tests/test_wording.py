"""Days and time spans in words, in every shipped rule message and report (issue 18: "Every
shipped rule says 'expired -35 days ago' / 'expires in -36 days (EXPIRED)'")."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from scanner.model import Certificate, days_in_words, expiry_in_words, span_in_words
from scanner.rules.engine import evaluate
from scanner.packs.loader import load_rules
from scanner.report.results_json import read as read_results
from tests.conftest import REPO

AS_OF = datetime(2026, 6, 1, tzinfo=timezone.utc)
NEGATIVE_DAYS = re.compile(r"(?:^|[\s(|>,\"])-\d+ ?(?:days?|d)\b|in -\d")


@pytest.mark.parametrize("days, expired, words", [
    (-35, True, "expired 35 days ago"), (-1, True, "expired 1 day ago"), (0, True, "expired today"),
    (0, False, "expires today"), (1, False, "expires in 1 day"), (12, False, "expires in 12 days"),
    (None, False, "has no known expiry date")])
def test_expiry_in_words(days, expired, words):
    assert expiry_in_words(days, expired) == words


def test_days_and_spans_in_words():
    assert [days_in_words(d) for d in (-2, -1, 0, 1, 5, None)] == \
        ["2 days ago", "1 day ago", "today", "in 1 day", "in 5 days", "unknown"]
    assert span_in_words(timedelta(days=189, hours=11, minutes=53, seconds=56.68)) == "189 days 11 hours"
    assert span_in_words(timedelta(hours=-3, minutes=-2)) == "3 hours 2 minutes"
    assert span_in_words(timedelta(days=1)) == "1 day"
    assert span_in_words(timedelta(seconds=5)) == "under a minute"


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.mark.parametrize("not_after, words", [
    (AS_OF - timedelta(days=35), "expired 35 days ago"), (AS_OF + timedelta(hours=5), "expires today"),
    (AS_OF + timedelta(days=1, hours=2), "expires in 1 day"), (AS_OF + timedelta(days=12, hours=2), "expires in 12 days")])
def test_shipped_expiry_rules_say_it_in_words(rules, not_after, words):
    acm = Certificate(id="arn:aws:acm:us-east-1:111111111111:certificate/x", source="aws.acm", domain="a.example.com",
                      status="ISSUED", type="IMPORTED", not_after=not_after, tags={"owner": "t"}, in_use=True,
                      in_use_by=["arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/x/1"])
    failing = {r.rule_id: r.message for r in evaluate([acm], rules, AS_OF) if r.status == "fail"}
    assert words in failing["ACM-003"]
    if not_after < AS_OF:
        assert words in failing["EXP-001"]
    assert not any(NEGATIVE_DAYS.search(message) for message in failing.values()), failing


def test_no_sample_report_shows_negative_days():
    """reports/samples/ is every output of the saved demo inventory (kept current by a test)."""
    samples = REPO / "reports" / "samples"
    report = read_results(samples / "certscan-results.json")
    assert any("expired" in r.message for r in report.results)
    assert not [r.message for r in report.results if NEGATIVE_DAYS.search(r.message)]
    for name in ("certscan-report.md", "certscan-report.html", "certscan.sarif", "certscan-junit.xml",
                 "certscan-findings.csv"):
        text = (samples / name).read_text()
        assert not NEGATIVE_DAYS.search(text), (name, NEGATIVE_DAYS.search(text))
        assert not re.search(r"\| -\d|<td[^>]*>-\d", text), name
