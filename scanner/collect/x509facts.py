"""Facts from an X.509 certificate body, shared by every source that has the body (IAM
server certificates, Key Vault, files, live endpoints). Parsing is cryptography's; nothing
here ever touches a private key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521", "secp224r1": "P-224",
               "secp192r1": "P-192", "secp256k1": "P-256K"}


@dataclass(frozen=True)
class KeyFacts:
    algorithm: str | None  # RSA | EC | DSA | ED25519 | ED448
    size: int | None  # bits
    curve: str | None  # P-256 ...


def key_facts(public_key: Any) -> KeyFacts:
    if isinstance(public_key, rsa.RSAPublicKey):
        return KeyFacts("RSA", public_key.key_size, None)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        name = public_key.curve.name
        return KeyFacts("EC", public_key.curve.key_size, CURVE_NAMES.get(name, name))
    if isinstance(public_key, dsa.DSAPublicKey):
        return KeyFacts("DSA", public_key.key_size, None)
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return KeyFacts("ED25519", 256, None)
    if isinstance(public_key, ed448.Ed448PublicKey):
        return KeyFacts("ED448", 456, None)
    return KeyFacts(None, None, None)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def subject_alt_names(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return []
    names = [str(n) for n in ext.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    return names


def common_name(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def is_self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
        return True
    except (ValueError, TypeError, Exception):  # noqa: BLE001 - any failure means "not self-signed"
        return False


def certificate_facts(cert: x509.Certificate) -> dict[str, Any]:
    """Keyword arguments for model.Certificate (everything the body itself says)."""
    key = key_facts(cert.public_key())
    sans = subject_alt_names(cert)
    cn = common_name(cert.subject)
    try:
        signature = cert.signature_algorithm_oid._name  # e.g. sha256WithRSAEncryption
    except Exception:  # noqa: BLE001
        signature = None
    return {
        "domain": cn or (sans[0] if sans else None),
        "sans": sans,
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "fingerprint_sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "not_before": _utc(cert.not_valid_before_utc),
        "not_after": _utc(cert.not_valid_after_utc),
        "key_algorithm": key.algorithm,
        "key_size": key.size,
        "key_curve": key.curve,
        "signature_algorithm": signature,
        "self_signed": is_self_signed(cert),
    }
