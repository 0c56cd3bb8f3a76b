"""certscan notify (issue 17): routed notifications through Apprise to real loopback receivers.

A loopback HTTP server takes Apprise's json:// and form:// webhooks, aiosmtpd takes mailto://;
each recipient must get exactly its certificates, each once, and nobody else's. One webhook
answers 500: it is reported, the others are still delivered, and the exit code is 4. A token
in a webhook URL never reaches an output, a log or an error message."""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.notify_support import (AS_OF, Webhooks, bodies_to, cert, certscan, resources_in, serve_webhooks,
                                  write_inventory)
from tests.outputs.test_outputs_triage import Mailbox, free_port

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
pytest.importorskip("apprise")

PAY_TOKEN = "payTOKEN-7f3a9c1e-never-printed"
REFUSE_TOKEN = "refuseTOKEN-51b2d8-never-printed"
ENV = {"PAY_TOKEN": PAY_TOKEN, "REFUSE_TOKEN": REFUSE_TOKEN}
FP = "ab" * 32  # one certificate imported into two accounts: one entry for its owner
HOSTILE_DOMAIN = "evil.example.com\x1b[31m\nresource: arn:aws:acm:eu-west-1:999:certificate/victim"

ESTATE = [
    cert("pay-1", owner="payments-team", days=-3, domain="pay.example.com", wildcard=True, fingerprint=FP),
    cert("pay-1b", owner="payments-team", days=-3, domain="pay.example.com", wildcard=True, fingerprint=FP,
         account="222222222222"),
    cert("pay-2", owner="payments-team", days=20, domain="checkout.example.com", wildcard=True),
    cert("pay-3", owner="payments-team", days=25, domain=HOSTILE_DOMAIN),
    cert("web-1", owner="web-team", days=5, domain="www.example.com"),
    cert("web-2", owner="web-team", days=200, domain="static.example.com", wildcard=True),
    cert("orphan-1", owner=None, days=10, domain="old.example.com"),
    cert("fine-1", owner="payments-team", days=300, domain="ok.example.com"),
]


def rid(cid: str, account: str = "111111111111") -> str:
    return f"arn:aws:acm:eu-west-1:{account}:certificate/{cid}"


WAIVERS = """\
apiVersion: certscan/v1
kind: Waivers
waivers:
  - {id: W-1, rule: WILDCARD-001, resource: "*:certificate/pay-2", approved_by: ciso@example.com,
     justification: "Checkout wildcard approved until the split, SEC-1", expires: 2026-12-31}
"""

def routes_text(hooks: Webhooks, smtp_port: int) -> str:
    return textwrap.dedent(f"""\
        apiVersion: certscan/v1
        kind: Routes
        email:
          url: "mailto://127.0.0.1:{smtp_port}?from=certscan@example.com&mode=insecure"
        routes:
          - name: payments
            match: {{owner: "Payments-*"}}
            notify: ["{hooks.url('json', '/payments')}?-token=${{PAY_TOKEN}}"]
            escalate_to:
              EXPIRED: ["{hooks.url('form', '/cto')}"]
          - name: web
            match: {{owner: web-team}}
            notify: ["{hooks.url('form', '/web')}"]
            escalate_to:
              CRITICAL_7D: ["{hooks.url('json', '/security-lead')}"]
          - name: web-wildcards
            match: {{owner: web-team, rule: "WILDCARD-*"}}
            notify: ["{hooks.url('json', '/refuse')}?-token=${{REFUSE_TOKEN}}"]
        default:
          notify: [secops@example.com]
        """)


@dataclass
class Setup:
    folder: Path
    results: Path
    routes: Path
    hooks: Webhooks
    mailbox: Mailbox
    scan_text: str


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notify")
    server, thread, hooks = serve_webhooks()
    hooks.refuse.add("/refuse")
    mailbox = Mailbox()
    smtp_port = free_port()
    controller = aiosmtpd_controller.Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        inventory = write_inventory(folder / "inventory.json", ESTATE)
        (folder / "waivers.yaml").write_text(WAIVERS)
        routes = folder / "routes.yaml"
        routes.write_text(routes_text(hooks, smtp_port))
        scan = certscan("scan", "--inventory", inventory, "--as-of", AS_OF, "--output-dir", folder / "out",
                        "--fail-on", "none", "--waivers", folder / "waivers.yaml", cwd=folder)
        assert scan.code == 0, scan
        yield Setup(folder, folder / "out" / "certscan-results.json", routes, hooks, mailbox, scan.text)
    finally:
        controller.stop()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def sent(setup):
    """One real delivery: every test below reads what arrived."""
    run = certscan("notify", "--results", setup.results, "--routes", setup.routes, env=ENV, cwd=setup.folder)
    return run


def bodies(hooks: Webhooks, path: str) -> list[str]:
    return [r.fields()["message"] for r in hooks.at(path)]


def test_each_recipient_gets_exactly_its_certificates_once(setup, sent):
    expected = {
        "/payments": {rid("pay-1"), rid("pay-1b", "222222222222"), rid("pay-2"), rid("pay-3")},
        "/cto": {rid("pay-1"), rid("pay-1b", "222222222222")},  # escalation: EXPIRED only
        "/web": {rid("web-1"), rid("web-2")},
        "/security-lead": {rid("web-1")},  # escalation: CRITICAL_7D only
    }
    for path, resources in expected.items():
        messages = bodies(setup.hooks, path)
        assert len(messages) == 1, (path, messages)
        listed = resources_in(messages[0])
        assert sorted(listed) == sorted(resources), (path, messages[0])  # each once, nobody else's
    mail = bodies_to(setup.mailbox, "secops@example.com")
    assert len(mail) == 1
    assert resources_in(mail[0]) == [rid("orphan-1")]
    assert setup.mailbox.envelopes[0][0] == "certscan@example.com"
    assert rid("fine-1") not in json.dumps([r.body.decode() for r in setup.hooks.received]) + mail[0]


def test_json_and_form_webhooks_carry_title_and_text(setup, sent):
    (payments,) = setup.hooks.at("/payments")
    (web,) = setup.hooks.at("/web")
    assert payments.content_type.startswith("application/json")
    assert web.content_type.startswith("application/x-www-form-urlencoded")
    assert payments.fields()["title"].startswith("[certscan] 3 certificate(s) need action (worst: EXPIRED)")
    assert web.fields()["title"].startswith("[certscan] 2 certificate(s)")


def test_one_entry_per_certificate_with_every_reason_worst_bucket_first(setup, sent):
    (text,) = bodies(setup.hooks, "/payments")
    entries = [line for line in text.splitlines() if line.startswith("* ")]
    # pay-1 and pay-1b share a fingerprint and an owner: one entry listing both resources
    assert len(entries) == 3, text
    assert entries[0].startswith("* pay.example.com: expired 3 days ago")
    first = text.split("\n* ")[1]
    for rule in ("ACM-003", "EXP-001", "WILDCARD-001"):  # three failing rules, one entry, three reasons
        assert f"  - {rule} [" in first
    assert "fix: " in first and "controls: " in first and "pci-dss-4.0" in first
    buckets = re.findall(r"^== (\w+) \(", text, re.MULTILINE)
    assert buckets == ["EXPIRED", "WARNING_30D"]
    # the waiver in force on pay-2 is shown on its entry, and WILDCARD-001 is not a reason there
    checkout = next(part for part in text.split("\n* ") if part.startswith("checkout.example.com"))
    assert "waived: WILDCARD-001 by W-1 (approved by ciso@example.com, until 2026-12-31T00:00:00Z)" in checkout
    assert "  - WILDCARD-001 [" not in checkout
    assert "expires in 20 days" in checkout


def test_hostile_certificate_text_cannot_forge_lines_or_escapes(setup, sent):
    (text,) = bodies(setup.hooks, "/payments")
    assert "\x1b" not in text
    assert "certificate/victim" not in "\n".join(resources_in(text))
    assert "evil.example.com\\x1b[31m\\x0aresource: arn" in text


def test_refusing_destination_is_reported_others_delivered_exit_4(setup, sent):
    assert sent.code == 4, sent
    assert len(setup.hooks.at("/refuse")) >= 1  # it was tried
    failures = [line for line in sent.err.splitlines() if line.startswith("not delivered:")]
    assert len(failures) == 1, sent.err
    assert "route web-wildcards" in failures[0] and "/refuse?-token=***" in failures[0]
    assert "500" in failures[0]  # the provider's answer
    assert "5 of 6 message(s) delivered" in sent.err
    assert "sent to json://" in sent.out and "/refuse" not in sent.out  # stdout lists what was delivered


def test_tokens_never_printed_or_written(setup, sent):
    dry = certscan("notify", "--results", setup.results, "--routes", setup.routes, "--dry-run", env=ENV,
                   cwd=setup.folder)
    for text in (sent.text, dry.text, setup.scan_text):
        assert PAY_TOKEN not in text and REFUSE_TOKEN not in text
    for path in setup.folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PAY_TOKEN.encode() not in data and REFUSE_TOKEN.encode() not in data, path
    # the token did reach its own destination, and only there
    (payments,) = setup.hooks.at("/payments")
    assert payments.path.endswith(f"token={PAY_TOKEN}")


def test_dry_run_sends_nothing_and_says_who_gets_what(setup, sent, tmp_path):
    before = len(setup.hooks.received), len(setup.mailbox.messages)
    run = certscan("notify", "--results", setup.results, "--routes", setup.routes, "--dry-run", env=ENV,
                   cwd=setup.folder, columns=80)
    assert run.code == 0, run
    assert (len(setup.hooks.received), len(setup.mailbox.messages)) == before
    assert "would send to json://127.0.0.1:" in run.out and "/payments?-token=*** (route payments): 3 certificate(s)" in run.out
    assert "to=secops@example.com (route default): 1 certificate(s)" in run.out
    assert rid("orphan-1") in run.out
    assert "\x1b" not in run.out and "evil.example.com\\x1b[31m\\x0aresource" in run.out  # hostile text escaped
    # a dry run works without the secrets: the variables are named as unset, nothing is sent
    unset = certscan("notify", "--results", setup.results, "--routes", setup.routes, "--dry-run", cwd=setup.folder)
    assert unset.code == 0, unset
    assert "not set: PAY_TOKEN" in unset.out


def test_a_real_send_without_the_secret_is_exit_2_before_sending(setup, sent):
    before = len(setup.hooks.received)
    run = certscan("notify", "--results", setup.results, "--routes", setup.routes, cwd=setup.folder)
    assert run.code == 2, run
    assert "PAY_TOKEN" in run.err and "routes.yaml:" in run.err and "Traceback" not in run.err
    assert len(setup.hooks.received) == before


def test_scan_notify_keeps_outputs_and_exits_4_on_a_failed_delivery(setup, tmp_path):
    inventory = write_inventory(tmp_path / "inventory.json", ESTATE)
    out = tmp_path / "out"
    run = certscan("scan", "--inventory", inventory, "--as-of", AS_OF, "--output-dir", out, "--fail-on", "none",
                   "--format", "json,markdown", "--notify", setup.routes, env=ENV, cwd=tmp_path)
    assert run.code == 4, run
    assert (out / "certscan-results.json").is_file() and (out / "certscan-report.md").is_file()
    assert "route web-wildcards" in run.err and REFUSE_TOKEN not in run.text
    # the gate's own verdict wins over a delivery failure
    gated = certscan("scan", "--inventory", inventory, "--as-of", AS_OF, "--output-dir", tmp_path / "gated",
                     "--fail-on", "high", "--notify", setup.routes, env=ENV, cwd=tmp_path)
    assert gated.code == 1, gated


def test_bad_routes_every_problem_at_once_exit_2(tmp_path, setup):
    bad = tmp_path / "routes.yaml"
    bad.write_text(textwrap.dedent("""\
        apiVersion: certscan/v1
        kind: Routes
        routes:
          - name: a
            match: {owner: team-a, colour: blue}
            notify: ["slack://T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX/#certs"]
          - name: b
            match: {rule: ACM-*}
            escalate_to: {SOON: [x@example.com]}
        """))
    run = certscan("notify", "--results", setup.results, "--routes", bad, cwd=tmp_path)
    assert run.code == 2, run
    assert "Traceback" not in run.err
    assert re.search(r"routes\.yaml:5: routes\[0\]\.match: unknown key .colour.", run.err), run.err
    assert re.search(r"routes\.yaml:9: routes\[1\]\.escalate_to: unknown key .SOON.", run.err), run.err
    # once the structure is right, literal credentials are refused without being echoed
    bad.write_text(textwrap.dedent("""\
        apiVersion: certscan/v1
        kind: Routes
        email: {url: "mailtos://certscan:hunter2-LITERAL@smtp.example.com"}
        routes:
          - name: a
            match: {owner: team-a}
            notify:
              - "slack://T0000/B0000/XXXXXXXXXXXXXXXXLITERAL/#certs"
              - "json://hooks.example.com/x?apikey=LITERALKEY123"
              - "not a destination"
              - someone@example.com
        """))
    run = certscan("notify", "--results", setup.results, "--routes", bad, cwd=tmp_path)
    assert run.code == 2, run
    assert "LITERAL" not in run.err and "hunter2" not in run.err
    assert re.search(r"routes\.yaml:3: email\.url: a password is written in the URL", run.err), run.err
    assert re.search(r"routes\.yaml:8: routes\[0\]\.notify\[0\]: a slack:// URL carries its tokens", run.err), run.err
    assert re.search(r"routes\.yaml:9: routes\[0\]\.notify\[1\]: query parameter 'apikey'", run.err), run.err
    assert re.search(r"routes\.yaml:10: routes\[0\]\.notify\[2\]: .*neither an Apprise URL", run.err), run.err
    assert re.search(r"routes\.yaml:11: routes\[0\]\.notify\[3\]: a plain e-mail address needs", run.err), run.err


def test_owner_is_read_from_the_tag_keys_tag001_reads(tmp_path, setup):
    """Routes match the owner named by TAG-001's configured keys first (then owner, team, contact)."""
    inventory = write_inventory(tmp_path / "inventory.json", [
        cert("k-1", owner=None, days=5, domain="k.example.com", tags={"Squad": "blue-squad", "owner": "someone-else"}),
    ])
    routes = tmp_path / "routes.yaml"
    routes.write_text(textwrap.dedent("""\
        apiVersion: certscan/v1
        kind: Routes
        routes:
          - {name: blue, match: {owner: "blue-*"}, notify: ["json://127.0.0.1:9/blue"]}
        default: {notify: ["json://127.0.0.1:9/default"]}
        """))
    out = tmp_path / "out"
    scanned = certscan("scan", "--inventory", inventory, "--as-of", AS_OF, "--output-dir", out, "--fail-on", "none",
                       "--param", "TAG-001.keys=[squad, owner]", cwd=tmp_path)
    assert scanned.code == 0, scanned
    run = certscan("notify", "--results", out / "certscan-results.json", "--routes", routes, "--dry-run", cwd=tmp_path)
    assert "would send to json://127.0.0.1:9/blue (route blue): 1 certificate(s)" in run.out, run
    assert "/default" not in run.out


def test_triage_notify_after_its_reports(setup, tmp_path):
    inventory = write_inventory(tmp_path / "inventory.json", ESTATE)
    before = len(setup.hooks.at("/web"))
    run = certscan("triage", "--inventory", inventory, "--as-of", AS_OF, "--output-dir", tmp_path / "out",
                   "--notify", setup.routes, env=ENV, cwd=tmp_path)
    assert run.code == 4, run  # the refusing destination; triage itself passed
    assert (tmp_path / "out" / "certscan-report.md").is_file()
    assert len(setup.hooks.at("/web")) == before + 1
    assert "not delivered: route web-wildcards" in run.err and REFUSE_TOKEN not in run.text


def listed(dry_run_text: str) -> set[str]:
    return set(re.findall(r"arn:aws:acm:\S+:certificate/[\w-]+", dry_run_text))


def test_against_a_baseline_only_new_and_worsened_findings_are_sent(setup, tmp_path):
    """--baseline: the owners heard of the rest last time; --digest sends everything again."""
    last_week = write_inventory(tmp_path / "last-week.json", [c for c in ESTATE if c["id"] != rid("web-1")])
    old = certscan("scan", "--inventory", last_week, "--as-of", AS_OF, "--output-dir", tmp_path / "old",
                   "--fail-on", "none", "--waivers", setup.folder / "waivers.yaml", cwd=setup.folder)
    assert old.code == 0, old
    baseline = tmp_path / "old" / "certscan-results.json"

    run = certscan("notify", "--results", setup.results, "--routes", setup.routes, "--dry-run",
                   "--baseline", baseline, env=ENV, cwd=setup.folder)
    assert run.code == 0, run
    assert listed(run.text) == {rid("web-1")}  # the one certificate that is new this week
    assert "would send to" in run.text and "/payments" not in run.text

    everything = certscan("notify", "--results", setup.results, "--routes", setup.routes, "--dry-run",
                          "--baseline", baseline, "--digest", env=ENV, cwd=setup.folder)
    assert everything.code == 0, everything
    assert {rid("pay-1"), rid("web-1")} <= listed(everything.text)

    same = certscan("notify", "--results", setup.results, "--routes", setup.routes, "--dry-run",
                    "--baseline", setup.results, env=ENV, cwd=setup.folder)
    assert same.code == 0 and "no findings to send" in same.text
