"""--check-revocation against a real OCSP responder on loopback (built with cryptography's
x509.ocsp) answering good, revoked, garbled, unauthorized and with a forged signature, for
certificates served by real TLS servers."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from scanner.collect import SourceOptions
from scanner.collect.runner import collect
from scanner.report.results_json import read
from sources_support import NOW, Made, make_cert, tls_servers  # noqa: F401

MODES = ("good", "revoked", "garbled", "unauthorized", "forged")


class Responder:
    """An OCSP responder answering by URL path: /good, /revoked, /garbled, /unauthorized, /forged."""

    def __init__(self, ca: Made):
        self.ca = ca
        self.asked: list[str] = []
        self.impostor = make_cert(ca.cert.subject.rfc4514_string()[3:], ca=True)  # the CA's name, another key
        responder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                responder.asked.append(self.path)
                answer = responder.answer(self.path.strip("/"), ocsp.load_der_ocsp_request(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def answer(self, mode: str, request: ocsp.OCSPRequest) -> bytes:
        if mode == "garbled":
            return b"\x30\x03not an OCSP response"
        if mode == "unauthorized":
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
                serialization.Encoding.DER)
        revoked = mode == "revoked"
        subject = self.leaves[request.serial_number]
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=subject, issuer=self.ca.cert, algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
            this_update=NOW - timedelta(hours=1), next_update=None,
            revocation_time=NOW - timedelta(days=2) if revoked else None,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
        )
        # forged: named as the CA, signed with another key
        signer = self.impostor if mode == "forged" else self.ca
        encoding = ocsp.OCSPResponderEncoding.HASH if mode == "good" else ocsp.OCSPResponderEncoding.NAME
        builder = builder.responder_id(encoding, signer.cert)
        return builder.sign(signer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def issue(ca: Made, name: str, ocsp_url: str) -> Made:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=30)).not_valid_after(NOW + timedelta(days=60))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return Made(cert, key)


@pytest.fixture
def estate(tls_servers, tmp_path):
    """One TLS server per responder mode, each certificate naming its own responder path."""
    ca = make_cert("Test OCSP CA", ca=True, days=365)
    responder = Responder(ca)
    responder.leaves = {}
    endpoints = {}
    for mode in MODES:
        leaf = issue(ca, "localhost", f"{responder.url}/{mode}")
        responder.leaves[leaf.cert.serial_number] = leaf.cert
        server = tls_servers(leaf.pem + ca.pem, leaf.key_pem)
        endpoints[mode] = f"localhost:{server.port}"
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.pem)
    yield responder, endpoints, ca_file
    responder.stop()


def by_mode(estate, check: bool):
    responder, endpoints, ca_file = estate
    options = SourceOptions(endpoints=list(endpoints.values()), check_revocation=check, quiet=True,
                            seams={"tls.ca_bundle": str(ca_file)})
    records = {c.id: c for c in collect(options, NOW).certificates}
    return {mode: records[endpoint] for mode, endpoint in endpoints.items()}


def test_each_answer_gives_its_status_and_only_a_trustworthy_one_is_believed(estate):
    responder, _, _ = estate
    found = by_mode(estate, check=True)

    assert found["good"].revocation_status == "good" and found["good"].revocation_error is None
    assert found["good"].revocation_checked_with == f"{responder.url}/good"
    assert found["good"].revocation_checked_at is not None
    revoked = found["revoked"]
    assert revoked.revocation_status == "revoked" and revoked.revocation_reason == "keyCompromise"
    assert revoked.revoked_at == NOW - timedelta(days=2)
    assert found["garbled"].revocation_status == "unknown"
    assert "not an OCSP response" in found["garbled"].revocation_error
    assert found["unauthorized"].revocation_status == "unknown"
    assert "UNAUTHORIZED" in found["unauthorized"].revocation_error
    assert found["forged"].revocation_status == "unknown"  # signed, but not by the issuer
    assert "not signed by the issuer" in found["forged"].revocation_error


def test_nothing_is_asked_without_the_option(estate):
    responder, _, _ = estate

    found = by_mode(estate, check=False)

    assert responder.asked == []
    assert all(c.revocation_status is None for c in found.values())


def test_rev_001_fails_the_revoked_certificate_and_errs_on_unanswered(estate, cli, tmp_path, monkeypatch):
    _, endpoints, ca_file = estate
    monkeypatch.setenv("CERTSCAN_CA_BUNDLE", str(ca_file))
    args = [a for e in endpoints.values() for a in ("--endpoint", e)]

    done = cli("scan", *args, "--check-revocation", "--fail-on", "critical", "--output-dir", tmp_path / "out")

    report = read(tmp_path / "out" / "certscan-results.json")
    rev = {r.resource_id: r for r in report.results if r.rule_id == "REV-001"}
    assert rev[endpoints["good"]].status == "pass"
    assert rev[endpoints["revoked"]].status == "fail" and rev[endpoints["revoked"]].severity == "critical"
    for mode in ("garbled", "unauthorized", "forged"):
        assert rev[endpoints[mode]].status == "error"
    assert done.code in (1, 3), done  # a critical finding, or the incomplete verdict the errors bring


class StaplingServer:
    """A pyOpenSSL TLS server on loopback that staples a given OCSP response to each handshake."""

    def __init__(self, leaf: Made, ca: Made, staple: bytes):
        import socket

        from OpenSSL import SSL

        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        context.use_certificate(leaf.cert)
        context.use_privatekey(leaf.key)
        context.add_extra_chain_cert(ca.cert)
        context.set_ocsp_server_callback(lambda _conn, _data: staple)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.running = True

        def serve():
            while self.running:
                try:
                    sock, _ = self.listener.accept()
                except OSError:
                    continue
                sock.setblocking(True)  # pyOpenSSL wants a blocking socket; the client always closes
                tls = SSL.Connection(context, sock)
                tls.set_accept_state()
                try:
                    tls.do_handshake()
                    tls.recv(1)
                except (SSL.Error, OSError):
                    pass
                sock.close()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    def stop(self):
        self.running = False
        self.thread.join()
        self.listener.close()


def test_a_stapled_response_is_judged_and_the_responder_is_not_asked(estate, tmp_path):
    responder, endpoints, ca_file = estate
    leaf = issue(responder.ca, "localhost", f"{responder.url}/good")  # the responder would say good
    responder.leaves[leaf.cert.serial_number] = leaf.cert
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf.cert, responder.ca.cert, hashes.SHA1()).build()
    server = StaplingServer(leaf, responder.ca, responder.answer("revoked", request))
    try:
        options = SourceOptions(endpoints=[f"localhost:{server.port}", endpoints["good"]], check_revocation=True,
                                quiet=True, seams={"tls.ca_bundle": str(ca_file)})
        inventory = collect(options, NOW)
    finally:
        server.stop()
    records = {c.id: c for c in inventory.certificates}
    assert inventory.errors == []

    stapled = records[f"localhost:{server.port}"]
    assert stapled.ocsp_stapled is True and stapled.revocation_status == "revoked"
    assert stapled.revocation_checked_with == "stapled"
    assert records[endpoints["good"]].ocsp_stapled is False
    assert responder.asked == ["/good"]  # only for the server that stapled nothing
