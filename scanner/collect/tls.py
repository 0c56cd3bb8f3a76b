"""Live TLS endpoints: ``--endpoint HOST:PORT`` (repeatable) and ``--endpoints-file``.

One TLS handshake per endpoint, with SNI for host names (never for IP addresses), records
what the server serves: one certificate record for the leaf (``id`` is ``host:port``,
``in_use`` True, ``hostname`` the host) with the facts a client would judge it by.

The served certificates are captured without being trusted: the handshake runs with
verification *observed*, not enforced. Python 3.11's ``ssl`` cannot hand out the peer's
chain (``get_unverified_chain`` is public only from 3.13), so the handshake is pyOpenSSL's:
OpenSSL builds the path from the served chain and the trust store as any client would, and
a verify callback records each verification error (and lets the handshake go on) instead of
aborting. From those errors:
  * ``trusted``: no verification error at all (path to a trusted root, dates valid now, ...);
  * ``chain_complete``: OpenSSL could build the path from what was served plus the trust
    store: false on "unable to get issuer certificate" (a missing intermediate, or a root
    the trust store does not hold: scan private PKI with its root in CERTSCAN_CA_BUNDLE);
    a self-signed leaf needs no chain and counts as complete;
  * ``self_signed``: from the leaf itself (x509facts);
  * ``hostname_match``: the leaf checked against the host with service-identity (RFC 6125:
    SAN DNS names with the usual wildcard rules; an IP address against the IP SANs; the
    subject CN is not used, as browsers do not);
  * ``chain``: every certificate served above the leaf, as served (subject, issuer,
    not_after, signature algorithm and hash, fingerprint, self_signed), and
    ``chain_not_after`` the earliest expiry among them: an expiring intermediate breaks
    clients as surely as an expiring leaf (CHAIN-001), and one signed with SHA-1 is weak
    (SIG-001);
  * ``tls_version``: the protocol negotiated (every version the local OpenSSL offers is
    offered, weak ciphers included, at OpenSSL security level 0: the scanner observes, the
    rules judge). The same level applies to verification, so a weak key or a SHA-1
    signature does not by itself make ``trusted`` false: ``key_size`` and
    ``signature_algorithm`` are there for rules that judge those.

Trust store: the system's (OpenSSL defaults, with pyOpenSSL's fallbacks for wheel builds),
or a PEM CA bundle named by the CERTSCAN_CA_BUNDLE environment variable (private PKI, tests).
Timeouts, refused connections, DNS failures and failed handshakes are CollectionErrors for
that endpoint; endpoints are units (``tls/<host:port>``) that the runner collects concurrently.
"""

from __future__ import annotations

import ipaddress
import os
import select
import socket
import time
from dataclasses import dataclass, field

from cryptography import x509

from scanner.collect import Option, Source, SourceOptions, Unit, UnitResult
from scanner.collect.x509facts import certificate_facts, chain_entry
from scanner.model import Certificate, ChainCertificate, CollectionError, Coverage
from scanner.inputs.problems import InputError, Problem

SOURCE = "tls"
DEFAULT_PORT = 443
DEFAULT_TIMEOUT = 10.0  # seconds for connect and for the handshake
CA_BUNDLE_ENV = "CERTSCAN_CA_BUNDLE"
# OpenSSL verification errors meaning "the path to a trust anchor could not be built".
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT = 2
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
INCOMPLETE_CHAIN_ERRORS = frozenset({X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
                                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                                     X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE})


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
            return True
        except ValueError:
            return False

    @property
    def label(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_endpoint(text: str, where: str) -> Endpoint:
    """HOST:PORT, [IPv6]:PORT, or a bare host (port 443)."""
    raw = text.strip()
    bad = InputError(Problem(where, f"{text!r}: expected HOST:PORT, e.g. www.example.com:443 or [::1]:8443"))
    if not raw or "/" in raw or "@" in raw or " " in raw:
        raise bad
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise bad
        port_text = rest[1:] if rest else str(DEFAULT_PORT)
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    elif ":" in raw:  # a bare IPv6 address
        host, port_text = raw, str(DEFAULT_PORT)
    else:
        host, port_text = raw, str(DEFAULT_PORT)
    if not host or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise bad
    endpoint = Endpoint(host.lower().rstrip("."), int(port_text))
    if not endpoint.is_ip:
        try:
            endpoint.host.encode("idna")
        except UnicodeError:
            raise bad from None
    return endpoint


def read_endpoints_file(path: str) -> list[Endpoint]:
    try:
        lines = open(path, encoding="utf-8").read().splitlines()  # noqa: SIM115 - small file
    except OSError as exc:
        raise InputError(Problem("--endpoints-file", f"{path}: {exc.strerror or exc}")) from None
    except UnicodeDecodeError:
        raise InputError(Problem("--endpoints-file", f"{path}: not a UTF-8 text file")) from None
    endpoints, problems = [], []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            endpoints.append(parse_endpoint(text, path))
        except InputError:
            problems.append(Problem(path, f"{text!r}: expected HOST:PORT", line=number))
    if problems:
        raise InputError(problems)
    return endpoints


# --- the handshake ---------------------------------------------------------------------------

@dataclass
class Served:
    chain: list[x509.Certificate]  # as served, leaf first
    tls_version: str | None
    verify_errors: list[tuple[int, int]] = field(default_factory=list)  # (depth, OpenSSL X509_V_ERR code)


class EndpointError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _wait(sock: socket.socket, for_write: bool, deadline: float, endpoint: Endpoint) -> None:
    remaining = deadline - time.monotonic()
    ready = (select.select([], [sock], [], remaining) if for_write else select.select([sock], [], [], remaining)) \
        if remaining > 0 else ([], [], [])
    if not any(ready):
        raise EndpointError("Timeout", f"TLS handshake with {endpoint.label} timed out")


def fetch(endpoint: Endpoint, ca_bundle: str | None, timeout: float) -> Served:
    """Connect, handshake with verification observed, and return what was served."""
    from OpenSSL import SSL

    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(SSL.TLS1_VERSION)
    context.set_cipher_list(b"ALL:!aNULL:!eNULL:@SECLEVEL=0")  # reach old servers too: the rules judge them
    errors: list[tuple[int, int]] = []

    def observe(_conn, _cert, errnum: int, depth: int, ok: int) -> bool:
        if not ok:
            errors.append((depth, errnum))
        return True  # go on: verification is evaluated, not required

    context.set_verify(SSL.VERIFY_PEER, observe)
    if ca_bundle:
        context.load_verify_locations(ca_bundle)
    else:
        context.set_default_verify_paths()

    try:
        sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
    except socket.gaierror as exc:
        raise EndpointError("DNSResolutionFailed", f"cannot resolve {endpoint.host}: {exc.strerror or exc}") from None
    except ConnectionRefusedError:
        raise EndpointError("ConnectionRefused", f"connection to {endpoint.label} refused") from None
    except TimeoutError:
        raise EndpointError("Timeout", f"connection to {endpoint.label} timed out after {timeout:g} s") from None
    except OSError as exc:
        raise EndpointError("ConnectionFailed", f"cannot connect to {endpoint.label}: {exc.strerror or exc}") from None
    deadline = time.monotonic() + timeout
    connection = SSL.Connection(context, sock)
    try:
        if not endpoint.is_ip:
            connection.set_tlsext_host_name(endpoint.host.encode("idna"))
        connection.set_connect_state()
        while True:
            try:
                connection.do_handshake()
                break
            except SSL.WantReadError:
                _wait(sock, False, deadline, endpoint)
            except SSL.WantWriteError:
                _wait(sock, True, deadline, endpoint)
        served = Served(chain=list(connection.get_peer_cert_chain(as_cryptography=True) or []),
                        tls_version=connection.get_protocol_version_name(), verify_errors=errors)
        try:
            connection.shutdown()  # a polite close_notify; the server's answer is not awaited
        except SSL.Error:
            pass
        return served
    except SSL.Error as exc:
        raise EndpointError("TLSHandshakeFailed", f"TLS handshake with {endpoint.label} failed: {_ssl_error_text(exc)}") from None
    except OSError as exc:
        raise EndpointError("ConnectionFailed", f"connection to {endpoint.label} failed: {exc.strerror or exc}") from None
    finally:
        sock.close()


def _ssl_error_text(exc: Exception) -> str:
    """pyOpenSSL errors carry OpenSSL's (library, function, reason) tuples, or (errno, text)."""
    args = exc.args[0] if exc.args else None
    if isinstance(args, list) and args:
        return "; ".join(str(item[-1]) for item in args if item)
    if isinstance(exc.args, tuple) and len(exc.args) == 2:
        return str(exc.args[1])
    return str(exc) or type(exc).__name__


# --- facts -----------------------------------------------------------------------------------

def hostname_matches(cert: x509.Certificate, endpoint: Endpoint) -> bool:
    from service_identity import CertificateError, VerificationError
    from service_identity.cryptography import verify_certificate_hostname, verify_certificate_ip_address

    try:
        if endpoint.is_ip:
            verify_certificate_ip_address(cert, endpoint.host)
        else:
            verify_certificate_hostname(cert, endpoint.host)
    except (VerificationError, CertificateError):  # CertificateError: no SAN at all
        return False
    return True


def endpoint_record(endpoint: Endpoint, served: Served) -> Certificate:
    leaf = served.chain[0]
    codes = {code for _, code in served.verify_errors}
    above = [ChainCertificate(**chain_entry(cert)) for cert in served.chain[1:]]
    return Certificate(
        chain=above, chain_not_after=min((c.not_after for c in above), default=None),
        id=endpoint.label, source=SOURCE, hostname=endpoint.host, in_use=True,  # it is being served
        hostname_match=hostname_matches(leaf, endpoint),
        chain_complete=not codes & INCOMPLETE_CHAIN_ERRORS,
        trusted=not codes,
        tls_version=served.tls_version,
        **certificate_facts(leaf),
    )


# --- the collector -----------------------------------------------------------------------------

class TlsCollector:
    source = SOURCE

    def __init__(self, endpoints: list[Endpoint], ca_bundle: str | None, timeout: float):
        self.endpoints = endpoints
        self.ca_bundle = ca_bundle
        self.timeout = timeout

    def units(self) -> tuple[list[Unit], list[CollectionError]]:
        return [Unit(key=f"{SOURCE}/{e.label}", label=e.label, payload=e) for e in self.endpoints], []

    def collect(self, unit: Unit) -> UnitResult:
        endpoint: Endpoint = unit.payload
        records, errors = [], []
        try:
            served = fetch(endpoint, self.ca_bundle, self.timeout)
            if not served.chain:
                raise EndpointError("NoCertificate", f"{endpoint.label} served no certificate")
            records.append(endpoint_record(endpoint, served))
        except EndpointError as exc:
            errors.append(CollectionError(source=SOURCE, code=exc.code, message=exc.message, service=SOURCE,
                                          resource=endpoint.label, unit=unit.key))
        except ValueError as exc:  # a served certificate cryptography cannot read
            errors.append(CollectionError(source=SOURCE, code="CertificateParseError",
                                          message=f"{endpoint.label}: served certificate cannot be read: {exc}",
                                          service=SOURCE, resource=endpoint.label, unit=unit.key))
        coverage = Coverage(unit=unit.key, source=SOURCE, service=SOURCE, resource=endpoint.label,
                            count=len(records), complete=not errors)
        return UnitResult(certificates=records, errors=errors, coverage=[coverage])


def ca_bundle_from(options: SourceOptions) -> str | None:
    bundle = options.seams.get("tls.ca_bundle") or os.environ.get(CA_BUNDLE_ENV) or None
    if bundle and not os.path.isfile(bundle):
        raise InputError(Problem(CA_BUNDLE_ENV, f"{bundle}: no such CA bundle file (expected PEM certificates)"))
    return bundle


def build(options: SourceOptions) -> list[TlsCollector]:
    try:
        import OpenSSL  # noqa: F401
        import service_identity  # noqa: F401
    except ModuleNotFoundError as exc:
        raise InputError(Problem("--endpoint", f"{exc.name} is not installed (pip install certscan)")) from None
    endpoints = [parse_endpoint(text, "--endpoint") for text in options.endpoints]
    if options.endpoints_file:
        endpoints += read_endpoints_file(options.endpoints_file)
    unique = list(dict.fromkeys(endpoints))
    timeout = float(options.seams.get("tls.timeout", DEFAULT_TIMEOUT))
    return [TlsCollector(unique, ca_bundle_from(options), timeout)]


SOURCE_SPEC = Source(
    key="tls", names=(SOURCE,), help="Live TLS endpoints.", build=build, switch=False, section=False,
    selects=("endpoints", "endpoints_file"),
    options=(
        Option("endpoints", ("--endpoint",), "Live TLS endpoint HOST:PORT (repeatable).", "list", config="endpoints"),
        Option("endpoints_file", ("--endpoints-file",), "File with one HOST:PORT per line."),
    ),
    units="host:port", identities={"endpoints": "resource"},
)
