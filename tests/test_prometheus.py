"""--format prometheus and --pushgateway (issue 17): certscan.prom parsed back with
prometheus_client's own parser and checked against the results and the inventory; hostile
label values survive the exposition format; a loopback Pushgateway stand-in receives the push."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import pytest

from scanner.report.results_json import read as read_results
from tests.notify_support import AS_OF, cert, certscan, serve_webhooks, write_inventory

parser = pytest.importorskip("prometheus_client.parser")

HOSTILE_CN = 'evil"} 1\nx509_cert_expired{id="forged"} 0 \\ \x1b[31m'
HOSTILE_DN = "CN=" + HOSTILE_CN.replace("\\", "\\\\") + ",O=Evil"  # RFC 4514: a backslash is written \\
ESTATE = [
    cert("a-1", owner="payments-team", days=-3, domain="pay.example.com", wildcard=True),
    cert("a-2", owner="web-team", days=5, domain="www.example.com"),
    cert("a-3", owner=None, days=200, domain="ok.example.com"),
    cert("a-4", owner="web-team", days=40, domain="hostile.example.com", subject=HOSTILE_DN,
         serial='7"\n'),
]
ERROR = {"source": "aws.acm", "account": "333333333333", "region": "eu-west-1", "service": "acm",
         "code": "AccessDeniedException", "message": "denied"}


def samples(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prom")
    inventory = write_inventory(folder / "inventory.json", ESTATE, errors=[ERROR])
    run = certscan("scan", "--inventory", inventory, "--as-of", AS_OF, "--output-dir", folder / "out",
                   "--format", "json,prometheus", "--fail-on", "none", "--allow-partial", cwd=folder)
    assert run.code == 0, run
    return folder / "out"


def test_prom_file_parses_and_matches_the_results(scanned):
    text = (scanned / "certscan.prom").read_text(encoding="utf-8")
    got = samples(text)
    report = read_results(scanned / "certscan-results.json")
    fails = Counter((r.rule_id, r.severity) for r in report.results if r.status == "fail")
    assert {(s.labels["rule"], s.labels["severity"]): s.value for s in got["certscan_findings"]} == \
        {key: float(n) for key, n in fails.items()}
    statuses = Counter((r.rule_id, r.status) for r in report.results)
    for s in got["certscan_results"]:
        assert s.value == statuses[(s.labels["rule"], s.labels["status"])]
    assert sum(s.value for s in got["certscan_results"]) == len(report.results)
    assert {s.labels["source"]: s.value for s in got["certscan_collection_errors"]} == {"aws.acm": 1.0}
    assert got["certscan_scan_complete"][0].value == 0.0  # a collection error: the scan could not see everything
    as_of = datetime(2026, 6, 1, tzinfo=timezone.utc).timestamp()
    assert got["certscan_last_scan_timestamp_seconds"][0].value == as_of


def test_x509_series_follow_the_exporter_convention(scanned):
    got = samples((scanned / "certscan.prom").read_text(encoding="utf-8"))
    inventory = json.loads((scanned / "certscan-inventory.json").read_text())
    by_id = {c["id"]: c for c in inventory["certificates"]}
    assert len(got["x509_cert_not_after"]) == len(by_id) == 4
    for s in got["x509_cert_not_after"]:
        assert set(s.labels) == {"source", "account", "region", "id", "subject_CN", "issuer_CN", "serial_number"}
        record = by_id[s.labels["id"]]
        assert s.value == datetime.fromisoformat(record["not_after"].replace("Z", "+00:00")).timestamp()
        assert s.labels["issuer_CN"] == "Example Issuing CA"
    expired = {s.labels["id"].rsplit("/", 1)[1]: s.value for s in got["x509_cert_expired"]}
    assert expired == {"a-1": 1.0, "a-2": 0.0, "a-3": 0.0, "a-4": 0.0}
    cns = {s.labels["id"].rsplit("/", 1)[1]: s.labels["subject_CN"] for s in got["x509_cert_not_before"]}
    assert cns["a-2"] == "www.example.com"


def test_hostile_label_values_cannot_break_the_exposition(scanned):
    text = (scanned / "certscan.prom").read_text(encoding="utf-8")
    got = samples(text)  # parses at all: no forged series, no broken line
    forged = [s for s in got["x509_cert_expired"] if s.labels["id"] == "forged"]
    assert forged == []
    hostile = next(s for s in got["x509_cert_not_after"] if s.labels["id"].endswith("/a-4"))
    # quotes and backslashes come back as they were; the newline and other controls are made
    # visible rather than written raw
    assert hostile.labels["subject_CN"] == 'evil"} 1\\x0ax509_cert_expired{id="forged"} 0 \\ \\x1b[31m'
    assert hostile.labels["serial_number"] == '7"\\x0a'
    assert "\x1b" not in text


def test_pushgateway_receives_the_same_registry(tmp_path, scanned):
    server, thread, hooks = serve_webhooks()
    try:
        inventory = write_inventory(tmp_path / "inventory.json", ESTATE)
        gateway = f"http://127.0.0.1:{hooks.port}"
        run = certscan("scan", "--inventory", inventory, "--as-of", AS_OF, "--output-dir", tmp_path / "out",
                       "--fail-on", "none", "--pushgateway", gateway, cwd=tmp_path)
        assert run.code == 0, run
        (push,) = hooks.at("/metrics/job/certscan")
        assert push.method == "PUT"
        pushed = samples(push.body.decode())
        assert len(pushed["x509_cert_not_after"]) == 4
        assert pushed["certscan_scan_complete"][0].value == 1.0
        # a Pushgateway that refuses: reported, outputs kept, exit 4 (the gate passed)
        hooks.refuse.add("/metrics/job/certscan")
        failed = certscan("scan", "--inventory", inventory, "--as-of", AS_OF, "--output-dir", tmp_path / "again",
                          "--fail-on", "none", "--pushgateway", f"http://user:pw-secret@127.0.0.1:{hooks.port}",
                          cwd=tmp_path)
        assert failed.code == 4, failed
        assert "not delivered: Pushgateway http://***@127.0.0.1" in failed.err and "pw-secret" not in failed.text
        assert (tmp_path / "again" / "certscan-results.json").is_file()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_undecodable_file_name_label_is_written_as_visible_text(tmp_path):
    """A file name that is not UTF-8 reaches the inventory as surrogate escapes (os.fsdecode);
    the .prom file must still be UTF-8 text that parses."""
    from scanner.model import Certificate, Inventory, parse_time
    from scanner.report import ScanReport
    from scanner.report.prometheus import write

    name = "/certs/caf\udce9.pem"
    certificate = Certificate(id=name, source="file", subject="CN=caf\udce9", not_after=parse_time("2026-07-01"),
                              not_before=parse_time("2026-01-01"))
    inventory = Inventory(collected_at=parse_time(AS_OF), certificates=[certificate])
    report = ScanReport(scan_id="s", as_of=parse_time(AS_OF), rules=[], packs=[], results=[], coverage=[],
                        errors=[], inventory=inventory)
    (path,) = write(report, tmp_path)
    got = samples(path.read_text(encoding="utf-8"))
    (series,) = got["x509_cert_not_after"]
    assert series.labels["id"] == "/certs/caf\\xe9.pem" and series.labels["subject_CN"] == "caf\\xe9"
    assert got["certscan_scan_complete"][0].value == 1.0
