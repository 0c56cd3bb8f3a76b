"""`certscan scan --path DIR --endpoint 127.0.0.1:PORT --azure --vault-url URL` end to end,
in-process: real files, real TLS servers on loopback, the real Azure SDK over the simulated
Key Vault. Rules over the facts these sources add, per-unit errors with the rest scanned,
and no private key material in any output."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from scanner.cli import run
from scanner.collect.azure_keyvault import calendar_months
from scanner.inputs.inventory_file import load_inventory
from scanner.simulate.azure_keyvault_fake import LifetimeAction, Policy
from sources_support import (NOW, azure_seams, free_port, keyvault, leaf_pems, make_cert, pki,  # noqa: F401
                             tls_servers)
from tests.results_support import load_results

SHOP = "https://shop.vault.azure.net"
DENIED = "https://denied.vault.azure.net"
CANARY = "CERTSCAN-KEY-CANARY-5b1e0c"

# The rules the shipped packs will hold for these sources, over the fields this issue adds.
PACK = """
apiVersion: certscan/v1
kind: RulePack
metadata: {name: sources-under-test, version: 1.0.0}
rules:
  - id: TLS-101
    title: Served certificate matches the host name
    severity: high
    resource: tls
    assert: {field: hostname_match, op: eq, value: true}
    message: "{id} serves a certificate for {domain}"
  - id: TLS-102
    title: Served chain is complete
    severity: medium
    resource: tls
    assert: {field: chain_complete, op: eq, value: true}
    message: "{id} does not serve its intermediate certificates"
  - id: TLS-103
    title: Endpoint certificate is not self-signed
    severity: high
    resource: tls
    assert: {field: self_signed, op: ne, value: true}
    message: "{id} serves a self-signed certificate"
  - id: AKV-101
    title: Key Vault certificate auto-renews at least 30 days before expiry
    severity: high
    resource: azure.keyvault
    applies: {field: status, op: eq, value: CURRENT}
    assert:
      all:
        - {field: renewal_action, op: eq, value: AutoRenew}
        - {field: renew_days_before_expiry, op: ge, value: 30}
    message: "{name} renewal: {renewal_action}, {renew_days_before_expiry} days before expiry"
  - id: AKV-102
    title: Key Vault certificate validity is 12 months or less
    severity: medium
    resource: azure.keyvault
    applies: {field: status, op: eq, value: CURRENT}
    assert: {field: validity_months, op: le, value: 12}
    message: "{name} is valid for {validity_months} months"
  - id: FILE-101
    title: No private key stored beside a certificate
    severity: high
    resource: file
    assert: {field: private_key_present, op: ne, value: true}
    message: "{id}: private key stored in the same file or folder"
"""


@pytest.fixture
def with_seams(monkeypatch):
    """The CLI builds SourceOptions from its flags; tests add the simulated Azure seams to them."""
    import scanner.commands.scan as scan_command

    def inject(seams: dict) -> None:
        original = scan_command.build_sources

        def build_with_seams(*args, **kwargs):
            options = original(*args, **kwargs)
            options.seams.update(seams)
            return options

        monkeypatch.setattr(scan_command, "build_sources", build_with_seams)

    return inject


@pytest.fixture
def estate(tmp_path, pki, tls_servers, keyvault, with_seams, monkeypatch, free_port):
    """A tree of files, endpoints and vaults, with one broken file, one refused endpoint and
    one vault that denies access."""
    tree = tmp_path / "tree"
    (tree / "site").mkdir(parents=True)
    good = make_cert("files.example.test", days=200)
    (tree / "good.pem").write_bytes(good.pem)
    (tree / "site" / "cert.pem").write_bytes(make_cert("site.example.test").pem)
    key_pem = make_cert("site.example.test").key_pem
    # like openssl's "Bag Attributes" preamble: text before the block that must never surface
    (tree / "site" / "privkey.pem").write_bytes(f"friendlyName: {CANARY}\n".encode() + key_pem)
    (tree / "broken.crt").write_bytes(b"\x00\x01 this is not a certificate " * 20)

    chain, _, key = leaf_pems(pki.intermediate.issue_cert("127.0.0.1"))
    good_server = tls_servers(chain, key)
    chain, _, key = leaf_pems(pki.intermediate.issue_cert("www.elsewhere.test"))
    wrong_server = tls_servers(chain, key)
    monkeypatch.setenv("CERTSCAN_CA_BUNDLE", str(pki.ca_file))

    vault = keyvault.vault(SHOP)
    vault.add_certificate("web", make_cert("web.example.test", not_before=NOW - timedelta(days=5), days=365).cert,
                          policy=Policy(issuer_name="DigiCert", validity_months=12,
                                        lifetime_actions=[LifetimeAction("AutoRenew", days_before_expiry=30)]))
    vault.add_certificate("legacy", make_cert("legacy.example.test", not_before=NOW - timedelta(days=5),
                                              days=397).cert)  # imported: Unknown issuer, EmailContacts
    # rotated: an old wildcard version, superseded by a current one
    vault.add_certificate("rotated", make_cert("*.rotated.example.test", not_before=NOW - timedelta(days=400),
                                               days=410).cert)
    vault.add_certificate("rotated", make_cert("api.rotated.example.test", not_before=NOW - timedelta(days=5),
                                               days=365).cert)
    keyvault.vault(DENIED).add_certificate("hidden", make_cert("hidden.example.test").cert)
    keyvault.fail(DENIED, 403, message="Caller is not authorized to perform action on resource.")
    with_seams(azure_seams(keyvault))

    pack = tmp_path / "pack.yaml"
    pack.write_text(PACK)
    return {"tree": tree, "good": good_server.endpoint, "wrong": wrong_server.endpoint, "pack": pack,
            "refused": f"127.0.0.1:{free_port}", "key_pem": key_pem, "out": tmp_path / "reports"}


def scan_args(estate, *extra):
    return ["scan", "--path", str(estate["tree"]), "--endpoint", estate["good"], "--endpoint", estate["wrong"],
            "--endpoint", estate["refused"], "--azure", "--vault-url", SHOP, "--vault-url", DENIED,
            "--rules", str(estate["pack"]), "--output-dir", str(estate["out"]), "--format", "json", "--quiet", *extra]


def results_by_key(out: Path) -> dict[tuple[str, str], dict]:
    data = load_results(out / "certscan-results.json")
    return {(r["rule_id"], r["resource_id"]): r for r in data["results"]}


def test_scan_all_three_sources_with_rules(estate, capsys):
    code = run(scan_args(estate))

    assert code == 3  # a file, an endpoint and a vault could not be read: incomplete without --allow-partial
    out = estate["out"]
    results = results_by_key(out)
    tree = estate["tree"]
    status = {key: r["status"] for key, r in results.items()}
    assert status[("TLS-101", estate["good"])] == "pass"
    assert status[("TLS-101", estate["wrong"])] == "fail"
    assert "www.elsewhere.test" in results[("TLS-101", estate["wrong"])]["message"]
    assert status[("TLS-102", estate["good"])] == "pass" and status[("TLS-103", estate["good"])] == "pass"
    assert status[("FILE-101", str(tree / "good.pem"))] == "pass"
    assert status[("FILE-101", str(tree / "site" / "cert.pem"))] == "fail"
    web = next(k[1] for k in results if k[0] == "AKV-101" and "/certificates/web/" in k[1])
    legacy = next(k[1] for k in results if k[0] == "AKV-101" and "/certificates/legacy/" in k[1])
    assert (status[("AKV-101", web)], status[("AKV-102", web)]) == ("pass", "pass")
    assert (status[("AKV-101", legacy)], status[("AKV-102", legacy)]) == ("fail", "fail")
    legacy_months = calendar_months(NOW - timedelta(days=5), NOW + timedelta(days=392))  # from the body's dates
    assert legacy_months > 12
    assert results[("AKV-102", legacy)]["message"] == f"legacy is valid for {legacy_months} months"

    data = load_results(out / "certscan-results.json")
    errors = {(e["source"], e["resource"]): e["code"] for e in data["errors"]}
    assert errors == {("file", str(tree / "broken.crt")): "NotACertificate",
                      ("tls", estate["refused"]): "ConnectionRefused",
                      ("azure.keyvault", DENIED): "Forbidden"}
    units = {c["unit"]: c for c in data["coverage"]}
    assert units[f"tls/{estate['refused']}"]["complete"] is False
    assert units[f"azure.keyvault/{DENIED}"]["complete"] is False
    assert {f"tls/{estate['good']}", f"tls/{estate['wrong']}", f"azure.keyvault/{SHOP}",
            f"file/{tree / 'broken.crt'}", f"file/{tree / 'site' / 'privkey.pem'}"} <= set(units)

    inventory = load_inventory(out / "certscan-inventory.json")  # schema-valid and accepted back
    assert {c.source for c in inventory.certificates} == {"file", "tls", "azure.keyvault"}

    assert run(scan_args(estate, "--allow-partial")) == 1  # the findings gate once partial is allowed
    assert "broken.crt" in capsys.readouterr().out


def test_no_private_key_material_in_any_output(estate, capsys):
    run(scan_args(estate, "--allow-partial"))
    console = capsys.readouterr()
    key_lines = [line for line in estate["key_pem"].decode().splitlines() if line and not line.startswith("-----")]
    assert len(key_lines) >= 2
    forbidden = [CANARY, "PRIVATE KEY", *key_lines]

    outputs = {str(path): path.read_text(errors="replace") for path in estate["out"].rglob("*") if path.is_file()}
    outputs["<stdout>"] = console.out
    outputs["<stderr>"] = console.err
    assert any("certscan-results.json" in name for name in outputs)
    for name, text in outputs.items():
        for needle in forbidden:
            assert needle not in text, f"{needle[:20]}... found in {name}"
    # the key file is reported, by name, as a private key: that is all
    inventory = json.loads((estate["out"] / "certscan-inventory.json").read_text())
    flagged = [c["id"] for c in inventory["certificates"] if c["private_key_present"]]
    assert flagged == [str(estate["tree"] / "site" / "cert.pem")]


def test_bad_source_input_is_exit_2_without_traceback(tmp_path, capsys):
    assert run(["scan", "--path", str(tmp_path / "absent"), "--format", "json",
                "--output-dir", str(tmp_path / "out")]) == 2
    assert run(["scan", "--endpoint", "https://example.test/", "--output-dir", str(tmp_path / "out")]) == 2
    assert run(["scan", "--azure", "--vault-url", "http://shop.vault.azure.net",
                "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--path" in err and "--endpoint" in err and "--vault-url" in err
    assert "Traceback" not in err
    assert not os.path.exists(tmp_path / "out")


def test_shipped_rules_evaluate_these_sources(estate):
    args = scan_args(estate, "--allow-partial")
    at = args.index("--rules")
    del args[at:at + 2]  # the shipped packs
    assert run(args) == 1
    out = estate["out"]
    results = results_by_key(out)
    status = {key: r["status"] for key, r in results.items()}
    tree = estate["tree"]
    assert status[("TLS-001", estate["good"])] == "pass" and status[("TLS-001", estate["wrong"])] == "fail"
    assert status[("TLS-003", estate["good"])] == "pass"
    assert status[("FILE-001", str(tree / "site" / "cert.pem"))] == "fail"
    assert status[("FILE-001", str(tree / "good.pem"))] == "pass"
    assert status[("TAG-001", str(tree / "good.pem"))] == "not_applicable"
    assert status[("TAG-001", estate["good"])] == "not_applicable"
    inventory = json.loads((out / "certscan-inventory.json").read_text())
    versions = {c["id"]: c["status"] for c in inventory["certificates"] if c["source"] == "azure.keyvault"}
    assert "CURRENT" in versions.values() and "SUPERSEDED" in versions.values()
    for cert_id, version_status in versions.items():
        for rule_id in ("AKV-001", "AKV-002", "TAG-001", "WILDCARD-001", "EXP-002"):
            if version_status == "SUPERSEDED":  # a replaced version is not judged again
                assert status[(rule_id, cert_id)] == "not_applicable", (rule_id, cert_id)
    rotated = {s: c for c, s in versions.items() if "/certificates/rotated/" in c}
    assert status[("WILDCARD-001", rotated["CURRENT"])] == "pass"
    legacy = next(c for c, s in versions.items() if "/certificates/legacy/" in c and s == "CURRENT")
    assert status[("AKV-001", legacy)] == "fail" and status[("AKV-002", legacy)] == "fail"
