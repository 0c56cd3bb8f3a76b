"""--check-revocation for certificates that name a CRL distribution point and no OCSP
responder: a real CRL server on loopback (CRLs built with cryptography), a revoked and a good
certificate, a CRL signed by an impostor, and one larger than the size cap."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import scanner.collect.revocation as revocation
from scanner.collect import SourceOptions
from scanner.collect.runner import collect
from sources_support import NOW, Made, make_cert, tls_servers  # noqa: F401


def crl_signed_by(signer: Made, issuer_name: x509.Name, revoked_serials: list[int]) -> bytes:
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer_name)
               .last_update(NOW - timedelta(hours=1)).next_update(NOW + timedelta(days=7)))
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW - timedelta(days=3))
            .add_extension(x509.CRLReason(x509.ReasonFlags.superseded), critical=False).build())
    return builder.sign(signer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def issue(ca: Made, crl_url: str) -> Made:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=30)).not_valid_after(NOW + timedelta(days=60))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier(crl_url)], None, None, None)]), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return Made(cert, key)


@pytest.fixture
def crl_estate(tls_servers, tmp_path):
    ca = make_cert("Test CRL CA", ca=True, days=365)
    impostor = make_cert("Test CRL CA", ca=True)
    served: dict[str, bytes] = {}
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            body = served.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    leaves = {name: issue(ca, f"{base}/{name}.crl") for name in ("good", "revoked", "forged", "huge", "missing")}
    revoked = [leaves["revoked"].cert.serial_number, leaves["forged"].cert.serial_number]
    served["/good.crl"] = served["/revoked.crl"] = crl_signed_by(ca, ca.cert.subject, revoked)
    served["/forged.crl"] = crl_signed_by(impostor, ca.cert.subject, [])
    served["/huge.crl"] = b"0" * 4096
    endpoints = {name: f"localhost:{tls_servers(leaf.pem + ca.pem, leaf.key_pem).port}" for name, leaf in leaves.items()}
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.pem)
    yield endpoints, ca_file, asked
    server.shutdown()
    server.server_close()
    thread.join()


def test_crl_status_and_every_untrustworthy_crl_is_unknown(crl_estate, monkeypatch):
    endpoints, ca_file, asked = crl_estate
    monkeypatch.setattr(revocation, "MAX_CRL_BYTES", 2048)

    options = SourceOptions(endpoints=list(endpoints.values()), check_revocation=True, quiet=True,
                            seams={"tls.ca_bundle": str(ca_file)})
    records = {c.id: c for c in collect(options, NOW).certificates}
    found = {name: records[endpoint] for name, endpoint in endpoints.items()}

    assert found["good"].revocation_status == "good" and found["good"].revocation_checked_with.endswith("/good.crl")
    assert found["revoked"].revocation_status == "revoked" and found["revoked"].revocation_reason == "superseded"
    assert found["revoked"].revoked_at == NOW - timedelta(days=3)
    assert found["forged"].revocation_status == "unknown"  # listed nowhere trustworthy: not good
    assert "not signed by the certificate's issuer" in found["forged"].revocation_error
    assert found["huge"].revocation_status == "unknown" and "larger than 2048 bytes" in found["huge"].revocation_error
    assert found["missing"].revocation_status == "unknown" and "could not be asked" in found["missing"].revocation_error


def test_no_crl_is_fetched_without_the_option(crl_estate):
    endpoints, ca_file, asked = crl_estate

    options = SourceOptions(endpoints=list(endpoints.values()), quiet=True, seams={"tls.ca_bundle": str(ca_file)})
    inventory = collect(options, NOW)

    assert len(inventory.certificates) == 5 and asked == []
