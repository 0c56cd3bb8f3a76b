"""Certificates for simulated estates, made with cryptography: one private CA that signs
EC P-256 leaves (fast to make and to import; RSA only where a key type matters).

Private keys exist only in memory, to be handed to the simulated service that requires them
(ACM import, IAM upload); nothing here writes them anywhere."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class IssuedCertificate:
    certificate_pem: str
    private_key_pem: str
    chain_pem: str

    def __repr__(self) -> str:  # never show the key, even in a debugger or a test failure
        return "IssuedCertificate(<certificate>, <private key hidden>, <chain>)"


def _pem_key(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


class SimulatedCA:
    """A CA that signs leaves with deterministic serial numbers (1000, 1001, ...)."""

    def __init__(self, name: str = "certscan Simulated Issuing CA", *, now: datetime):
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certscan simulation"),
                               x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name).issuer_name(self.name)
            .public_key(self._key.public_key())
            .serial_number(1)
            .not_valid_before(now - timedelta(days=3650))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self._serials = itertools.count(1000)

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def issue(self, domain: str, *, not_before: datetime, not_after: datetime, sans: list[str] | None = None,
              rsa_bits: int | None = None) -> IssuedCertificate:
        key = rsa.generate_private_key(65537, rsa_bits) if rsa_bits else ec.generate_private_key(ec.SECP256R1())
        names = [domain, *[s for s in (sans or []) if s != domain]]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(next(self._serials))
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        return IssuedCertificate(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), _pem_key(key), self.pem)
