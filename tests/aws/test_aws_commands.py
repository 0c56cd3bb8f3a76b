"""The read-only commands: inventory, expiring, dns-check — offline from a saved inventory and
live against moto."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from aws_helpers import LoopbackDns, inventory_of, small_org
from scanner.cli import run
from scanner.collect.aws_dns import normalize_name
from scanner.inputs.inventory_file import load_inventory, save_inventory
from scanner.model import Certificate, CollectionError, Coverage, Inventory, ValidationRecord
from scanner.simulate.aws_landing_zone import Problems, freezegun_clock

AS_OF = datetime(2026, 1, 1, tzinfo=timezone.utc)


def acm(n: int, days: float | None, **extra) -> Certificate:
    base = dict(id=f"arn:aws:acm:eu-west-1:111111111111:certificate/{n}", source="aws.acm", account="111111111111",
                region="eu-west-1", domain=f"app{n}.example.com", sans=[f"app{n}.example.com"], status="ISSUED",
                type="IMPORTED", not_before=AS_OF - timedelta(days=100),
                not_after=None if days is None else AS_OF + timedelta(days=days), in_use=False, tags={"owner": "web"})
    base.update(extra)
    return Certificate(**base)


@pytest.fixture
def saved(tmp_path):
    inventory = Inventory(collected_at=AS_OF, certificates=[
        acm(1, 200),
        acm(2, -3, status="EXPIRED", in_use=True, in_use_by=["arn:listener/1"]),
        acm(3, 12.5),
        acm(4, 31),
        acm(5, 30, tags={"owner": "=HYPERLINK(\"http://evil\")"}),
        acm(6, None, status="PENDING_VALIDATION", validation_method="DNS", validation=[
            ValidationRecord("app6.example.com", "_a.app6.example.com.", "CNAME", "_v.acm-validations.aws.", "missing",
                             detail="Route 53 zone example.com. (Z1) in account 111111111111: no CNAME at this name"),
            ValidationRecord("www.app6.example.com", "_b.www.app6.example.com.", "CNAME", "_w.acm-validations.aws.", "present"),
            ValidationRecord("api.app6.example.com", "_c.api.app6.example.com.", "CNAME", "_x.acm-validations.aws.", "unknown",
                             detail="resolver 10.0.0.2: LifetimeTimeout"),
            ValidationRecord("old.app6.example.com", "_d.old.app6.example.com.", "CNAME", "_y.acm-validations.aws.", "mismatch",
                             detail="Route 53 zone example.com. (Z1): CNAME _z.acm-validations.aws.")]),
        Certificate(id="arn:aws:iam::111111111111:server-certificate/legacy", source="aws.iam", account="111111111111",
                    name="legacy", domain="legacy.example.com", not_after=AS_OF + timedelta(days=5), in_use=None),
    ], coverage=[Coverage(unit="aws.acm/111111111111/eu-west-1", source="aws.acm", service="acm", account="111111111111",
                          region="eu-west-1", count=6),
                 Coverage(unit="aws.iam/111111111111", source="aws.iam", service="iam", account="111111111111", count=1)])
    path = tmp_path / "saved.json"
    save_inventory(inventory, path)
    return path


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "260")  # rich wraps tables at the terminal width


def ids(document: dict) -> list[str]:
    return [c["id"].rsplit("/", 1)[-1] for c in document["certificates"]]


def test_inventory_lists_soonest_expiry_first_and_exports(saved, tmp_path, capsys):
    out_json, out_csv = tmp_path / "out" / "inv.json", tmp_path / "out" / "inv.csv"
    assert run(["inventory", "--inventory", str(saved), "--as-of", "2026-01-01", "--export-json", str(out_json),
                "--export-csv", str(out_csv)]) == 0
    document = inventory_of(out_json)
    assert ids(document) == ["2", "legacy", "3", "5", "4", "1", "6"]  # unknown expiry last
    assert [(c["days_to_expiry"], c["expiry_bucket"]) for c in document["certificates"]] == [
        (-3, "EXPIRED"), (5, "CRITICAL_7D"), (12, "WARNING_30D"), (30, "WARNING_30D"), (31, "ATTENTION_90D"),
        (200, "VALID"), (None, None)]
    assert document["metadata"]["view"] == {"command": "inventory", "status": [], "in_use_only": False,
                                            "as_of": "2026-01-01T00:00:00Z"}
    assert len(document["coverage"]) == 2
    assert len(load_inventory(out_json).certificates) == 7  # schema-valid, accepted back by --inventory

    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if "arn:aws" in line]
    assert [row.split("│")[1].strip() for row in rows] == ["EXPIRED", "CRITICAL_7D", "WARNING_30D", "WARNING_30D", "ATTENTION_90D",
                                                "VALID", "UNKNOWN"]

    with out_csv.open(newline="") as handle:
        records = list(csv.DictReader(handle))
    assert [r["id"].rsplit("/", 1)[-1] for r in records] == ids(document)
    five = next(r for r in records if r["id"].endswith("/5"))
    assert five["tags"] == 'owner==HYPERLINK("http://evil")'  # starts with "owner": not a formula, left alone
    assert records[0]["days_to_expiry"] == "-3" and records[0]["in_use_by"] == "arn:listener/1"
    assert not list((tmp_path / "out").glob(".*.tmp"))  # atomic writes leave no temporary files


def test_a_cell_that_would_be_a_formula_is_neutralized(tmp_path):
    inventory = Inventory(collected_at=AS_OF, certificates=[acm(1, 10, domain="=cmd|' /C calc'!A0", tags={})])
    path = tmp_path / "i.json"
    save_inventory(inventory, path)
    assert run(["inventory", "--inventory", str(path), "--export-csv", str(tmp_path / "x.csv"), "--as-of", "2026-01-01"]) == 0
    [record] = list(csv.DictReader((tmp_path / "x.csv").open(newline="")))
    assert record["domain"] == "'=cmd|' /C calc'!A0"


def test_status_and_in_use_filters(saved, tmp_path):
    out = tmp_path / "f.json"
    assert run(["inventory", "--inventory", str(saved), "--as-of", "2026-01-01", "--status", "expired,pending_validation",
                "--export-json", str(out)]) == 0
    assert ids(inventory_of(out)) == ["2", "6"]
    assert run(["inventory", "--inventory", str(saved), "--as-of", "2026-01-01", "--in-use-only", "--export-json", str(out)]) == 0
    assert ids(inventory_of(out)) == ["2"]  # unknown in-use (the IAM one) is not "in use"


def test_expiring_includes_the_already_expired(saved, tmp_path):
    out = tmp_path / "e.json"
    assert run(["expiring", "--inventory", str(saved), "--as-of", "2026-01-01", "--days", "30", "--export-json", str(out)]) == 0
    assert ids(inventory_of(out)) == ["2", "legacy", "3", "5"]
    assert run(["expiring", "--inventory", str(saved), "--as-of", "2026-01-01", "--days", "0", "--export-json", str(out)]) == 0
    assert ids(inventory_of(out)) == ["2"]


def test_dns_check_tells_what_to_do(saved, capsys):
    assert run(["dns-check", "--inventory", str(saved)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "app6.example.com" in line]
    statuses = [next(s for s in ("missing", "mismatch", "unknown", "present") if f" {s} " in line) for line in lines]
    assert statuses == ["missing", "mismatch", "unknown", "present"]  # the ones to fix first
    assert "create _a.app6.example.com. CNAME _v.acm-validations.aws." in lines[0]
    assert "replace the record at _d.old.app6.example.com. with CNAME _y.acm-validations.aws." in lines[1]
    assert "check by hand: resolver 10.0.0.2: LifetimeTimeout" in lines[2]
    assert lines[3].rstrip().endswith("none")


def test_an_incomplete_inventory_exits_3_unless_allowed(saved, tmp_path, capsys):
    inventory = load_inventory(saved)
    inventory.errors.append(CollectionError(source="aws.acm", code="AccessDeniedException", message="denied",
                                            account="222222222222", region="us-east-1", service="acm",
                                            unit="aws.acm/222222222222/us-east-1"))
    partial = tmp_path / "partial.json"
    save_inventory(inventory, partial)
    for command in (["inventory"], ["expiring", "--days", "7"], ["dns-check"]):
        assert run([*command, "--inventory", str(partial)]) == 3
        assert "AccessDeniedException" in capsys.readouterr().err
        assert run([*command, "--inventory", str(partial), "--allow-partial"]) == 0


@pytest.mark.parametrize("args, expected", [
    (["expiring", "--days", "-1"], "--days"),
    (["expiring"], "--days"),
    (["inventory", "--as-of", "2026-01-01T00:00:00"], "--as-of"),
    (["inventory", "--inventory", "nope.json"], "nope.json"),
    (["inventory", "--inventory", "SAVED", "--aws"], "--inventory"),
    (["dns-check"], "nothing to scan"),
])
def test_bad_input_is_exit_2(saved, capsys, args, expected):
    args = [str(saved) if a == "SAVED" else a for a in args]
    assert run(args) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_live_against_moto(moto, tmp_path, capsys):
    lz = small_org(accounts=2, problems=Problems(expired_in_use=1, iam_expired=1, wildcard=0, untagged=0), amazon_issued=1,
                   backdate=freezegun_clock)
    live = ["--aws", "--all-accounts", "--management-profile", "mgmt", "--regions", "us-east-1,eu-west-1", "--quiet"]
    out = tmp_path / "exp.json"
    assert run(["expiring", *live, "--days", "30", "--export-json", str(out)]) == 0
    assert {c["id"] for c in inventory_of(out)["certificates"]} == lz.ids(problem="expired")
    assert run(["dns-check", *live]) == 0
    table = capsys.readouterr().out
    [bad] = lz.ids(problem="dns_missing")
    planted = next(c for c in lz.certificates if c.arn == bad)
    assert any(planted.domain in line and " missing " in line and "create _" in line for line in table.splitlines())
    assert any(" present " in line and line.rstrip().endswith("none") for line in table.splitlines())


def test_live_needs_the_clock_for_expired_amazon_certificates(moto):
    with pytest.raises(ValueError, match="backdate"):
        small_org(accounts=1, problems=Problems(expired_in_use=1, iam_expired=0, wildcard=0, untagged=0))


def test_dns_check_asks_the_given_resolver_for_names_outside_route_53(moto, capsys):
    acm_client = boto3.client("acm", region_name="us-east-1")
    arn = acm_client.request_certificate(DomainName="www.outside.test", ValidationMethod="DNS")["CertificateArn"]
    [option] = acm_client.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
    record = option["ResourceRecord"]
    server = LoopbackDns({record["Name"]: record["Value"]})
    try:
        assert run(["dns-check", "--aws", "--regions", "us-east-1", "--dns-resolver", server.address, "--quiet"]) == 0
    finally:
        server.stop()
    [line] = [line for line in capsys.readouterr().out.splitlines() if "www.outside.test" in line]
    assert " present " in line and line.rstrip().endswith("none")
    assert [normalize_name(q) for q in server.queries] == [normalize_name(record["Name"])]
