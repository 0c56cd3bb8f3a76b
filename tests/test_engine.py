"""The engine evaluates certificates in groups (chunks, and per rule all of a chunk's
certificates at once). A certificate's results must not depend on its neighbours."""

import gc
from datetime import datetime, timedelta, timezone

import pytest

from scanner.inputs.inventory_file import load_inventory
from scanner.model import Certificate, ValidationRecord
from scanner.rules import engine
from scanner.packs.loader import load_rules
from tests.conftest import LANDING_ZONE

AS_OF = datetime(2026, 6, 1, tzinfo=timezone.utc)


def _certificates():
    certs = list(load_inventory(LANDING_ZONE).certificates)
    certs += [  # unknown values next to known ones: errors stay with their own certificate
        Certificate(id="zz/acm-no-expiry", source="aws.acm", status="ISSUED", type="AMAZON_ISSUED",
                    key_algorithm="RSA", in_use=True),
        Certificate(id="zz/acm-unresolved", source="aws.acm", status="ISSUED", validation_method="DNS",
                    not_after=AS_OF + timedelta(days=3),
                    validation=[ValidationRecord("a.example", "_a.a.example.", dns_status="unknown")]),
        Certificate(id="zz/tls-unknown-size", source="tls", key_algorithm="EC", key_size=None,
                    not_after=AS_OF - timedelta(hours=1), tags={"Owner": ""}),
    ]
    return certs


@pytest.mark.parametrize("chunk", [engine.CHUNK, 5])
def test_each_certificate_gets_the_results_it_gets_alone(monkeypatch, chunk):
    monkeypatch.setattr(engine, "CHUNK", chunk)
    rules = load_rules()
    certs = _certificates()
    together = engine.evaluate(certs, rules, AS_OF)
    alone = sorted((r for cert in certs for r in engine.evaluate([cert], rules, AS_OF)),
                   key=lambda r: (r.rule_id, r.resource_id))
    assert together == alone
    statuses = {r.status for r in together}
    assert statuses == {"pass", "fail", "error", "not_applicable"}  # every path was taken
    assert [(r.rule_id, r.resource_id) for r in together] == sorted((r.rule_id, r.resource_id) for r in together)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was_found(enabled):
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        engine.evaluate(_certificates()[:3], load_rules(), AS_OF)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
