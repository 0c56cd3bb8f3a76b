"""Routes files (issue 17): matching semantics, secrets from the environment and their
redaction, and schema problems that never echo a URL."""

from __future__ import annotations

import textwrap

import pytest

from scanner.inputs.problems import InputError
from scanner.model import Result
from scanner.notify.routes import load_routes

pytest.importorskip("apprise")


def result(rule="ACM-003", rid="arn:1", **context) -> Result:
    return Result(rule, rid, "fail", "high", "m", {}, context)


def routes_file(tmp_path, text: str):
    path = tmp_path / "routes.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_every_key_must_match_any_value_may(tmp_path):
    routes = load_routes(routes_file(tmp_path, """\
        apiVersion: certscan/v1
        kind: Routes
        routes:
          - name: shop-dns
            match: {subscription: ["1111*", "2222"], rule: DNS-*, domain: "*.SHOP.example.com"}
            notify: ["json://127.0.0.1/a"]
          - name: owners
            match: {owner: [payments-*, web-team], source: aws.*}
            notify: ["json://127.0.0.1/b"]
        default: {notify: ["json://127.0.0.1/c"]}
        """), {})
    names = lambda r: [route.name for route in routes.routes_for(r)]  # noqa: E731
    assert names(result("DNS-001", account="111199", domain="www.shop.EXAMPLE.com")) == ["shop-dns"]
    assert names(result("ACM-003", account="111199", domain="www.shop.example.com")) == ["default"]  # rule differs
    assert names(result("DNS-001", account="2222", domain="shop.example.com")) == ["default"]  # domain differs
    assert names(result(owner="Payments-Team", source="aws.acm", account="2222")) == ["owners"]
    assert names(result(owner="web-team", source="file")) == ["default"]
    assert names(result(owner=None, source="aws.acm")) == ["default"]  # no owner never matches an owner glob
    both = result("DNS-001", owner="web-team", source="aws.acm", account="2222", domain="a.shop.example.com")
    assert names(both) == ["shop-dns", "owners"]  # every matching route gets it


def test_secrets_from_environment_redacted_in_every_form(tmp_path):
    routes = load_routes(routes_file(tmp_path, """\
        apiVersion: certscan/v1
        kind: Routes
        default:
          notify: ["json://127.0.0.1/hook?-token=${TOKEN}", "mailtos://me:${PW}@smtp.example.com?to=a@example.com"]
        """), {"TOKEN": "tok/en&x=1", "PW": "p@ss word!"})
    token, mail = routes.default.notify
    assert token.shown == "json://127.0.0.1/hook?-token=***"
    assert token.url == "json://127.0.0.1/hook?-token=tok%2Fen%26x%3D1"  # cannot add a parameter
    assert "p%40ss%20word%21" in mail.url and mail.shown.startswith("mailtos://me:***@")
    text = "sent to json://127.0.0.1/hook?-token=tok%2Fen%26x%3D1 (raw tok/en&x=1) as p@ss word!"
    assert routes.redact(text) == "sent to json://127.0.0.1/hook?-token=*** (raw ***) as ***"
    assert "tok%2F" not in repr(routes) and "tok/en" not in repr(routes)


def test_schema_problems_name_the_place_and_never_echo_a_url(tmp_path):
    path = routes_file(tmp_path, """\
        apiVersion: certscan/v1
        kind: Routes
        routes:
          - name: a
            match: {}
            notify: "slack://T0/B0/SECRETSECRET"
          - name: b
            match: {owner: x}
        """)
    with pytest.raises(InputError) as caught:
        load_routes(path, {})
    text = str(caught.value)
    assert "SECRETSECRET" not in text
    assert "routes.yaml:5: routes[0].match:" in text  # minProperties
    line6 = next(line for line in text.splitlines() if "routes.yaml:6: routes[0].notify: " in line)
    assert "list" in line6 and "'slack://***'" in line6  # what was expected, the URL redacted
    assert "routes.yaml:7: routes[1]:" in text  # neither notify nor escalate_to


def test_unknown_apprise_scheme_is_refused(tmp_path):
    path = routes_file(tmp_path, """\
        apiVersion: certscan/v1
        kind: Routes
        default: {notify: ["nosuchservice://host/x"]}
        """)
    with pytest.raises(InputError, match=r"routes\.yaml:3: default\.notify\[0\]: Apprise cannot use nosuchservice://host/x"):
        load_routes(path, {})


def test_results_with_odd_contexts_are_planned_and_rendered_without_crashing(tmp_path):
    """A results file is outside data: a context with values of the wrong kind is shown, not obeyed."""
    from datetime import datetime, timezone

    from scanner.report import ScanReport
    from scanner.usecases.notify import plan, render

    routes = load_routes(routes_file(tmp_path, """\
        apiVersion: certscan/v1
        kind: Routes
        default:
          notify: ["json://127.0.0.1/all"]
          escalate_to: {EXPIRED: ["json://127.0.0.1/ic"]}
        """), {})
    odd = [
        Result("R-1", "a", "fail", "high", "m\x1b[2J", {}, {"expiry_bucket": ["EXPIRED"], "days_to_expiry": "7",
                                                         "owner": {"x": 1}, "domain": 5}),
        Result("R-2", "b", "fail", "high", "m", {}, {"expiry_bucket": "EXPIRED", "days_to_expiry": True}),
        Result("R-3", "c", "fail", "low", "m", {}, {}),
    ]
    report = ScanReport(scan_id="s", as_of=datetime(2026, 6, 1, tzinfo=timezone.utc), rules=[], packs=[],
                        results=odd, coverage=[], errors=[])
    messages = {m.destination.shown: m for m in plan(report, routes)}
    assert sorted(messages) == ["json://127.0.0.1/all", "json://127.0.0.1/ic"]
    assert [e.bucket for e in messages["json://127.0.0.1/ic"].ordered()] == ["EXPIRED"]  # only the real bucket escalates
    _, body = render(messages["json://127.0.0.1/all"], report)
    assert "\x1b" not in body and "m\\x1b[2J" in body
    assert "expiry unknown" in body or "no known expiry" in body
