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

Discovery: ``--endpoint-range CIDR:PORTS`` (repeatable, or a CIDR:PORTS line in
``--endpoints-file``) probes every address x port, and with ``--sni NAME`` each of those
names as well, as one unit each (so the runner's ``--concurrency`` bounds the probes and a
short per-connection timeout bounds each). It is an option of this source, not a source of
its own, because what it finds *is* a live endpoint: the same handshake, facts and record
source ``tls``. A port that refuses, does not answer or does not speak TLS is coverage with
no record, not an error: a range is mostly closed ports. Ranges totalling more than
``--max-addresses`` (default 1024) addresses are refused before anything is contacted.
"""

from __future__ import annotations

import ipaddress
import os
import select
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cryptography import x509

from scanner.collect import Option, Source, SourceOptions, Unit, UnitResult
from scanner.collect.x509facts import certificate_facts, chain_entry
from scanner.model import Certificate, ChainCertificate, CollectionError, Coverage
from scanner.inputs.problems import InputError, Problem

SOURCE = "tls"
DEFAULT_PORT = 443
DEFAULT_TIMEOUT = 10.0  # seconds for connect and for the handshake
DEFAULT_PROBE_TIMEOUT = 3.0  # seconds, per connection of a range probe: most addresses are silent
DEFAULT_MAX_ADDRESSES = 1024
MAX_PORTS_PER_RANGE = 64
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
    server_name: str | None = None  # SNI to send to an address (--sni); else the host if a name

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

    @property
    def record_id(self) -> str:
        return f"{self.server_name}@{self.label}" if self.server_name else self.label

    @property
    def sni(self) -> str | None:
        return self.server_name or (None if self.is_ip else self.host)


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


@dataclass(frozen=True)
class EndpointRange:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    ports: tuple[int, ...]

    @property
    def address_count(self) -> int:
        # hosts() leaves out the network and broadcast addresses of an IPv4 range larger than /31
        n = self.network.num_addresses
        return n - 2 if self.network.version == 4 and n > 2 else n

    def addresses(self) -> list[str]:
        return [str(a) for a in self.network.hosts()]


def parse_endpoint_range(text: str, where: str) -> EndpointRange:
    """CIDR:PORTS, e.g. 10.0.0.0/28:443,8443 or 2001:db8::/124:443 (ports: a comma list)."""
    raw = text.strip()
    bad = InputError(Problem(where, f"{text!r}: expected CIDR:PORTS, e.g. 10.0.0.0/28:443,8443"))
    cidr, sep, port_list = raw.rpartition(":")
    if not sep or "/" not in cidr or not port_list:
        raise bad
    try:
        network = ipaddress.ip_network(cidr.strip("[]"), strict=False)
    except ValueError:
        raise bad from None
    ports = []
    for item in port_list.split(","):
        if not item.isdigit() or not 1 <= int(item) <= 65535:
            raise bad
        ports.append(int(item))
    if len(ports) > MAX_PORTS_PER_RANGE:
        raise InputError(Problem(where, f"{text[:80]!r}: at most {MAX_PORTS_PER_RANGE} ports per range"))
    return EndpointRange(network, tuple(dict.fromkeys(ports)))


def parse_max_addresses(value: object) -> int:
    text = str(value if value is not None else DEFAULT_MAX_ADDRESSES).strip()
    if not text.isdigit() or int(text) < 1:
        raise InputError(Problem("--max-addresses", f"{text[:40]!r}: expected a whole number of addresses, at least 1"))
    return int(text)


def range_probes(ranges: list[EndpointRange], server_names: list[str], max_addresses: int) -> list[Endpoint]:
    """Every address x port (x each SNI name) of the ranges, refusing before anything is listed
    when the ranges hold more distinct addresses than max_addresses (counted from the
    prefixes, so a /8 is refused without enumerating it)."""
    networks = list(dict.fromkeys(r.network for r in ranges))
    total = sum(EndpointRange(n, ()).address_count for n in networks)
    if total > max_addresses:
        raise InputError(Problem("--endpoint-range", f"the ranges hold {total} addresses, more than the limit of "
                                                     f"{max_addresses}: narrow them or raise --max-addresses"))
    names = [None, *dict.fromkeys(server_names)]
    probes = [Endpoint(address, port, name)
              for r in ranges for address in r.addresses() for port in r.ports for name in names]
    return list(dict.fromkeys(probes))


def parse_server_name(text: str) -> str:
    name = text.strip().lower().rstrip(".")
    try:
        if not name or " " in name or "/" in name or ":" in name:
            raise UnicodeError
        name.encode("idna")
    except UnicodeError:
        raise InputError(Problem("--sni", f"{text[:80]!r}: expected a DNS name, e.g. www.example.com")) from None
    return name


def read_endpoints_file(path: str) -> list[Endpoint | EndpointRange]:
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
            endpoints.append(parse_endpoint_range(text, path) if "/" in text else parse_endpoint(text, path))
        except InputError:
            expected = "CIDR:PORTS (e.g. 10.0.0.0/28:443,8443)" if "/" in text else "HOST:PORT"
            problems.append(Problem(path, f"{text[:80]!r}: expected {expected}", line=number))
    if problems:
        raise InputError(problems)
    return endpoints


# --- the handshake ---------------------------------------------------------------------------

@dataclass
class Served:
    chain: list[x509.Certificate]  # as served, leaf first
    tls_version: str | None
    verify_errors: list[tuple[int, int]] = field(default_factory=list)  # (depth, OpenSSL X509_V_ERR code)
    stapled_ocsp: bytes = b""  # the OCSP response the server stapled (status_request), if any


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
    stapled: list[bytes] = []

    def keep_staple(_conn, ocsp_data: bytes, _data) -> bool:
        stapled.append(ocsp_data or b"")
        return True  # judged later, like everything else served

    context.set_ocsp_client_callback(keep_staple)
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
        if endpoint.sni:
            connection.set_tlsext_host_name(endpoint.sni.encode("idna"))
        connection.request_ocsp()  # ask the server to staple its OCSP response: it costs nothing more
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
                        tls_version=connection.get_protocol_version_name(), verify_errors=errors,
                        stapled_ocsp=b"".join(stapled[:1]))
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
        if endpoint.server_name:
            verify_certificate_hostname(cert, endpoint.server_name)
        elif endpoint.is_ip:
            verify_certificate_ip_address(cert, endpoint.host)
        else:
            verify_certificate_hostname(cert, endpoint.host)
    except (VerificationError, CertificateError):  # CertificateError: no SAN at all
        return False
    return True


def endpoint_record(endpoint: Endpoint, served: Served, check_revocation: bool = False,
                    timeout: float = DEFAULT_TIMEOUT) -> Certificate:
    leaf = served.chain[0]
    revocation = {}
    if check_revocation:  # asks the certificate's OCSP responder, a third party: only when told to
        from scanner.collect.revocation import check
        checked = check(leaf, served.chain[1] if len(served.chain) > 1 else None,
                        datetime.now(timezone.utc), timeout, stapled=served.stapled_ocsp)
        revocation = {**(checked.fields() if checked else {}), "ocsp_stapled": bool(served.stapled_ocsp)}
    codes = {code for _, code in served.verify_errors}
    above = [ChainCertificate(**chain_entry(cert)) for cert in served.chain[1:]]
    return Certificate(
        chain=above, chain_not_after=min((c.not_after for c in above), default=None),
        id=endpoint.record_id, source=SOURCE, hostname=endpoint.server_name or endpoint.host, in_use=True,  # it is being served
        hostname_match=hostname_matches(leaf, endpoint),
        chain_complete=not codes & INCOMPLETE_CHAIN_ERRORS,
        trusted=not codes,
        tls_version=served.tls_version,
        **revocation,
        **certificate_facts(leaf),
    )


# --- the collector -----------------------------------------------------------------------------

class TlsCollector:
    source = SOURCE

    def __init__(self, endpoints: list[Endpoint], ca_bundle: str | None, timeout: float,
                 probes: list[Endpoint] | None = None, probe_timeout: float = DEFAULT_PROBE_TIMEOUT,
                 check_revocation: bool = False):
        self.endpoints = endpoints
        self.check_revocation = check_revocation
        self.ca_bundle = ca_bundle
        self.timeout = timeout
        named = set(endpoints)  # a probe also asked for as an endpoint is that endpoint
        self.probes = [p for p in (probes or []) if p not in named]
        self.probe_timeout = probe_timeout

    def units(self) -> tuple[list[Unit], list[CollectionError]]:
        return [Unit(key=f"{SOURCE}/{e.record_id}", label=e.record_id, payload=(e, False)) for e in self.endpoints] \
            + [Unit(key=f"{SOURCE}/{p.record_id}", label=p.record_id, payload=(p, True)) for p in self.probes], []

    def collect(self, unit: Unit) -> UnitResult:
        endpoint, probing = unit.payload
        records, errors = [], []
        try:
            served = fetch(endpoint, self.ca_bundle, self.probe_timeout if probing else self.timeout)
            if not served.chain:
                raise EndpointError("NoCertificate", f"{endpoint.label} served no certificate")
            records.append(endpoint_record(endpoint, served, self.check_revocation, self.timeout))
        except EndpointError as exc:
            if not probing:  # a probed port that is closed, silent or not TLS is coverage, not an error
                errors.append(CollectionError(source=SOURCE, code=exc.code, message=exc.message, service=SOURCE,
                                              resource=endpoint.record_id, unit=unit.key))
        except ValueError as exc:  # a served certificate cryptography cannot read
            errors.append(CollectionError(source=SOURCE, code="CertificateParseError",
                                          message=f"{endpoint.label}: served certificate cannot be read: {exc}",
                                          service=SOURCE, resource=endpoint.record_id, unit=unit.key))
        coverage = Coverage(unit=unit.key, source=SOURCE, service=SOURCE, resource=endpoint.record_id,
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
    endpoints: list[Endpoint | EndpointRange] = [parse_endpoint(text, "--endpoint") for text in options.endpoints]
    endpoints += [parse_endpoint_range(text, "--endpoint-range") for text in options.endpoint_ranges]
    if options.endpoints_file:
        endpoints += read_endpoints_file(options.endpoints_file)
    ranges = [e for e in endpoints if isinstance(e, EndpointRange)]
    names = [parse_server_name(text) for text in options.sni]
    if names and not ranges:
        raise InputError(Problem("--sni", "names the server names to probe range addresses with: give "
                                          "--endpoint-range too (a listed --endpoint sends its own host name)"))
    max_addresses = parse_max_addresses(options.max_addresses)
    probes = range_probes(ranges, names, max_addresses) if ranges else []
    unique = list(dict.fromkeys(e for e in endpoints if isinstance(e, Endpoint)))
    timeout = float(options.seams.get("tls.timeout", DEFAULT_TIMEOUT))
    probe_timeout = float(options.seams.get("tls.probe_timeout", DEFAULT_PROBE_TIMEOUT))
    return [TlsCollector(unique, ca_bundle_from(options), timeout, probes, probe_timeout,
                         bool(options.check_revocation))]


SOURCE_SPEC = Source(
    key="tls", names=(SOURCE,), help="Live TLS endpoints.", build=build, switch=False, section=False,
    selects=("endpoints", "endpoints_file", "endpoint_ranges"),
    options=(
        Option("endpoints", ("--endpoint",), "Live TLS endpoint HOST:PORT (repeatable).", "list", config="endpoints"),
        Option("endpoints_file", ("--endpoints-file",), "File with one HOST:PORT or CIDR:PORTS per line."),
        Option("endpoint_ranges", ("--endpoint-range",),
               "Discover TLS services: probe every address x port of CIDR:PORTS, e.g. 10.0.0.0/28:443,8443 "
               "(repeatable).", "list", config="endpoint_ranges"),
        Option("sni", ("--sni",), "Also probe each range address with this server name (repeatable).", "list",
               config="sni"),
        Option("max_addresses", ("--max-addresses",), "Refuse ranges holding more addresses than this.",
               default=str(DEFAULT_MAX_ADDRESSES), config="max_addresses"),
        Option("check_revocation", ("--check-revocation",),
               "Ask each endpoint certificate's OCSP responder (a third party) whether it is revoked.", "switch",
               config="check_revocation"),
    ),
    units="host:port", identities={"endpoints": "resource"},
)
