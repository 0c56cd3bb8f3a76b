"""Revocation (``--check-revocation``) by OCSP: ask the responder a certificate names in its
Authority Information Access (or judge the response its server stapled), and believe only an
answer that is signed by the issuer or by a responder the issuer delegated to
(id-kp-OCSPSigning), is about this certificate, and is current at as_of (thisUpdate not in
the future, nextUpdate not past). A certificate naming no OCSP responder but a CRL
distribution point is looked up in that CRL, fetched with a size cap and believed only when
signed by the issuer and current.

Anything else — no answer, a non-successful status (unauthorized, tryLater...), a body that
is not an OCSP response, a bad signature, a stale answer — is ``unknown`` with the reason in
``revocation_error``: never ``good``. This contacts a third party, so it runs only when asked.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

MAX_RESPONSE_BYTES = 64 * 1024  # an OCSP response is a few KiB; more is not an answer
MAX_CRL_BYTES = 16 * 1024 * 1024  # the largest public CAs' CRLs are a few MiB
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Revocation:
    status: str  # good | revoked | unknown
    checked_with: str
    checked_at: datetime
    reason: str | None = None
    revoked_at: datetime | None = None
    error: str | None = None

    def fields(self) -> dict:
        return {"revocation_status": self.status, "revocation_checked_with": self.checked_with,
                "revocation_checked_at": self.checked_at, "revocation_reason": self.reason,
                "revoked_at": self.revoked_at, "revocation_error": self.error}


def check(cert: x509.Certificate, issuer: x509.Certificate | None, as_of: datetime, timeout: float = 10.0,
          stapled: bytes = b"") -> Revocation | None:
    """OCSP when the certificate names a responder or its server stapled an answer, else its
    CRL; None when it names neither (nothing to check, nothing contacted)."""
    return check_ocsp(cert, issuer, as_of, timeout, stapled) or check_crl(cert, issuer, as_of, timeout)


def _http_urls(names) -> list[str]:
    return [n.value for n in names if isinstance(n, x509.UniformResourceIdentifier)
            and n.value.lower().startswith(("http://", "https://"))]


def crl_urls(cert: x509.Certificate) -> list[str]:
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [url for point in points for url in _http_urls(point.full_name or [])]


def ocsp_urls(cert: x509.Certificate) -> list[str]:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return _http_urls(d.access_location for d in aia if d.access_method == AuthorityInformationAccessOID.OCSP)


class _Unanswered(Exception):
    pass


def check_ocsp(cert: x509.Certificate, issuer: x509.Certificate | None, as_of: datetime,
               timeout: float = 10.0, stapled: bytes = b"") -> Revocation | None:
    """The certificate's revocation status from the OCSP response its server stapled, or else
    from its first OCSP responder; None when there is neither."""
    urls = ocsp_urls(cert)
    if not urls and not stapled:
        return None
    url = "stapled" if stapled else urls[0]
    try:
        if issuer is None:
            raise _Unanswered("the issuer certificate is not at hand to check an OCSP response")
        if stapled:  # judged exactly as a responder's answer; the responder is then not asked
            body = stapled
        else:
            request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
            body = _fetch(url, timeout, MAX_RESPONSE_BYTES, request.public_bytes(Encoding.DER))
        try:
            response = ocsp.load_der_ocsp_response(body)
        except ValueError:
            raise _Unanswered("the responder's answer is not an OCSP response") from None
        return _judge(response, cert, issuer, url, as_of)
    except _Unanswered as exc:
        return Revocation("unknown", url, as_of, error=str(exc))


def check_crl(cert: x509.Certificate, issuer: x509.Certificate | None, as_of: datetime,
              timeout: float = 10.0) -> Revocation | None:
    urls = crl_urls(cert)
    if not urls:
        return None
    url = urls[0]
    try:
        if issuer is None:
            raise _Unanswered("the issuer certificate is not at hand to check the CRL's signature")
        body = _fetch(url, timeout, MAX_CRL_BYTES)
        try:
            crl = x509.load_der_x509_crl(body) if not body.lstrip().startswith(b"-----") \
                else x509.load_pem_x509_crl(body)
        except ValueError:
            raise _Unanswered("the distribution point's answer is not a CRL") from None
        if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):
            raise _Unanswered("the CRL is not signed by the certificate's issuer")
        if crl.last_update_utc > as_of + CLOCK_SKEW:
            raise _Unanswered("the CRL's thisUpdate is in the future")
        if crl.next_update_utc is not None and crl.next_update_utc < as_of - CLOCK_SKEW:
            raise _Unanswered("the CRL is stale (nextUpdate has passed)")
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is None:
            return Revocation("good", url, as_of)
        try:
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value
        except (x509.ExtensionNotFound, ValueError):
            reason = None
        return Revocation("revoked", url, as_of, reason=reason, revoked_at=entry.revocation_date_utc)
    except _Unanswered as exc:
        return Revocation("unknown", url, as_of, error=str(exc))


def _fetch(url: str, timeout: float, cap: int, ocsp_request: bytes | None = None) -> bytes:
    """GET (a CRL) or POST (an OCSP request), reading at most ``cap`` bytes."""
    headers = {"Content-Type": "application/ocsp-request"} if ocsp_request is not None else {}
    request = urllib.request.Request(url, data=ocsp_request, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - http(s) only, checked above
            body = answer.read(cap + 1)
    except OSError as exc:  # URLError, HTTPError, timeouts, refused connections
        raise _Unanswered(f"{url} could not be asked: {getattr(exc, 'reason', None) or exc}") from None
    if len(body) > cap:
        raise _Unanswered(f"the answer from {url} is larger than {cap} bytes")
    return body


def _judge(response: ocsp.OCSPResponse, cert: x509.Certificate, issuer: x509.Certificate, url: str,
           as_of: datetime) -> Revocation:
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise _Unanswered(f"the responder answered {response.response_status.name}")
    signer = _responder(response, issuer)
    if signer is None or not _signed_by(signer, response):
        raise _Unanswered("the OCSP response is not signed by the issuer or a responder it delegated to")
    if response.serial_number != cert.serial_number:
        raise _Unanswered("the OCSP response is about another certificate")
    if response.this_update_utc > as_of + CLOCK_SKEW:
        raise _Unanswered("the OCSP response's thisUpdate is in the future")
    if response.next_update_utc is not None and response.next_update_utc < as_of - CLOCK_SKEW:
        raise _Unanswered("the OCSP response is stale (nextUpdate has passed)")
    status = response.certificate_status
    if status == ocsp.OCSPCertStatus.GOOD:
        return Revocation("good", url, as_of)
    if status == ocsp.OCSPCertStatus.REVOKED:
        reason = response.revocation_reason.value if response.revocation_reason else None
        return Revocation("revoked", url, as_of, reason=reason, revoked_at=response.revocation_time_utc)
    return Revocation("unknown", url, as_of, error="the responder does not know this certificate")


def _responder(response: ocsp.OCSPResponse, issuer: x509.Certificate) -> x509.Certificate | None:
    """The issuer itself, or a certificate included in the response that the issuer signed for OCSP signing."""
    if response.responder_name == issuer.subject or response.responder_key_hash == _key_hash(issuer):
        return issuer
    for candidate in response.certificates:
        try:
            candidate.verify_directly_issued_by(issuer)
            usage = candidate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING in usage:
            return candidate
    return None


def _key_hash(cert: x509.Certificate) -> bytes:
    return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest


def _signed_by(signer: x509.Certificate, response: ocsp.OCSPResponse) -> bool:
    key = signer.public_key()
    data, signature, digest = response.tbs_response_bytes, response.signature, response.signature_hash_algorithm
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(digest))
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, TypeError, ValueError):
        return False
    return True
