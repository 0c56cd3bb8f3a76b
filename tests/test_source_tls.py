"""Live TLS endpoints against real TLS servers on 127.0.0.1 serving trustme certificates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes

from scanner.collect import SourceOptions
from scanner.collect.runner import collect
from scanner.collect.tls import Endpoint, build, hostname_matches, parse_endpoint, read_endpoints_file
from scanner.inputs.problems import InputError
from sources_support import NOW, free_port, leaf_pems, make_cert, pki, silent_server, tls_servers  # noqa: F401


def scan(endpoints: list[str], ca_file=None, **seams):
    options = SourceOptions(endpoints=endpoints, quiet=True,
                            seams={**({"tls.ca_bundle": str(ca_file)} if ca_file else {}), **seams})
    return collect(options, NOW)


def only(inventory):
    assert len(inventory.certificates) == 1, inventory.errors
    return inventory.certificates[0]


def test_valid_endpoint_with_full_chain(pki, tls_servers):
    leaf = pki.intermediate.issue_cert("localhost", "127.0.0.1")
    chain, _, key = leaf_pems(leaf)
    server = tls_servers(chain, key)

    inventory = scan([f"localhost:{server.port}", server.endpoint], pki.ca_file)

    by_id = {c.id: c for c in inventory.certificates}
    assert set(by_id) == {f"localhost:{server.port}", f"127.0.0.1:{server.port}"}
    for cert in by_id.values():
        assert cert.source == "tls" and cert.in_use is True
        assert cert.hostname_match is True and cert.chain_complete is True
        assert cert.trusted is True and cert.self_signed is False
        assert cert.tls_version in ("TLSv1.2", "TLSv1.3")
        assert cert.domain == "localhost" and "127.0.0.1" in cert.sans
    assert by_id[f"localhost:{server.port}"].hostname == "localhost"
    # SNI is sent for a host name, never for an IP address (RFC 6066)
    assert sorted(server.sni_seen, key=str) == sorted(["localhost", None], key=str)
    assert {c.unit for c in inventory.coverage} == {f"tls/{c.id}" for c in inventory.certificates}
    assert all(c.complete and c.count == 1 for c in inventory.coverage)


def test_missing_intermediate_is_an_incomplete_chain(pki, tls_servers):
    _, leaf_only, key = leaf_pems(pki.intermediate.issue_cert("localhost"))
    server = tls_servers(leaf_only, key)

    cert = only(scan([f"localhost:{server.port}"], pki.ca_file))

    assert cert.chain_complete is False
    assert cert.trusted is False
    assert cert.hostname_match is True and cert.self_signed is False


def test_wrong_hostname_and_ip_without_ip_san(pki, tls_servers):
    chain, _, key = leaf_pems(pki.intermediate.issue_cert("www.other.test"))
    server = tls_servers(chain, key)

    by_name = only(scan([f"localhost:{server.port}"], pki.ca_file))
    by_ip = only(scan([server.endpoint], pki.ca_file))

    assert by_name.hostname_match is False
    assert by_ip.hostname_match is False  # an IP is matched against IP SANs only
    assert by_name.trusted is True and by_name.chain_complete is True  # trust says nothing about the name


def test_wildcard_san_matches_exactly_one_label():
    cert = make_cert("*.example.test").cert

    assert hostname_matches(cert, Endpoint("app.example.test", 443)) is True
    assert hostname_matches(cert, Endpoint("a.b.example.test", 443)) is False
    assert hostname_matches(cert, Endpoint("example.test", 443)) is False
    assert hostname_matches(make_cert("cn-only.test", sans=[]).cert, Endpoint("cn-only.test", 443)) is False


def test_expired_certificate(pki, tls_servers):
    leaf = pki.intermediate.issue_cert("localhost", not_before=NOW - timedelta(days=400),
                                       not_after=NOW - timedelta(days=3))
    chain, _, key = leaf_pems(leaf)
    server = tls_servers(chain, key)

    cert = only(scan([f"localhost:{server.port}"], pki.ca_file))

    assert cert.not_after < NOW
    assert cert.trusted is False  # a client would refuse it today
    assert cert.chain_complete is True and cert.hostname_match is True


def test_self_signed_certificate(pki, tls_servers):
    made = make_cert("localhost", sans=["localhost", "127.0.0.1"])
    server = tls_servers(made.pem, made.key_pem)

    cert = only(scan([server.endpoint], pki.ca_file))

    assert cert.self_signed is True
    assert cert.trusted is False
    assert cert.chain_complete is True  # nothing is missing: it is its own issuer
    assert cert.hostname_match is True
    assert cert.fingerprint_sha256 == made.cert.fingerprint(hashes.SHA256()).hex()


def test_without_a_bundle_the_system_trust_store_decides(pki, tls_servers, monkeypatch):
    chain, _, key = leaf_pems(pki.intermediate.issue_cert("localhost"))
    server = tls_servers(chain, key)
    monkeypatch.delenv("CERTSCAN_CA_BUNDLE", raising=False)

    assert only(scan([f"localhost:{server.port}"])).trusted is False  # the test root is no system root

    # OpenSSL's own way of replacing the system store is honoured: it is the store in use
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    assert only(scan([f"localhost:{server.port}"])).trusted is True


def test_ca_bundle_from_environment(pki, tls_servers, monkeypatch):
    chain, _, key = leaf_pems(pki.intermediate.issue_cert("localhost"))
    server = tls_servers(chain, key)
    monkeypatch.setenv("CERTSCAN_CA_BUNDLE", str(pki.ca_file))

    assert only(scan([f"localhost:{server.port}"])).trusted is True

    monkeypatch.setenv("CERTSCAN_CA_BUNDLE", str(pki.ca_file) + ".missing")
    with pytest.raises(InputError, match="CERTSCAN_CA_BUNDLE"):
        build(SourceOptions(endpoints=[server.endpoint]))


def test_refused_and_timed_out_endpoints_are_errors_and_the_rest_goes_on(pki, tls_servers, silent_server, free_port):
    chain, _, key = leaf_pems(pki.intermediate.issue_cert("localhost"))
    server = tls_servers(chain, key)
    refused = f"127.0.0.1:{free_port}"
    silent = f"127.0.0.1:{silent_server.port}"

    inventory = scan([refused, silent, f"localhost:{server.port}"], pki.ca_file, **{"tls.timeout": 0.5})

    assert [c.id for c in inventory.certificates] == [f"localhost:{server.port}"]
    errors = {e.resource: e for e in inventory.errors}
    assert errors[refused].code == "ConnectionRefused"
    assert errors[silent].code == "Timeout"
    for endpoint, error in errors.items():
        assert error.source == "tls" and error.unit == f"tls/{endpoint}" and endpoint in error.message
    coverage = {c.unit: c for c in inventory.coverage}
    assert coverage[f"tls/{refused}"].complete is False and coverage[f"tls/{refused}"].count == 0
    assert coverage[f"tls/localhost:{server.port}"].complete is True


def test_endpoint_parsing():
    assert parse_endpoint("WWW.Example.com:8443", "--endpoint") == Endpoint("www.example.com", 8443)
    assert parse_endpoint("example.com", "--endpoint") == Endpoint("example.com", 443)
    assert parse_endpoint("[::1]:8443", "--endpoint").label == "[::1]:8443"
    for bad in ("https://example.com/", "example.com:0", "example.com:http", "[::1", ":443", ""):
        with pytest.raises(InputError, match="--endpoint"):
            parse_endpoint(bad, "--endpoint")


def test_endpoints_file(tmp_path):
    listed = tmp_path / "endpoints.txt"
    listed.write_text("# production\nwww.example.com:443\n\n  api.example.com:8443   # api\n127.0.0.1:9\n")
    assert [e.label for e in read_endpoints_file(str(listed))] == \
        ["www.example.com:443", "api.example.com:8443", "127.0.0.1:9"]

    listed.write_text("ok.example.com:443\nnot a host:port\n")
    with pytest.raises(InputError) as raised:
        read_endpoints_file(str(listed))
    assert raised.value.problems[0].line == 2

    with pytest.raises(InputError, match="--endpoints-file"):
        read_endpoints_file(str(tmp_path / "missing.txt"))
