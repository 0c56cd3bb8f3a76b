"""certscan event: ACM's EventBridge events (documented shapes, direct and in SQS / SNS
deliveries) answered against moto, in-process for the use case and through the installed
command against moto_server for the end-to-end renewal case."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timezone

import boto3
import pytest

from event_support import DOCUMENTED_ARN, FIXTURES, dns_certificate, event_for, in_sqs, webhooks, wrappings, zone  # noqa: F401
from scanner.inputs.acm_event import read_text
from scanner.inputs.problems import InputError
from scanner.report import results_json
from scanner.usecases.event import EventSources, run_event
from scanner.usecases.scan import ScanSettings

AS_OF = datetime(2026, 6, 1, tzinfo=timezone.utc)
SOME_ARN = DOCUMENTED_ARN.replace("CERTIFICATE_ID", "0b9d8d4e-1111-4c3c-9a59-6f1b5d7e2a10")


def settings(tmp_path, **extra) -> ScanSettings:
    return ScanSettings(output_dir=tmp_path / "out", formats=["json"], as_of=AS_OF, fail_on="none", **extra)


@pytest.mark.parametrize("detail_type", sorted(FIXTURES))
def test_each_documented_event_direct_and_wrapped_names_its_certificate(detail_type):
    arn = SOME_ARN
    for how, delivery in wrappings(event_for(detail_type, arn)).items():
        [event] = read_text(json.dumps(delivery), f"{how}.json")
        assert (event.detail_type, event.certificate_arn, event.account, event.region) == \
               (detail_type, arn, "123456789012", "eu-west-1"), how
        assert event.id.startswith("9c95e8e4") and event.time.tzinfo is not None


@pytest.mark.parametrize(("change", "path", "words"), [
    (lambda e: e.update({"detail-type": "ACM Certificate Exploded"}), "detail-type", "unknown ACM event type"),
    (lambda e: e.pop("account"), "account", "missing"),
    (lambda e: e.update(account="12345"), "account", "12-digit"),
    (lambda e: e.update(resources=["arn:aws:acm:eu-west-1:123456789012:certificate/x", "y"]), "resources", "one"),
    (lambda e: e.update(resources=["arn:aws:acm:us-east-1:123456789012:certificate/x"]), "resources[0]", "region"),
    (lambda e: e.update(time="yesterday"), "time", "ISO 8601"),
    (lambda e: e.update(source="aws.ec2"), "source", "aws.acm"),
    (lambda e: e.update(detail="x"), "detail", "object"),
])
def test_malformed_event_names_the_json_path(change, path, words):
    event = event_for("ACM Certificate Expired", SOME_ARN)
    change(event)
    with pytest.raises(InputError) as direct:
        read_text(json.dumps(event), "e.json")
    assert direct.value.problems[0].path == path and words in direct.value.problems[0].message
    with pytest.raises(InputError) as wrapped:
        read_text(json.dumps(in_sqs({"ok": 1}, event)), "e.json")
    problem = wrapped.value.problems[0]
    assert problem.path.startswith("Records[0].body"), problem  # the first bad record is named


def test_hostile_inputs_are_refused_not_crashed():
    for text, words in [("[]", "no ACM event"), ("{\"Records\": 3}", "list of SQS"), ("NaN", "NaN"),
                        ("[" * 5000 + "]" * 5000, "invalid JSON"), ("x" * 2_000_000, "bytes"),
                        (json.dumps({"Records": [{"body": "{not json"}]}), "invalid JSON")]:
        with pytest.raises(InputError) as refused:
            read_text(text, "e.json")
        assert words in str(refused.value), (text[:40], str(refused.value))
    many = [event_for("ACM Certificate Expired", SOME_ARN)] * 500
    with pytest.raises(InputError, match="more than 100 events"):
        read_text(json.dumps(many), "e.json")


@pytest.fixture
def estate(moto):
    zone_id = zone()
    return {"healthy": dns_certificate("app.corp.example", zone_id),
            "other": dns_certificate("other.corp.example", zone_id),
            "broken": dns_certificate("shop.corp.example", zone_id, cname=False)}


@pytest.mark.parametrize("detail_type", sorted(FIXTURES))
def test_an_event_run_evaluates_exactly_that_certificate_and_records_the_event(estate, tmp_path, detail_type):
    event = event_for(detail_type, estate["healthy"])
    for how, delivery in wrappings(event).items():
        events = read_text(json.dumps(delivery), how)
        run = run_event(events, EventSources(), settings(tmp_path / how))
        assert run.exit_code == 0, (how, run.report.errors)
        assert {r.resource_id for r in run.report.results} == {estate["healthy"]}, how
        saved = results_json.read(tmp_path / how / "out" / "certscan-results.json")
        assert saved.events == [{"id": event["id"], "detail_type": detail_type, "account": "123456789012",
                                 "region": "eu-west-1", "time": event["time"],
                                 "certificate_arn": estate["healthy"], "outcome": "collected"}], how
        dns = [r for r in run.report.results if r.rule_id == "DNS-001"]
        assert [r.status for r in dns] == ["pass"], how


def test_deleted_certificate_is_reported_as_deleted_not_a_gap(estate, tmp_path):
    boto3.client("acm", region_name="eu-west-1").delete_certificate(CertificateArn=estate["other"])
    run = run_event(read_text(json.dumps(event_for("ACM Certificate Expired", estate["other"])), "e"),
                    EventSources(), settings(tmp_path))
    assert run.report.events[0]["outcome"] == "deleted"
    assert run.report.results == [] and run.exit_code == 0 and not run.gate.incomplete


def test_unreadable_certificate_is_an_incomplete_scan(estate, tmp_path, faults):
    faults.add(lambda call: call.operation == "DescribeCertificate", status=403, code="AccessDeniedException")
    run = run_event(read_text(json.dumps(event_for("ACM Certificate Expired", estate["other"])), "e"),
                    EventSources(), settings(tmp_path))
    assert run.report.events[0]["outcome"] == "unreadable"
    assert run.exit_code == 3 and [e["code"] for e in run.report.errors] == ["AccessDeniedException"]


def test_certificate_of_another_account_is_read_through_the_role(moto, tmp_path):
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="member", Email="m@example.com")["CreateAccountStatus"]["AccountId"]
    creds = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
                                            RoleSessionName="setup")["Credentials"]
    acm = boto3.client("acm", region_name="eu-west-1", aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    arn = acm.request_certificate(DomainName="member.example", ValidationMethod="DNS")["CertificateArn"]
    assert f":{member}:" in arn
    zone("member.example")  # in the caller's account, where the checker also looks; no CNAME in it
    run = run_event(read_text(json.dumps(event_for("ACM Certificate Available", arn)), "e"),
                    EventSources(), settings(tmp_path))
    assert {r.resource_id for r in run.report.results} == {arn} and run.report.events[0]["outcome"] == "collected"
    assert run.report.inventory.certificates[0].account == member


def test_renewal_action_required_with_deleted_cname_fails_dns001_and_tells_the_owner(moto_server, webhooks, tmp_path):
    """End to end as a user runs it: the installed command, moto_server, a loopback webhook."""
    from notify_support import certscan
    zone_id = zone()
    broken = dns_certificate("shop.corp.example", zone_id, owner="Shop-Team", cname=False)
    dns_certificate("app.corp.example", zone_id, owner="Shop-Team")  # healthy, and not in the event
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent(f"""\
        apiVersion: certscan/v1
        kind: Routes
        routes:
          - name: shop
            match: {{owner: "shop-*"}}
            notify: ["{webhooks.url('json', '/shop')}"]
        default:
          notify: ["{webhooks.url('json', '/default')}"]
        """))
    delivery = in_sqs(event_for("ACM Certificate Renewal Action Required", broken))
    (tmp_path / "event.json").write_text(json.dumps(delivery))
    history = tmp_path / "history.sqlite"
    env = {"AWS_ENDPOINT_URL": moto_server.url}
    run = certscan("event", tmp_path / "event.json", "--as-of", "2026-06-01", "--format", "json,markdown",
                   "--output-dir", tmp_path / "out", "--notify", routes, "--history", history, "--fail-on", "high",
                   env=env, cwd=tmp_path, columns=80)
    assert run.code == 1, run.text  # DNS-001 (high) fails the gate
    assert "ACM Certificate Renewal Action Required" in run.err and "Traceback" not in run.text
    report = results_json.read(tmp_path / "out" / "certscan-results.json")
    assert {r.resource_id for r in report.results} == {broken}
    [dns] = [r for r in report.results if r.rule_id == "DNS-001"]
    assert dns.status == "fail" and "missing" in dns.message
    assert report.events[0]["detail_type"] == "ACM Certificate Renewal Action Required"
    sent = webhooks.at("/shop")
    assert len(sent) == 1 and "shop.corp.example" in sent[0].body.decode() and "DNS-001" in sent[0].body.decode()
    assert webhooks.at("/default") == []
    assert history.exists()
    # the same delivery on stdin
    import subprocess
    from notify_support import CERTSCAN
    import os
    piped = subprocess.run([CERTSCAN, "event", "-", "--as-of", "2026-06-01", "--output-dir", str(tmp_path / "o2"),
                            "--fail-on", "none"], input=json.dumps(delivery), capture_output=True, text=True,
                           env={**os.environ, **env, "COLUMNS": "120"}, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert {r.resource_id for r in results_json.read(tmp_path / "o2" / "certscan-results.json").results} == {broken}


def test_bad_event_file_is_exit_2_with_its_path(tmp_path):
    from notify_support import certscan
    event = event_for("ACM Certificate Expired", SOME_ARN)
    event["detail-type"] = "ACM Certificate \x1b[31mExploded"
    (tmp_path / "bad.json").write_text(json.dumps(in_sqs(event)))
    run = certscan("event", tmp_path / "bad.json", cwd=tmp_path)
    assert run.code == 2 and "Traceback" not in run.text
    assert "bad.json: Records[0].body.detail-type: unknown ACM event type" in run.err, run.err
    assert "\x1b" not in run.err
