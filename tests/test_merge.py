"""certscan merge: shards join into one inventory; overlaps and stale shards are refused."""

import json

from tests.conftest import inventory_doc

ACM = {"source": "aws.acm", "service": "acm", "count": 1, "complete": True}


def shard(tmp_path, name, units, certs, collected_at="2026-06-01T00:00:00Z", errors=(), shard_label=None):
    doc = inventory_doc(certs, errors=errors, collected_at=collected_at,
                        coverage=[{**ACM, "unit": u, "account": u.split("/")[1], "region": u.split("/")[2]} for u in units])
    if shard_label:
        doc["metadata"] = {"shard": shard_label}
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def cert(i, account):
    return {"id": f"arn:aws:acm:eu-west-1:{account}:certificate/{i}", "source": "aws.acm", "account": account,
            "domain": f"h{i}.example.com", "status": "ISSUED", "not_after": "2027-01-01T00:00:00Z", "tags": {"owner": "x"}}


ORG_ERROR = {"source": "aws.org", "code": "TooManyRequestsException", "message": "list accounts throttled"}


def test_merge_keeps_everything_once(cli, tmp_path):
    a = shard(tmp_path, "a.json", ["aws.acm/111111111111/eu-west-1"], [cert(1, "111111111111")], shard_label="1/2",
              errors=[ORG_ERROR])
    b = shard(tmp_path, "b.json", ["aws.acm/222222222222/eu-west-1"], [cert(2, "222222222222")], shard_label="2/2",
              collected_at="2026-06-01T00:20:00Z", errors=[ORG_ERROR])
    out = tmp_path / "merged.json"
    result = cli("merge", a, b, "--output", out)
    assert result.code == 0, result
    merged = json.loads(out.read_text())
    assert len(merged["certificates"]) == 2 and len(merged["coverage"]) == 2
    assert merged["errors"] == [{**ORG_ERROR, "account": None, "region": None, "service": None, "resource": None, "unit": None}]
    assert merged["collected_at"] == "2026-06-01T00:00:00Z"
    assert [s["shard"] for s in merged["metadata"]["merged_from"]] == ["1/2", "2/2"]
    assert cli("scan", "--inventory", out, "--fail-on", "none", "--allow-partial", "--output-dir", tmp_path / "o").code == 0


def test_overlapping_units_are_refused(cli, tmp_path):
    a = shard(tmp_path, "a.json", ["aws.acm/111111111111/eu-west-1"], [cert(1, "111111111111")])
    b = shard(tmp_path, "b.json", ["aws.acm/111111111111/eu-west-1"], [])
    result = cli("merge", a, b, "--output", tmp_path / "m.json")
    assert result.code == 2 and "1 unit also in" in result.err and "aws.acm/111111111111/eu-west-1" in result.err
    assert not (tmp_path / "m.json").exists()


def test_overlapping_certificates_are_refused(cli, tmp_path):
    a = shard(tmp_path, "a.json", ["aws.acm/111111111111/eu-west-1"], [cert(1, "111111111111")])
    b = shard(tmp_path, "b.json", ["aws.acm/111111111111/us-east-1"], [cert(1, "111111111111")])
    result = cli("merge", a, b, "--output", tmp_path / "m.json")
    assert result.code == 2 and "shards overlap" in result.err


def test_shards_collected_too_far_apart_are_refused(cli, tmp_path):
    a = shard(tmp_path, "a.json", ["aws.acm/111111111111/eu-west-1"], [], collected_at="2026-06-01T00:00:00Z")
    b = shard(tmp_path, "b.json", ["aws.acm/222222222222/eu-west-1"], [], collected_at="2026-06-01T07:00:00Z")
    result = cli("merge", a, b, "--output", tmp_path / "m.json")
    assert result.code == 2 and "collected 7 hours apart, more than the allowed 6 hours" in result.err
    assert " 7:00:00 apart" not in result.err
    assert cli("merge", a, b, "--output", tmp_path / "m.json", "--max-skew-hours", "8").code == 0


def test_an_error_every_shard_met_while_listing_is_kept_once(cli, tmp_path):
    listing = {"source": "azure.keyvault", "code": "ServiceUnavailable", "message": "listing failed",
               "account": "sub-1", "service": "arm", "unit": "azure.keyvault/subscription/sub-1"}
    a = shard(tmp_path, "a.json", ["aws.acm/111111111111/eu-west-1"], [], errors=[listing])
    b = shard(tmp_path, "b.json", ["aws.acm/222222222222/eu-west-1"], [], errors=[listing])
    c = shard(tmp_path, "c.json", ["aws.acm/333333333333/eu-west-1"], [])
    assert cli("merge", a, b, c, "--output", tmp_path / "m.json").code == 0
    merged = json.loads((tmp_path / "m.json").read_text())
    assert [(e["code"], e["unit"]) for e in merged["errors"]] == [("ServiceUnavailable", listing["unit"])]
    assert [s["errors"] for s in merged["metadata"]["merged_from"]] == [1, 1, 0]


def test_a_missing_or_repeated_shard_is_refused(cli, tmp_path):
    one = shard(tmp_path, "1.json", ["aws.acm/111111111111/eu-west-1"], [], shard_label="1/3")
    two = shard(tmp_path, "2.json", [], [], shard_label="2/3")  # a shard can hold no unit at all
    three = shard(tmp_path, "3.json", ["aws.acm/333333333333/eu-west-1"], [], shard_label="3/3")
    out = tmp_path / "m.json"
    result = cli("merge", one, three, "--output", out)
    assert result.code == 2 and "shard(s) 2/3 missing" in result.err and not out.exists()
    result = cli("merge", one, two, two, three, "--output", out)
    assert result.code == 2 and "shard 2/3 is given twice" in result.err and not out.exists()
    assert cli("merge", one, two, three, "--output", out).code == 0
    # Shards of another collection (e.g. the vaults, sharded 2 ways) merge alongside; their set is checked too.
    vaults = shard(tmp_path, "v1.json", [], [], shard_label="1/2")
    result = cli("merge", one, two, three, vaults, "--output", tmp_path / "m2.json")
    assert result.code == 2 and "shard(s) 2/2 missing" in result.err


def test_a_large_overlap_is_summarized_in_a_few_lines(cli, tmp_path):
    """Issue 18: merging overlapping shards printed ~100 identical lines."""
    units = [f"aws.acm/{100000000000 + i}/eu-west-1" for i in range(60)]
    certs = [cert(i, str(100000000000 + i)) for i in range(60)]
    paths = [shard(tmp_path, f"s{n}.json", units, certs) for n in range(8)]
    result = cli("merge", *paths, "--output", tmp_path / "m.json")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) <= 10, result.err
    assert "60 units and 60 certificates also in" in result.err and "and 117 more" in result.err
    assert "… and 2 more overlapping pairs" in result.err


def test_skew_is_in_days_and_hours(cli, tmp_path):
    a = shard(tmp_path, "a.json", ["aws.acm/111111111111/eu-west-1"], [], collected_at="2026-06-01T00:00:00.316320Z")
    b = shard(tmp_path, "b.json", ["aws.acm/222222222222/eu-west-1"], [], collected_at="2026-12-07T11:54:00Z")
    result = cli("merge", a, b, "--output", tmp_path / "m.json")
    assert result.code == 2 and "collected 189 days 11 hours apart" in result.err, result
    assert "days, " not in result.err
