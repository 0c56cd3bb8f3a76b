"""Endpoint discovery (--endpoint-range, --sni, --max-addresses) against real TLS servers bound
to several loopback addresses (127.0.0.0/8), with closed and silent ports among them."""

from __future__ import annotations

import json
import socket

import pytest

from notify_support import certscan
from scanner.collect import SourceOptions
from scanner.collect.runner import collect
from sources_support import NOW, leaf_pems, pki, silent_server, tls_servers  # noqa: F401

# 127.0.0.8/29: hosts 127.0.0.9 .. 127.0.0.14 (network and broadcast addresses are not probed)
RANGE = "127.0.0.8/29"
SERVED = ("127.0.0.9", "127.0.0.10", "127.0.0.11")


def closed_port_pair() -> tuple[int, int]:
    """Two ports free on every address of RANGE (bound on 0.0.0.0-wide loopback, then released)."""
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.9", 0))
        b.bind(("127.0.0.9", 0))
        return a.getsockname()[1], b.getsockname()[1]


@pytest.fixture
def three_services(pki, tls_servers):
    """Three TLS services on one port of three addresses of RANGE; the other port closed everywhere."""
    chain, _, key = leaf_pems(pki.intermediate.issue_cert("www.example.test", *SERVED))
    open_port, closed_port = closed_port_pair()
    servers = [tls_servers(chain, key, address=address, port=open_port) for address in SERVED]
    return servers, open_port, closed_port


def discover(ranges, ca_file, sni=(), **seams):
    options = SourceOptions(endpoint_ranges=list(ranges), sni=list(sni), quiet=True,
                            seams={"tls.ca_bundle": str(ca_file), "tls.probe_timeout": 1.0, **seams})
    return collect(options, NOW)


def test_every_tls_service_in_a_range_is_an_endpoint_and_closed_ports_are_coverage(pki, three_services):
    _, open_port, closed_port = three_services

    inventory = discover([f"{RANGE}:{open_port},{closed_port}"], pki.ca_file)

    assert inventory.errors == []  # a closed port is not an error
    assert sorted(c.id for c in inventory.certificates) == sorted(f"{a}:{open_port}" for a in SERVED)
    for cert in inventory.certificates:
        assert cert.source == "tls" and cert.in_use is True and cert.trusted is True
        assert cert.hostname_match is True  # the certificate carries the addresses as IP SANs
    # every address x port probed is a complete unit: 6 hosts x 2 ports
    probed = {c.resource: c for c in inventory.coverage}
    assert len(probed) == 12 and all(c.complete for c in probed.values())
    assert probed[f"127.0.0.12:{open_port}"].count == 0 and probed[f"127.0.0.9:{closed_port}"].count == 0
    assert sum(c.count for c in probed.values()) == 3
    assert f"127.0.0.8:{open_port}" not in probed and f"127.0.0.15:{open_port}" not in probed


def test_sni_names_are_probed_on_every_address_as_well(pki, three_services):
    servers, open_port, _ = three_services

    inventory = discover([f"127.0.0.9/32:{open_port}"], pki.ca_file, sni=["www.example.test"])

    by_id = {c.id: c for c in inventory.certificates}
    assert set(by_id) == {f"127.0.0.9:{open_port}", f"www.example.test@127.0.0.9:{open_port}"}
    named = by_id[f"www.example.test@127.0.0.9:{open_port}"]
    assert named.hostname == "www.example.test" and named.hostname_match is True
    assert "www.example.test" in servers[0].sni_seen and None in servers[0].sni_seen


def test_an_open_port_that_does_not_speak_tls_is_coverage(pki, silent_server):
    inventory = discover([f"127.0.0.1/32:{silent_server.port}"], pki.ca_file, **{"tls.probe_timeout": 0.3})

    assert inventory.certificates == [] and inventory.errors == []
    assert [(c.resource, c.complete, c.count) for c in inventory.coverage] == [(f"127.0.0.1:{silent_server.port}", True, 0)]


def test_a_named_endpoint_that_is_closed_is_still_an_error_beside_a_range(pki, three_services):
    _, open_port, closed_port = three_services
    options = SourceOptions(endpoints=[f"127.0.0.9:{closed_port}"], endpoint_ranges=[f"127.0.0.10/32:{open_port}"],
                            quiet=True, seams={"tls.ca_bundle": str(pki.ca_file)})

    inventory = collect(options, NOW)

    assert [c.id for c in inventory.certificates] == [f"127.0.0.10:{open_port}"]
    assert [(e.code, e.resource) for e in inventory.errors] == [("ConnectionRefused", f"127.0.0.9:{closed_port}")]


def test_the_installed_command_discovers_a_range_from_a_file(pki, three_services, tmp_path):
    _, open_port, closed_port = three_services
    listed = tmp_path / "endpoints.txt"
    listed.write_text(f"# the lab\n{RANGE}:{open_port},{closed_port}\n")

    done = certscan("inventory", "--endpoints-file", listed, "--export-json", tmp_path / "inv.json",
                    env={"CERTSCAN_CA_BUNDLE": str(pki.ca_file)}, columns=80)

    assert done.code == 0, done.text
    saved = json.loads((tmp_path / "inv.json").read_text())
    assert sorted(c["id"] for c in saved["certificates"]) == sorted(f"{a}:{open_port}" for a in SERVED)
    assert saved["errors"] == [] and len(saved["coverage"]) == 12


def test_a_range_over_the_limit_is_refused_before_anything_is_contacted(tmp_path):
    done = certscan("scan", "--endpoint-range", "127.0.0.0/16:443", "--output-dir", tmp_path / "out", columns=80)

    assert done.code == 2, done.text
    assert "65534 addresses" in done.err and "limit of 1024" in done.err and "--max-addresses" in done.err
    assert "Traceback" not in done.text
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_max_addresses_raises_the_limit_and_states_a_bad_value(tmp_path, pki, three_services, cli, monkeypatch):
    _, open_port, _ = three_services
    monkeypatch.setenv("CERTSCAN_CA_BUNDLE", str(pki.ca_file))
    args = ("inventory", "--endpoint-range", f"{RANGE}:{open_port}", "--max-addresses")

    narrow = cli(*args, "5", "--export-json", tmp_path / "a.json")
    wide = cli(*args, "6", "--export-json", tmp_path / "b.json")
    bad = cli(*args, "lots", "--export-json", tmp_path / "c.json")

    assert narrow.code == 2 and "6 addresses, more than the limit of 5" in narrow.err
    assert wide.code == 0, wide
    assert len(json.loads((tmp_path / "b.json").read_text())["certificates"]) == 3
    assert bad.code == 2 and "--max-addresses" in bad.err and "whole number" in bad.err


@pytest.mark.parametrize("text", ["127.0.0.1:443", "127.0.0.0/33:443", "127.0.0.0/30:", "127.0.0.0/30:0",
                                  "127.0.0.0/30:https", "\x1b[31mred/30:443"])
def test_a_bad_range_is_exit_2_naming_the_option(text, tmp_path, cli):
    done = cli("scan", "--endpoint-range", text, "--output-dir", tmp_path / "out")

    assert done.code == 2, done
    assert "--endpoint-range" in done.err and "CIDR:PORTS" in done.err
    assert "\x1b" not in done.out + done.err and "Traceback" not in done.out + done.err


def test_sni_without_a_range_is_a_usage_error(cli, tmp_path):
    done = cli("scan", "--endpoint", "127.0.0.1:1", "--sni", "www.example.test", "--output-dir", tmp_path / "out")

    assert done.code == 2, done
    assert "--sni" in done.err and "--endpoint-range" in done.err
