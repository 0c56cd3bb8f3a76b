"""The demo estate (issue 17's "done when"): routes for three owners plus a default; each
owner's destination receives exactly its findings, and escalation reaches the escalate_to
destinations for EXPIRED and CRITICAL_7D. Expected recipients are worked out here from the
results file, independently of certscan's routing code."""

from __future__ import annotations

import json
import textwrap
from collections import defaultdict

import pytest

from scanner.report.results_json import read as read_results
from tests.notify_support import REPO, certscan, resources_in, serve_webhooks

pytest.importorskip("apprise")

DEMO = REPO / "examples" / "demo-inventory.json"
OWNERS = {"payments-team": "/payments", "team-a01": "/team-a01", "team-a02": "/team-a02"}


def test_demo_estate_routes_and_escalation(tmp_path):
    as_of = json.loads(DEMO.read_text())["collected_at"]
    out = tmp_path / "out"
    scan = certscan("scan", "--inventory", DEMO, "--as-of", as_of, "--output-dir", out, "--fail-on", "none",
                    cwd=REPO)
    assert scan.code == 0, scan
    report = read_results(out / "certscan-results.json")

    expected: dict[str, set[str]] = defaultdict(set)
    for result in report.results:
        if result.status != "fail":
            continue
        owner, bucket = result.context.get("owner"), result.context.get("expiry_bucket")
        path = OWNERS.get(owner, "/default")
        expected[path].add(result.resource_id)
        if path == "/team-a01" and bucket == "EXPIRED":
            expected["/team-a01-ic"].add(result.resource_id)
        if path == "/default" and bucket == "EXPIRED":
            expected["/incident-commander"].add(result.resource_id)
        if path == "/default" and bucket == "CRITICAL_7D":
            expected["/security-lead"].add(result.resource_id)
    # the estate gives every destination something, escalation included
    assert all(expected[p] for p in [*OWNERS.values(), "/default", "/incident-commander", "/security-lead",
                                     "/team-a01-ic"]), {k: len(v) for k, v in expected.items()}

    server, thread, hooks = serve_webhooks()
    try:
        routes = tmp_path / "routes.yaml"
        routes.write_text(textwrap.dedent(f"""\
            apiVersion: certscan/v1
            kind: Routes
            routes:
              - name: payments
                match: {{owner: payments-team}}
                notify: ["{hooks.url('json', '/payments')}"]
              - name: team-a01
                match: {{owner: team-a01}}
                notify: ["{hooks.url('form', '/team-a01')}"]
                escalate_to: {{EXPIRED: ["{hooks.url('json', '/team-a01-ic')}"]}}
              - name: team-a02
                match: {{owner: "TEAM-A02"}}
                notify: ["{hooks.url('json', '/team-a02')}"]
            default:
              notify: ["{hooks.url('json', '/default')}"]
              escalate_to:
                EXPIRED: ["{hooks.url('json', '/incident-commander')}"]
                CRITICAL_7D: ["{hooks.url('form', '/security-lead')}"]
            """))
        run = certscan("notify", "--results", out / "certscan-results.json", "--routes", routes, cwd=tmp_path)
        assert run.code == 0, run
        for path, resources in expected.items():
            received = hooks.at(path)
            assert len(received) == 1, path
            listed = resources_in(received[0].fields()["message"])
            assert len(listed) == len(set(listed)), path  # each certificate once
            assert set(listed) == resources, path  # exactly its own
        assert {r.path for r in hooks.received} == set(expected)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
