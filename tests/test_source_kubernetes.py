"""The Kubernetes source: the official client over HTTP to a loopback API server serving the
real REST paths, selected through a real kubeconfig file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from scanner.collect import SourceOptions
from scanner.collect.kubernetes import duration_days
from scanner.collect.runner import collect
from scanner.inputs.problems import InputError
from scanner.simulate.certs import SimulatedCA
from scanner.simulate.kubernetes_api import (TOKEN, FakeCluster, FakeKubernetesAPI, certificate, opaque_secret,
                                             tls_secret)

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
CERTSCAN = Path(sys.executable).parent / "certscan"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def pki():
    ca = SimulatedCA("certscan Test Cluster CA", now=NOW)
    return {
        "ca": ca,
        "web": ca.issue("web.shop.example", not_before=NOW - timedelta(days=60), not_after=NOW + timedelta(days=20)),
        "api": ca.issue("api.shop.example", not_before=NOW - timedelta(days=10), not_after=NOW + timedelta(days=80)),
        "old": ca.issue("old.shop.example", not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=3)),
    }


def shop_cluster(pki, **kwargs) -> FakeCluster:
    cluster = FakeCluster(**kwargs)
    web, api, old = pki["web"], pki["api"], pki["old"]
    # cert-manager writes web-tls; its last renewal failed and it expires inside the renewal window
    cluster.add_secret("shop", tls_secret("web-tls", web.certificate_pem, web.chain_pem, web.private_key_pem,
                                          labels={"owner": "web-team"}))
    cluster.add_certificate("shop", certificate(
        "web", "web-tls", ready=False, message="Issuing certificate as Secret was previously issued by a "
        "different issuer \x1b[31mred", not_after=_iso(NOW + timedelta(days=20)),
        renewal_time=_iso(NOW - timedelta(days=10)), failed_attempts=3, dns_names=["web.shop.example"]))
    # a hand-made TLS secret, no cert-manager, chain incomplete (leaf only)
    cluster.add_secret("shop", tls_secret("api-tls", api.certificate_pem, "", api.private_key_pem))
    # an Opaque secret with a CA bundle under ca.crt, and one that is not a certificate at all
    cluster.add_secret("shop", opaque_secret("trust", {"ca.crt": pki["ca"].pem}))
    cluster.add_secret("shop", opaque_secret("db-password", {"password": "hunter2"}))
    # a Certificate whose secret was never written (issuance keeps failing)
    cluster.add_certificate("shop", certificate("never", "never-tls", ready=False, message="Issuer not found",
                                                failed_attempts=5, dns_names=["never.shop.example"]))
    cluster.add_secret("legacy", tls_secret("old-tls", old.certificate_pem, old.chain_pem, old.private_key_pem,
                                            labels={"owner": "ops"}))
    return cluster


def _scan(kubeconfig: Path, **options) -> object:
    return collect(SourceOptions(kubernetes=True, kubeconfig=str(kubeconfig), quiet=True, **options), NOW)


def test_secrets_and_cert_manager_certificates_through_the_client(tmp_path, pki):
    cluster = shop_cluster(pki)
    with FakeKubernetesAPI({"prod": cluster}) as api:
        inventory = _scan(api.write_kubeconfig(tmp_path / "kubeconfig"))
    assert inventory.errors == []
    by_id = {c.id: c for c in inventory.certificates}
    assert sorted(by_id) == ["prod/legacy/Secret/old-tls", "prod/shop/Certificate/never", "prod/shop/Certificate/web",
                             "prod/shop/Secret/api-tls", "prod/shop/Secret/trust"]
    web = by_id["prod/shop/Certificate/web"]
    assert (web.source, web.account, web.region, web.name) == ("kubernetes", "prod", "shop", "web")
    assert web.domain == "web.shop.example" and web.not_after == NOW + timedelta(days=20)
    assert web.status == "NOT_READY" and web.failed_attempts == 3 and "different issuer" in web.status_message
    assert web.renewal_time == NOW - timedelta(days=10) and web.renew_days_before_expiry == 30
    assert web.issuer_name == "ClusterIssuer/letsencrypt" and web.auto_renew is True
    assert web.private_key_present is True and web.chain_complete is True and web.tags == {"owner": "web-team"}
    never = by_id["prod/shop/Certificate/never"]
    assert never.not_after is None and never.domain == "never.shop.example" and never.failed_attempts == 5
    api_tls = by_id["prod/shop/Secret/api-tls"]
    assert api_tls.chain_complete is False and api_tls.status is None and api_tls.type == "kubernetes.io/tls"
    assert by_id["prod/shop/Secret/trust"].self_signed is True
    # units are context x namespace, each complete, cert-manager present
    assert [(c.unit, c.count, c.complete, c.service) for c in inventory.coverage] == [
        ("kubernetes/prod/legacy", 1, True, "secrets, cert-manager"),
        ("kubernetes/prod/shop", 4, True, "secrets, cert-manager")]
    # the cluster-wide lists were used, paged; discovery was asked once
    assert cluster.requests.count("/apis") == 1
    assert "/api/v1/secrets" in cluster.requests and "/apis/cert-manager.io/v1/certificates" in cluster.requests


def test_namespaced_role_reads_each_namespace_and_a_forbidden_one_is_its_units_error(tmp_path, pki):
    cluster = shop_cluster(pki, forbidden_namespaces={"legacy"})
    with FakeKubernetesAPI({"prod": cluster}) as api:
        inventory = _scan(api.write_kubeconfig(tmp_path / "kubeconfig"))
    assert "/api/v1/namespaces/shop/secrets" in cluster.requests  # fell back to per-namespace reads
    assert {c.region for c in inventory.certificates} == {"shop"}
    assert [(e.code, e.unit, e.region) for e in inventory.errors] == [("Forbidden", "kubernetes/prod/legacy", "legacy")]
    assert {c.unit: c.complete for c in inventory.coverage} == {"kubernetes/prod/legacy": False,
                                                                "kubernetes/prod/shop": True}
    assert not inventory.complete


def test_cluster_without_cert_manager_is_no_error_and_coverage_says_so(tmp_path, pki):
    cluster = shop_cluster(pki, cert_manager=False)
    with FakeKubernetesAPI({"dev": cluster}) as api:
        inventory = _scan(api.write_kubeconfig(tmp_path / "kubeconfig"), namespaces=["shop"])
    assert inventory.errors == []
    assert [c.service for c in inventory.coverage] == ["secrets; cert-manager absent"]
    assert not any("cert-manager.io" in r for r in cluster.requests if r != "/apis")
    # without cert-manager the secret cert-manager would have written is a plain secret record
    assert {c.id for c in inventory.certificates} == {"dev/shop/Secret/web-tls", "dev/shop/Secret/api-tls",
                                                      "dev/shop/Secret/trust"}


def test_contexts_are_chosen_from_the_kubeconfig_and_shards_split_the_units(tmp_path, pki):
    clusters = {"prod": shop_cluster(pki), "stage": shop_cluster(pki)}
    with FakeKubernetesAPI(clusters) as api:
        config = api.write_kubeconfig(tmp_path / "kubeconfig", current="stage")
        current = _scan(config)
        both = _scan(config, kube_contexts=["prod", "stage"])
        shards = [_scan(config, kube_contexts=["prod", "stage"], shard=(i, 2)) for i in (1, 2)]
        with pytest.raises(InputError, match="'nope' not in"):
            _scan(config, kube_contexts=["nope"])
    assert {c.account for c in current.certificates} == {"stage"}
    assert {c.account for c in both.certificates} == {"prod", "stage"}
    units = sorted(c.unit for c in both.coverage)
    assert sorted(u for s in shards for u in (c.unit for c in s.coverage)) == units
    assert all(s.coverage for s in shards)


def test_namespace_listing_forbidden_asks_for_namespace(tmp_path, pki):
    cluster = shop_cluster(pki, forbid_namespace_list=True, forbid_cluster_wide=True)
    with FakeKubernetesAPI({"prod": cluster}) as api:
        config = api.write_kubeconfig(tmp_path / "kubeconfig")
        blind = _scan(config)
        named = _scan(config, namespaces=["shop"])
    assert [e.code for e in blind.errors] == ["Forbidden"] and "--namespace" in blind.errors[0].message
    assert named.errors == [] and {c.region for c in named.certificates} == {"shop"}


def test_hostile_answers_are_errors_never_crashes(tmp_path, pki):
    cluster = shop_cluster(pki)
    cluster.add_secret("shop", {"metadata": {"name": "bad-pem"}, "type": "kubernetes.io/tls",
                                "data": {"tls.crt": "bm90IGEgY2VydA==", "tls.key": "eA=="}})
    cluster.add_secret("shop", {"metadata": {"name": "not-b64"}, "type": "kubernetes.io/tls",
                                "data": {"tls.crt": "%%%"}})
    cluster.add_secret("shop", {"metadata": "nonsense", "data": 7})
    cluster.add_certificate("shop", {"metadata": {"name": "odd"}, "spec": {"renewBefore": "forever", "issuerRef": 3,
                                                                         "dnsNames": "x"},
                                     "status": {"conditions": "no", "failedIssuanceAttempts": "many",
                                                "notAfter": "yesterday"}})
    with FakeKubernetesAPI({"prod": cluster}) as api:
        inventory = _scan(api.write_kubeconfig(tmp_path / "kubeconfig"), namespaces=["shop"])
    codes = sorted((e.code, e.resource) for e in inventory.errors)
    assert codes == [("InvalidCertificate", "prod/shop/Secret/bad-pem"), ("InvalidCertificate", "prod/shop/Secret/not-b64")]
    odd = next(c for c in inventory.certificates if c.name == "odd")
    assert odd.status == "NOT_READY" and odd.failed_attempts == 0 and odd.renew_days_before_expiry is None


def test_wrong_token_is_a_collection_error(tmp_path, pki):
    with FakeKubernetesAPI({"prod": shop_cluster(pki)}) as api:
        inventory = _scan(api.write_kubeconfig(tmp_path / "kubeconfig", token="wrong"), namespaces=["shop"])
    assert [e.code for e in inventory.errors] == ["Unauthorized"] and not inventory.complete


def test_bad_kubeconfig_is_exit_2_naming_it(tmp_path):
    broken = tmp_path / "kubeconfig"
    broken.write_text("clusters: [unclosed\n")
    with pytest.raises(InputError) as caught:
        _scan(broken)
    assert str(broken) in str(caught.value)
    with pytest.raises(InputError, match="no such file"):
        _scan(tmp_path / "missing")


@pytest.mark.parametrize(("text", "days"), [("720h", 30), ("1440h0m0s", 60), ("90m", 0), ("", None), ("7d", None),
                                             ("h", None), ("1" * 80 + "h", None)])
def test_go_durations(text, days):
    assert duration_days(text) == days


def test_scan_kubernetes_end_to_end_judges_reports_and_leaks_no_secret(tmp_path, pki):
    """The installed CLI: finds the cluster's certificates, judges them (K8S-001, EXP-002),
    writes every output, and no private key, token or password reaches any of them."""
    cluster = shop_cluster(pki)
    out = tmp_path / "reports"
    with FakeKubernetesAPI({"prod": cluster}) as api:
        config = api.write_kubeconfig(tmp_path / "kubeconfig")
        proc = subprocess.run(
            [str(CERTSCAN), "scan", "--kubernetes", "--kubeconfig", str(config), "--as-of", "2026-06-01",
             "--format", "json,sarif,junit,markdown,csv,html,evidence", "--output-dir", str(out), "--fail-on", "high"],
            capture_output=True, text=True, timeout=180, env={**os.environ, "COLUMNS": "80"})
    results = json.loads((out / "certscan-results.json").read_text())
    assert proc.returncode == 1, [(r["rule_id"], r["resource_id"], r["message"]) for r in results["results"]
                                  if r["status"] == "error"]
    fails = {(r["rule_id"], r["resource_id"]): r for r in results["results"] if r["status"] == "fail"}
    web = fails[("K8S-001", "prod/shop/Certificate/web")]
    assert web["severity"] == "high"  # inside its 30-day renewal window
    assert fails[("K8S-001", "prod/shop/Certificate/never")]["severity"] == "medium"
    assert ("K8S-001", "prod/shop/Secret/api-tls") not in fails
    assert fails[("EXP-002", "prod/shop/Certificate/web")]["severity"] == "medium"
    assert fails[("EXP-002", "prod/legacy/Secret/old-tls")]["severity"] == "critical"
    assert ("TAG-001", "prod/shop/Secret/api-tls") in fails and ("TAG-001", "prod/legacy/Secret/old-tls") not in fails
    with zipfile.ZipFile(next(out.glob("*.zip"))) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        texts = {name: bundle.read(name) for name in bundle.namelist()}
    assert manifest["sources"]["kube_contexts"] == ["prod"] and manifest["sources"]["namespaces"] == ["legacy", "shop"]
    # the canary: no key bytes (PEM body or base64 as stored in the secret), token or password anywhere
    canaries = [pki[n].private_key_pem.splitlines()[1] for n in ("web", "api", "old")] + [TOKEN, "hunter2"]
    canaries += [tls_secret("x", "", key_pem=pki["web"].private_key_pem)["data"]["tls.key"][:40]]
    outputs = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} | texts
    outputs["stdout"], outputs["stderr"] = proc.stdout.encode(), proc.stderr.encode()
    for name, data in outputs.items():
        for canary in canaries:
            assert canary.encode() not in data, f"{name} leaks a secret"
    assert "\x1b" not in proc.stdout  # the hostile Ready message reaches the console escaped


def test_configuration_file_section_selects_and_configures_the_source(tmp_path, pki):
    """The kubernetes: section of --config is the registry's fragment: it selects the source,
    and the command line wins over it."""
    from scanner.commands.common import build_sources
    from scanner.inputs.config import load_config

    with FakeKubernetesAPI({"prod": shop_cluster(pki)}) as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        config_file = tmp_path / "certscan.yaml"
        config_file.write_text(f"apiVersion: certscan/v1\nkind: Config\nkubernetes:\n  kubeconfig: {kubeconfig}\n"
                               "  contexts: [prod]\n  namespaces: [legacy]\n")
        options = build_sources(load_config(str(config_file)), quiet=True)
        assert options.kubernetes and options.namespaces == ["legacy"] and options.kube_contexts == ["prod"]
        assert {c.region for c in collect(options, NOW).certificates} == {"legacy"}
        overridden = build_sources(load_config(str(config_file)), namespace=["shop"], quiet=True)
        assert {c.region for c in collect(overridden, NOW).certificates} == {"shop"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: certscan/v1\nkind: Config\nkubernetes:\n  namespace: shop\n")
    with pytest.raises(InputError, match="namespace"):
        load_config(str(bad))
