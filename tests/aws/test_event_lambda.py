"""The Lambda handler, invoked in-process with the documented events (direct, SQS, SNS)
against moto, and the deployment templates linted by cfn-lint."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import pytest

from event_support import FIXTURES, dns_certificate, event_for, in_sns, in_sqs, webhooks, zone  # noqa: F401
from scanner.aws_lambda import RetryableError, handle

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def estate(moto):
    zone_id = zone()
    return {"healthy": dns_certificate("app.corp.example", zone_id),
            "broken": dns_certificate("shop.corp.example", zone_id, owner="shop-team", cname=False)}


def environ(tmp_path, **extra) -> dict[str, str]:
    return {"CERTSCAN_OUTPUT_DIR": str(tmp_path / "out"), **extra}


def log_lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_delivery_logs_one_json_line_per_event_and_returns_a_summary(estate, tmp_path):
    events = [event_for(t, estate["broken"]) for t in sorted(FIXTURES)]
    for name, delivery in {"direct": events[0], "sqs": in_sqs(*events), "sns": in_sns(events[2])}.items():
        out = io.StringIO()
        summary = handle(delivery, environ(tmp_path / name), out)
        lines = log_lines(out)
        expected = 4 if name == "sqs" else 1
        assert len(lines) == expected == len(summary["events"]), name
        for line in lines:
            assert line["certificate"] == estate["broken"] and line["outcome"] == "collected"
            assert "DNS-001" in line["failing_rules"]
        assert {"resource": estate["broken"], "rule": "DNS-001"} in summary["failing"]
        json.dumps(summary)  # plain data: Lambda serializes what the handler returns


def test_owner_is_notified_and_no_secret_is_logged(estate, tmp_path, webhooks):
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(f"""\
        apiVersion: certscan/v1
        kind: Routes
        routes:
          - name: shop
            match: {{owner: "shop-*"}}
            notify: ["{webhooks.url('json', '/shop')}?-token=${{SHOP_TOKEN}}"]
        """))
    out = io.StringIO()
    handle(in_sqs(event_for("ACM Certificate Renewal Action Required", estate["broken"])),
           environ(tmp_path, CERTSCAN_ROUTES=str(routes), SHOP_TOKEN="s3cr3t-token-value"), out)
    [sent] = webhooks.at("/shop")
    assert "DNS-001" in sent.body.decode() and "shop.corp.example" in sent.body.decode()
    assert "s3cr3t-token-value" not in out.getvalue() and "SHOP_TOKEN" not in out.getvalue()


def test_refused_delivery_raises_for_a_retry(estate, tmp_path, webhooks):
    webhooks.refuse.add("/shop")
    routes = tmp_path / "routes.yaml"
    routes.write_text(f"apiVersion: certscan/v1\nkind: Routes\nroutes:\n  - name: shop\n    match: {{owner: \"shop-*\"}}\n"
                      f"    notify: [\"{webhooks.url('json', '/shop')}\"]\n")
    with pytest.raises(RetryableError, match="notifications"):
        handle(event_for("ACM Certificate Expired", estate["broken"]),
               environ(tmp_path, CERTSCAN_ROUTES=str(routes)), io.StringIO())


def test_throttled_read_is_retried_denied_read_is_not(estate, tmp_path, faults):
    faults.add(lambda call: call.operation == "DescribeCertificate", status=400, code="ThrottlingException")
    with pytest.raises(RetryableError, match="ThrottlingException"):
        handle(event_for("ACM Certificate Expired", estate["healthy"]), environ(tmp_path / "a"), io.StringIO())
    faults.faults.clear()
    faults.add(lambda call: call.operation == "DescribeCertificate", status=403, code="AccessDeniedException")
    out = io.StringIO()
    summary = handle(event_for("ACM Certificate Expired", estate["healthy"]), environ(tmp_path / "b"), out)
    assert summary["exit_code"] == 3 and log_lines(out)[0]["outcome"] == "unreadable"


def test_malformed_event_is_rejected_not_retried(tmp_path):
    out = io.StringIO()
    summary = handle({"source": "aws.acm", "detail-type": "ACM Certificate \x1b[2JWiped"}, environ(tmp_path), out)
    assert "unknown ACM event type" in summary["rejected"] and "\x1b" not in out.getvalue()
    assert log_lines(out)[0]["outcome"] == "rejected"


def test_templates_pass_cfn_lint():
    templates = sorted(str(p) for p in (REPO / "deploy").glob("*.yaml"))
    assert len(templates) == 2
    run = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), *templates], capture_output=True,
                         text=True, timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    template = (REPO / "deploy" / "certscan-events.yaml").read_text()
    assert "Handler: scanner.aws_lambda.handler" in template
    for detail_type in FIXTURES:
        assert f"- {detail_type}" in template


def test_lambda_zip_is_reproducible(tmp_path):
    sys.path.insert(0, str(REPO / "deploy"))
    from lambda_zip import build
    source = tmp_path / "src"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "b.py").write_text("b = 1\n")
    (source / "a.py").write_text("a = 1\n")
    build(source, tmp_path / "one.zip")
    (source / "a.py").touch()  # a newer mtime changes nothing
    build(source, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_weekly_schedule_runs_a_full_scan(estate, tmp_path):
    scheduled = {"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
                 "source": "aws.events", "account": "123456789012", "time": "2026-06-01T06:00:00Z",
                 "region": "eu-west-1", "resources": ["arn:aws:events:eu-west-1:123456789012:rule/weekly"],
                 "detail": {}}
    out = io.StringIO()
    summary = handle(scheduled, environ(tmp_path, CERTSCAN_REGIONS="eu-west-1"), out)
    failing = {item["resource"] for item in summary["failing"] if item["rule"] == "DNS-001"}
    assert failing == {estate["broken"]} and summary["summary"]
    assert log_lines(out)[0]["detail_type"] == "Scheduled Event"
