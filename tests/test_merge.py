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
    assert result.code == 2 and "aws.acm/111111111111/eu-west-1 is also in" in result.err
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
    assert result.code == 2 and "7:00:00 apart" in result.err
    assert cli("merge", a, b, "--output", tmp_path / "m.json", "--max-skew-hours", "8").code == 0
