"""`certscan triage`: inventory + expiring + report in one run, and --email through a real
SMTP server (aiosmtpd) on 127.0.0.1, plain, STARTTLS with AUTH, and implicit TLS."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import socket
import ssl
from dataclasses import dataclass, field

import pytest

from tests.outputs.outputs_support import AS_OF, INVENTORY, PACK, REPO, run_in_repo

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")
aiosmtpd_smtp = pytest.importorskip("aiosmtpd.smtp")
trustme = pytest.importorskip("trustme")

USER = "reports@example.com"
PASSWORD = "s3cret-Pa55word-never-logged"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Mailbox:
    messages: list = field(default_factory=list)
    envelopes: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, aiosmtpd_smtp.LoginPassword) and \
        auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return aiosmtpd_smtp.AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox
    ca_file: str | None = None


@pytest.fixture(scope="module")
def tls_ca(tmp_path_factory):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = tmp_path_factory.mktemp("smtp-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    return ca_file, server_context


def _serve(controller_kwargs: dict, mailbox: Mailbox, ca_file=None):
    port = free_port()
    controller = aiosmtpd_controller.Controller(mailbox, hostname="127.0.0.1", port=port, **controller_kwargs)
    controller.start()
    return controller, SmtpServer("127.0.0.1", port, mailbox, str(ca_file) if ca_file else None)


@pytest.fixture
def plain_smtp():
    mailbox = Mailbox()
    controller, server = _serve({}, mailbox)
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def starttls_smtp(tls_ca):
    ca_file, context = tls_ca
    mailbox = Mailbox()
    controller, server = _serve({"tls_context": context, "require_starttls": True, "auth_required": True,
                                 "auth_require_tls": True, "authenticator": _authenticator}, mailbox, ca_file)
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def implicit_tls_smtp(tls_ca):
    ca_file, context = tls_ca
    mailbox = Mailbox()
    # The socket is TLS from the first byte; aiosmtpd's SMTP layer cannot see that, so it is
    # told not to wait for STARTTLS before offering AUTH.
    controller, server = _serve({"ssl_context": context, "auth_required": True, "auth_require_tls": False,
                                 "authenticator": _authenticator}, mailbox, ca_file)
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def no_smtp_environment(monkeypatch):
    for name in ("HOST", "PORT", "USER", "PASSWORD", "FROM", "TLS", "CA_FILE"):
        monkeypatch.delenv(f"CERTSCAN_SMTP_{name}", raising=False)


def triage_argv(out, *extra: str) -> list[str]:
    return ["triage", "--inventory", str(INVENTORY.relative_to(REPO)), "--rules", str(PACK.relative_to(REPO)),
            "--as-of", AS_OF, "--output-dir", str(out), "--allow-partial", *extra]


def test_triage_writes_inventory_expiring_and_report(tmp_path, capsys):
    out = tmp_path / "out"
    assert run_in_repo(triage_argv(out, "--days", "45", "--mode", "technical")) == 0
    names = {p.name for p in out.iterdir()}
    assert {"certscan-inventory.json", "certscan-results.json", "certscan-expiring.csv", "certscan-report.md",
            "certscan-report.html", "certscan-findings.csv", "certscan-findings.json"} <= names
    rows = list(csv.DictReader(io.StringIO((out / "certscan-expiring.csv").read_text())))
    assert [int(r["days_to_expiry"]) for r in rows] == [-31, -12, 4, 19, 44]  # expired first, then soonest
    assert all(int(r["days_to_expiry"]) <= 45 for r in rows)
    assert "## Findings" in (out / "certscan-report.md").read_text()
    console = capsys.readouterr().out
    assert "risk: CRITICAL" in console and "team-payments" in console


def test_triage_exits_3_on_an_undecided_scan_without_allow_partial(tmp_path):
    argv = triage_argv(tmp_path / "out")
    argv.remove("--allow-partial")
    assert run_in_repo(argv) == 3  # the fixture holds a DNS record that could not be resolved
    assert (tmp_path / "out" / "certscan-report.md").is_file()


def test_triage_email_is_delivered_to_a_loopback_server(plain_smtp, tmp_path):
    out = tmp_path / "out"
    code = run_in_repo(triage_argv(out, "--email", "secops@example.com", "--email", "lead@example.com",
                                   "--smtp-host", plain_smtp.host, "--smtp-port", str(plain_smtp.port),
                                   "--smtp-tls", "none", "--smtp-from", "certscan@example.com"))
    assert code == 0
    (message,) = plain_smtp.mailbox.messages
    assert plain_smtp.mailbox.envelopes == [("certscan@example.com", ["secops@example.com", "lead@example.com"])]
    assert message["Subject"].startswith("[certscan] risk CRITICAL:")
    assert "as of 2026-06-01" in message["Subject"]
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == (out / "certscan-report.md").read_text()
    page = message.get_body(("html",)).get_content()
    assert page.startswith("<!DOCTYPE html>") and "Risk level" in page
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert set(attachments) == {"certscan-findings.csv", "certscan-expiring.csv"}
    assert attachments["certscan-findings.csv"].replace("\r\n", "\n") == (out / "certscan-findings.csv").read_text()


def test_triage_email_over_starttls_with_credentials_from_the_environment(starttls_smtp, tmp_path, monkeypatch,
                                                                          capsys):
    monkeypatch.setenv("CERTSCAN_SMTP_HOST", starttls_smtp.host)
    monkeypatch.setenv("CERTSCAN_SMTP_PORT", str(starttls_smtp.port))
    monkeypatch.setenv("CERTSCAN_SMTP_USER", USER)
    monkeypatch.setenv("CERTSCAN_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("CERTSCAN_SMTP_FROM", USER)
    monkeypatch.setenv("CERTSCAN_SMTP_CA_FILE", starttls_smtp.ca_file)
    out = tmp_path / "out"
    assert run_in_repo(triage_argv(out, "--email", "secops@example.com")) == 0  # TLS defaults to starttls
    (message,) = starttls_smtp.mailbox.messages
    assert message["From"] == USER
    captured = capsys.readouterr()
    assert PASSWORD not in captured.out + captured.err
    for path in out.iterdir():
        assert PASSWORD.encode() not in path.read_bytes(), path.name


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_triage_email_over_implicit_tls(implicit_tls_smtp, tmp_path, monkeypatch):
    monkeypatch.setenv("CERTSCAN_SMTP_PASSWORD", PASSWORD)
    code = run_in_repo(triage_argv(tmp_path / "out", "--email", "secops@example.com",
                                   "--smtp-host", implicit_tls_smtp.host, "--smtp-port", str(implicit_tls_smtp.port),
                                   "--smtp-tls", "tls", "--smtp-user", USER,
                                   "--smtp-ca-file", implicit_tls_smtp.ca_file))
    assert code == 0
    assert len(implicit_tls_smtp.mailbox.messages) == 1


def test_wrong_password_is_exit_2_and_never_printed(starttls_smtp, tmp_path, monkeypatch, capsys):
    wrong = "wr0ng-" + PASSWORD
    monkeypatch.setenv("CERTSCAN_SMTP_PASSWORD", wrong)
    code = run_in_repo(triage_argv(tmp_path / "out", "--email", "secops@example.com",
                                   "--smtp-host", starttls_smtp.host, "--smtp-port", str(starttls_smtp.port),
                                   "--smtp-user", USER, "--smtp-ca-file", starttls_smtp.ca_file))
    captured = capsys.readouterr()
    assert code == 2
    assert "refused the credentials" in captured.err and f"127.0.0.1:{starttls_smtp.port}" in captured.err
    assert wrong not in captured.out + captured.err
    assert not starttls_smtp.mailbox.messages


def test_untrusted_server_certificate_is_refused(starttls_smtp, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CERTSCAN_SMTP_PASSWORD", PASSWORD)
    code = run_in_repo(triage_argv(tmp_path / "out", "--email", "secops@example.com",
                                   "--smtp-host", starttls_smtp.host, "--smtp-port", str(starttls_smtp.port),
                                   "--smtp-user", USER))  # no --smtp-ca-file: the test CA is not trusted
    captured = capsys.readouterr()
    assert code == 2 and "could not send" in captured.err
    assert PASSWORD not in captured.out + captured.err
    assert not starttls_smtp.mailbox.messages


@pytest.mark.parametrize("extra,needle", [
    (["--email", "secops@example.com"], "--smtp-host"),
    (["--email", "not-an-address"], "not an e-mail address"),
    (["--email", "a@example.com", "--smtp-host", "127.0.0.1", "--smtp-tls", "none", "--smtp-user", "u",
      "--smtp-password", "p"], "without TLS"),
    (["--email", "a@example.com", "--smtp-host", "127.0.0.1", "--smtp-user", "u"], "password"),
    (["--email", "a@example.com", "--smtp-host", "127.0.0.1", "--smtp-tls", "ssl3"], "--smtp-tls"),
    (["--mode", "boardroom"], "--mode"),
])
def test_bad_smtp_settings_are_exit_2_before_scanning(extra, needle, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_in_repo(triage_argv(out, *extra)) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not out.exists()  # nothing was collected or written
