"""Test helpers for the file, TLS and Key Vault sources: certificates made with cryptography
and trustme, real TLS servers on 127.0.0.1 (stopped by their fixture), the simulated Key
Vault with its process-wide challenge cache cleared."""

from __future__ import annotations

import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from ipaddress import ip_address
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class Made:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


def make_cert(common_name: str = "www.example.test", *, sans: list[str] | None = None,
              not_before: datetime | None = None, days: int = 90, issuer: Made | None = None,
              rsa_bits: int | None = None, ca: bool = False, key_type: str | None = None,
              digest: hashes.HashAlgorithm | None = None, pss: bool = False) -> Made:
    """A certificate signed by ``issuer`` (self-signed without one). EC P-256 unless rsa_bits
    or key_type ("ed25519", "ed448"); signed with SHA-256 unless ``digest`` (e.g. SHA1), with
    RSA-PSS when ``pss``."""
    if key_type == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif key_type == "ed448":
        key = ed448.Ed448PrivateKey.generate()
    else:
        key = rsa.generate_private_key(65537, rsa_bits) if rsa_bits else ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    not_before = not_before or NOW - timedelta(days=1)
    names = []
    for name in sans if sans is not None else [common_name]:
        try:
            names.append(x509.IPAddress(ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_before + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    signer = issuer.key if issuer else key
    if isinstance(signer, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        cert = builder.sign(signer, None)
    else:
        digest = digest or hashes.SHA256()
        scheme = padding.PSS(padding.MGF1(digest), padding.PSS.DIGEST_LENGTH) if pss else None
        cert = builder.sign(signer, digest, rsa_padding=scheme)
    return Made(cert, key)


# --- TLS servers ------------------------------------------------------------------------------

@dataclass
class TLSServer:
    """A real TLS server on 127.0.0.1 serving one chain; records the SNI names it was sent."""

    chain_pem: bytes
    key_pem: bytes
    workdir: Path
    sni_seen: list[str | None] = field(default_factory=list)

    def start(self) -> TLSServer:
        cert_file = self.workdir / "chain.pem"
        key_file = self.workdir / "key.pem"
        cert_file.write_bytes(self.chain_pem)
        key_file.write_bytes(self.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # serve what old servers serve (SHA-1 chains)
        context.load_cert_chain(cert_file, key_file)
        context.sni_callback = lambda sock, name, ctx: self.sni_seen.append(name)
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    with context.wrap_socket(self.request, server_side=True) as tls:
                        tls.recv(1)  # until the client closes
                except (OSError, ssl.SSLError):
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return server

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"


class SilentServer:
    """Accepts TCP connections and never speaks TLS: a handshake against it times out."""

    def start(self) -> SilentServer:
        import socket
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port = self._sock.getsockname()[1]
        return self

    def stop(self) -> None:
        self._sock.close()


@pytest.fixture
def tls_servers(tmp_path):
    """Factory: tls_servers(chain_pem, key_pem) -> a started TLSServer; all stopped at teardown."""
    started: list = []

    def start(chain_pem: bytes, key_pem: bytes) -> TLSServer:
        workdir = tmp_path / f"server{len(started)}"
        workdir.mkdir()
        server = TLSServer(chain_pem, key_pem, workdir).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def silent_server():
    server = SilentServer().start()
    yield server
    server.stop()


@pytest.fixture
def free_port():
    """A loopback port nothing listens on (bound, then released)."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Pki:
    ca: trustme.CA
    intermediate: trustme.CA
    ca_file: Path


@pytest.fixture
def pki(tmp_path) -> Pki:
    """A root (written to a CA bundle file) and an intermediate under it."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca-bundle.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Pki(ca, ca.create_child_ca(), ca_file)


def leaf_pems(leaf: trustme.LeafCert) -> tuple[bytes, bytes, bytes]:
    """(full chain as served, leaf alone, key) of a trustme leaf."""
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    return chain, leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes()


# --- Key Vault --------------------------------------------------------------------------------

@pytest.fixture
def keyvault():
    """A fresh simulated Key Vault service; the SDK's process-wide challenge cache is cleared
    before and after, so one test's challenge never answers for another's."""
    from azure.keyvault.certificates._shared import http_challenge_cache

    from scanner.simulate.azure_keyvault_fake import FakeKeyVaultService

    http_challenge_cache.clear()
    yield FakeKeyVaultService(page_size=2)
    http_challenge_cache.clear()


def azure_seams(service) -> dict:
    return {"azure.transport": service.transport(), "azure.credential": service.credential()}


def resigned(made: Made, digest: str, issuer: Made | None = None) -> Made:
    """The same certificate signed again with a hash cryptography refuses to sign with
    (``"sha1"``, ``"md5"``): what old CAs issued and old servers still serve."""
    from OpenSSL import crypto

    cert = crypto.X509.from_cryptography(made.cert)
    signer = issuer or made
    if issuer is not None:
        cert.set_issuer(crypto.X509.from_cryptography(issuer.cert).get_subject())
    cert.sign(crypto.PKey.from_cryptography_key(signer.key), digest)
    return Made(cert.to_cryptography(), made.key)
