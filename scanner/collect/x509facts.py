"""Facts from an X.509 certificate body, shared by every source that has the body (IAM
server certificates, Key Vault, files, live endpoints). Parsing is cryptography's; nothing
here ever touches a private key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
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


def is_self_signed(cert: x509.Certificate) -> bool | None:
    """Self-issued (subject = issuer) and verified by its own key, whatever hash it names.

    cryptography's ``verify_directly_issued_by`` refuses SHA-1 and MD5 signatures (policy,
    not mathematics), which made real SHA-1 roots look "not self-signed". The signature is
    checked here with the public key itself. False: not self-issued, or the signature does
    not verify with its own key. None: it cannot be told (an algorithm this build cannot
    verify) - never guessed as False."""
    if cert.issuer != cert.subject:
        return False
    return _verifies_with(cert, cert.public_key())


def _verifies_with(cert: x509.Certificate, key: Any) -> bool | None:
    try:
        scheme = cert.signature_algorithm_parameters
        digest = cert.signature_hash_algorithm
    except (UnsupportedAlgorithm, ValueError):  # e.g. MD2, GOST: cannot tell here
        return None
    signature, signed = cert.signature, cert.tbs_certificate_bytes
    if scheme is None and digest is not None:  # cryptography names no scheme for old ones (MD5)
        if isinstance(key, rsa.RSAPublicKey):
            scheme = padding.PKCS1v15()
        elif isinstance(key, ec.EllipticCurvePublicKey):
            scheme = ec.ECDSA(digest)
    try:
        if isinstance(scheme, (padding.PKCS1v15, padding.PSS)):
            if not isinstance(key, rsa.RSAPublicKey):
                return False  # an RSA signature cannot come from this key
            key.verify(signature, signed, scheme, digest)
        elif isinstance(scheme, ec.ECDSA):
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return False
            key.verify(signature, signed, scheme)
        elif isinstance(key, dsa.DSAPublicKey) and digest is not None:
            key.verify(signature, signed, digest)
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)) and scheme is None and digest is None:
            key.verify(signature, signed)
        else:
            return False  # the signature's algorithm does not fit this kind of key
    except InvalidSignature:
        return False
    except (UnsupportedAlgorithm, ValueError, TypeError):  # this OpenSSL cannot check it
        return None
    return True


# The hash a signature algorithm names, in one spelling for rules (SIG-001: MD5, SHA1).
def signature_hash(cert: x509.Certificate) -> str | None:
    try:
        digest = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        # cryptography does not know the hash (MD2, MD4, ...): name it from the OID, so a
        # signature too old to verify is still judged as weak rather than unknown
        name = signature_algorithm_name(cert) or ""
        found = re.match(r"(md2|md4|md5|sha1)", name, re.IGNORECASE)
        return found.group(1).upper() if found else None
    if digest is None:  # Ed25519 / Ed448 sign without a separate hash
        return None
    return digest.name.upper().replace("-", "")  # MD5, SHA1, SHA256, SHA3_256 ...


def signature_algorithm_name(cert: x509.Certificate) -> str | None:
    try:
        return cert.signature_algorithm_oid._name  # e.g. sha256WithRSAEncryption
    except Exception:  # noqa: BLE001 - an unknown OID has no name; dotted form then
        try:
            return cert.signature_algorithm_oid.dotted_string
        except Exception:  # noqa: BLE001
            return None


def chain_entry(cert: x509.Certificate) -> dict[str, Any]:
    """A certificate of a served chain as the inventory keeps it (model.ChainCertificate)."""
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_after": _utc(cert.not_valid_after_utc),
        "signature_algorithm": signature_algorithm_name(cert),
        "signature_hash": signature_hash(cert),
        "fingerprint_sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "self_signed": is_self_signed(cert),
    }


def certificate_facts(cert: x509.Certificate) -> dict[str, Any]:
    """Keyword arguments for model.Certificate (everything the body itself says)."""
    key = key_facts(cert.public_key())
    sans = subject_alt_names(cert)
    cn = common_name(cert.subject)
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
        "signature_algorithm": signature_algorithm_name(cert),
        "signature_hash": signature_hash(cert),
        "self_signed": is_self_signed(cert),
    }
