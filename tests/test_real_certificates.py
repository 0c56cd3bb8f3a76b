"""Issue 20: right on real certificates - self-signed whatever the hash, weak signatures
(SIG-001), the served chain (CHAIN-001), the CA/B Forum validity schedule (VALIDITY-001),
and a corpus nobody here made (the certifi bundle, the system trust store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from scanner.collect.x509facts import is_self_signed, signature_hash
from scanner.model import Certificate
from scanner.packs.loader import load_rules, parse_param_overrides
from sources_support import NOW, make_cert, resigned, tls_servers  # noqa: F401
from tests.conftest import REPO
from tests.test_shipped_rules import AS_OF, result_of, rules  # noqa: F401 - rules is a fixture
from tests.results_support import load_results

# resigned() uses pyOpenSSL's deprecated X509.sign: cryptography refuses to sign with SHA-1 or MD5
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SYSTEM_STORE = Path("/etc/ssl/certs/ca-certificates.crt")


def run_certscan(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


# --- the corpus ---------------------------------------------------------------------------------

def independent_read(cert: x509.Certificate) -> dict:
    """What cryptography itself says of a certificate, read without certscan's code."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        algorithm, size, curve = "RSA", key.key_size, None
    elif isinstance(key, ec.EllipticCurvePublicKey):
        names = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        algorithm, size, curve = "EC", key.curve.key_size, names.get(key.curve.name, key.curve.name)
    elif isinstance(key, ed25519.Ed25519PublicKey):
        algorithm, size, curve = "ED25519", 256, None
    else:
        algorithm, size, curve = type(key).__name__, None, None
    digest = cert.signature_hash_algorithm
    return {"key_algorithm": algorithm, "key_size": size, "key_curve": curve,
            "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "signature_hash": digest.name.upper().replace("-", "") if digest else None,
            "subject": cert.subject.rfc4514_string(), "serial": format(cert.serial_number, "x")}


CORPORA = [pytest.param(Path(certifi.where()), id="certifi"),
           pytest.param(SYSTEM_STORE, id="system-store",
                        marks=pytest.mark.skipif(not SYSTEM_STORE.is_file(), reason="no system trust store here"))]


@pytest.mark.parametrize("bundle", CORPORA)
def test_every_root_of_a_real_bundle_is_self_signed_and_read_right(bundle, tmp_path):
    with warnings.catch_warnings():  # a root with a negative serial number: cryptography warns, still reads
        warnings.simplefilter("ignore")
        roots = x509.load_pem_x509_certificates(bundle.read_bytes())
    copy = tmp_path / "roots.pem"
    copy.write_bytes(bundle.read_bytes())
    out = tmp_path / "inventory.json"

    proc = run_certscan("inventory", "--path", copy, "--export-json", out)

    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    records = {c["id"]: c for c in json.loads(out.read_text())["certificates"]}
    assert len(records) == len(roots) > 50
    for number, root in enumerate(roots, start=1):
        record = records[f"{copy}#{number}"]
        expected = independent_read(root)
        assert {k: record[k] for k in expected} == expected, record["id"]
        assert record["self_signed"] is True, f"{expected['subject']} ({record['signature_algorithm']})"
        assert root.issuer == root.subject  # the corpus really is roots


def test_sha1_roots_of_certifi_are_self_signed():
    """The three real roots the first version called 'not self-signed' (SHA-1 signatures)."""
    roots = x509.load_pem_x509_certificates(Path(certifi.where()).read_bytes())
    sha1 = [r for r in roots if isinstance(r.signature_hash_algorithm, hashes.SHA1)]
    assert sha1, "certifi no longer ships a SHA-1 root; this test lost its subject"
    assert all(is_self_signed(r) is True for r in sha1)


# --- self-signed, whatever the hash -----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["ec-sha256", "rsa-sha1", "rsa-md5", "rsa-pss-sha256", "rsa-pss-sha384",
                                  "ed25519", "ed448"])
def test_self_signed_whatever_the_signature(kind):
    if kind.startswith("rsa-pss"):
        made = make_cert(rsa_bits=2048, pss=True, digest=hashes.SHA384() if kind.endswith("384") else None)
    elif kind.startswith("rsa"):
        made = resigned(make_cert(rsa_bits=2048), kind.split("-")[1])
    elif kind.startswith("ed"):
        made = make_cert(key_type=kind)
    else:
        made = make_cert()
    assert is_self_signed(made.cert) is True


def test_self_issued_but_signed_by_another_key_is_not_self_signed():
    other = make_cert("www.example.test")  # same subject, different key
    impostor = make_cert("www.example.test", issuer=other)  # subject = issuer, signature is other's
    assert impostor.cert.subject == impostor.cert.issuer
    assert is_self_signed(impostor.cert) is False
    sha1_impostor = resigned(make_cert("www.example.test", rsa_bits=2048), "sha1",
                             issuer=make_cert("www.example.test", rsa_bits=2048))
    assert is_self_signed(sha1_impostor.cert) is False


def test_issued_by_a_ca_is_not_self_signed():
    ca = make_cert("Example CA", ca=True)
    assert is_self_signed(make_cert("leaf.example.test", issuer=ca).cert) is False


@pytest.mark.parametrize("made, expected", [
    (lambda: make_cert(), "SHA256"),
    (lambda: make_cert(rsa_bits=2048, pss=True, digest=hashes.SHA512()), "SHA512"),
    (lambda: resigned(make_cert(rsa_bits=2048), "sha1"), "SHA1"),
    (lambda: resigned(make_cert(rsa_bits=2048), "md5"), "MD5"),
    (lambda: make_cert(key_type="ed25519"), None),
])
def test_signature_hash(made, expected):
    assert signature_hash(made().cert) == expected


# --- served certificates: SIG-001 and CHAIN-001 on a real TLS server --------------------------

def scan_endpoint(tmp_path, server, root: Path) -> dict:
    out = tmp_path / "out"
    proc = run_certscan("scan", "--endpoint", f"localhost:{server.port}", "--fail-on", "none", "--format", "json",
                        "--output-dir", out, env={"CERTSCAN_CA_BUNDLE": str(root)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = load_results(out / "certscan-results.json")
    inventory = json.loads((out / "certscan-inventory.json").read_text())
    return {"results": {r["rule_id"]: r for r in results["results"]}, "record": inventory["certificates"][0]}


def chain_of(*made) -> bytes:
    return b"".join(m.pem for m in made)


def test_endpoint_serving_a_sha1_leaf_fails_sig_001(tmp_path, tls_servers):
    root = make_cert("Example Root", ca=True, days=3650)
    intermediate = make_cert("Example Issuing CA", ca=True, issuer=root, days=1000)
    leaf = resigned(make_cert("localhost", sans=["localhost"], rsa_bits=2048, days=60), "sha1", issuer=intermediate)
    (tmp_path / "root.pem").write_bytes(root.pem)
    server = tls_servers(chain_of(leaf, intermediate), leaf.key_pem)

    scanned = scan_endpoint(tmp_path, server, tmp_path / "root.pem")

    record = scanned["record"]
    assert record["signature_hash"] == "SHA1" and record["signature_algorithm"] == "ecdsa-with-SHA1"  # an EC CA
    assert record["trusted"] is True and record["self_signed"] is False
    sig = scanned["results"]["SIG-001"]
    assert sig["status"] == "fail" and sig["severity"] == "high"  # publicly trusted (by this trust store)
    assert "ecdsa-with-SHA1" in sig["message"]
    assert scanned["results"]["CHAIN-001"]["status"] == "pass"


def test_sha1_intermediate_fails_sig_001_and_is_named(tmp_path, tls_servers):
    root = make_cert("Example Root", ca=True, days=3650)
    intermediate = resigned(make_cert("Old Issuing CA", ca=True, rsa_bits=2048, days=1000), "sha1", issuer=root)
    leaf = make_cert("localhost", sans=["localhost"], issuer=intermediate, days=60)
    (tmp_path / "root.pem").write_bytes(root.pem)
    server = tls_servers(chain_of(leaf, intermediate), leaf.key_pem)

    scanned = scan_endpoint(tmp_path, server, tmp_path / "root.pem")

    chain = scanned["record"]["chain"]
    assert [(c["subject"], c["signature_hash"]) for c in chain] == [("CN=Old Issuing CA", "SHA1")]
    sig = scanned["results"]["SIG-001"]
    assert sig["status"] == "fail" and "CN=Old Issuing CA" in sig["message"]


def test_endpoint_whose_intermediate_expires_in_5_days_fails_chain_001(tmp_path, tls_servers):
    root = make_cert("Example Root", ca=True, days=3650)
    intermediate = make_cert("Example Issuing CA", ca=True, issuer=root, days=6)  # from NOW-1d: 5 days left
    leaf = make_cert("localhost", sans=["localhost"], issuer=intermediate, days=61)
    (tmp_path / "root.pem").write_bytes(root.pem)
    server = tls_servers(chain_of(leaf, intermediate, root), leaf.key_pem)

    scanned = scan_endpoint(tmp_path, server, tmp_path / "root.pem")

    record = scanned["record"]
    assert [c["subject"] for c in record["chain"]] == ["CN=Example Issuing CA", "CN=Example Root"]
    assert record["chain"][1]["self_signed"] is True
    assert record["chain_not_after"] == intermediate.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    chain = scanned["results"]["CHAIN-001"]
    assert chain["status"] == "fail" and chain["severity"] == "high"  # CRITICAL_7D, like a leaf
    assert "CN=Example Issuing CA" in chain["message"]
    assert scanned["results"]["EXP-002"]["status"] == "pass"  # the leaf itself has 60 days
    assert scanned["results"]["SIG-001"]["status"] == "pass"


# --- CHAIN-001 and VALIDITY-001 on records, at their boundaries -------------------------------


def endpoint(**kw) -> Certificate:
    from scanner.model import ChainCertificate
    chain = [ChainCertificate(subject="CN=CA", not_after=kw.pop("chain_not_after"))] if "chain_not_after" in kw else []
    base = dict(id="www.example.com:443", source="tls", domain="www.example.com", trusted=True, in_use=True,
                not_before=AS_OF - timedelta(days=10), not_after=AS_OF + timedelta(days=60), chain=chain,
                chain_not_after=chain[0].not_after if chain else None)
    base.update(kw)
    return Certificate(**base)


@pytest.mark.parametrize("chain_days, leaf_days, status", [
    (-1, 60, "fail"),      # an expired chain certificate fails whatever the leaf
    (30, 60, "fail"),      # within the window and before the leaf
    (31, 60, "pass"),      # outside the window
    (20, 10, "pass"),      # after the leaf: renewing the leaf (EXP-002) comes first
    (-1, -5, "fail"),
])
def test_chain_001_window(rules, chain_days, leaf_days, status):
    cert = endpoint(chain_not_after=AS_OF + timedelta(days=chain_days, hours=1 if chain_days >= 0 else 0),
                    not_after=AS_OF + timedelta(days=leaf_days, hours=2))
    assert result_of(rules, "CHAIN-001", cert).status == status


def test_chain_001_not_applicable_without_a_served_chain(rules):
    assert result_of(rules, "CHAIN-001", endpoint()).status == "not_applicable"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("not_before, limit", [
    ("2020-08-31T23:59:59Z", 825), ("2020-09-01T00:00:00Z", 398),
    ("2026-03-14T23:59:59Z", 398), ("2026-03-15T00:00:00Z", 200),
    ("2027-03-14T23:59:59Z", 200), ("2027-03-15T00:00:00Z", 100),
    ("2029-03-14T23:59:59Z", 100), ("2029-03-15T00:00:00Z", 47),
])
def test_validity_001_limit_on_each_side_of_each_schedule_date(rules, not_before, limit):
    start = at(not_before)
    # the CA/B Forum counts inclusively: limit days exactly is notAfter = notBefore + limit days - 1 s
    within = endpoint(not_before=start, not_after=start + timedelta(days=limit) - timedelta(seconds=1))
    one_second_over = endpoint(not_before=start, not_after=start + timedelta(days=limit))
    an_hour_over = endpoint(not_before=start, not_after=start + timedelta(days=limit, hours=1))
    assert within.cabf_validity_days == limit and an_hour_over.cabf_validity_days == limit + 1
    assert result_of(rules, "VALIDITY-001", within).status == "pass"
    for over in (one_second_over, an_hour_over):
        result = result_of(rules, "VALIDITY-001", over)
        assert result.status == "fail"
        assert f"at most {limit} days" in result.message and f"valid for {limit + 1} days" in result.message


def test_validity_001_judges_expired_certificates_too(rules):
    old = endpoint(not_before=at("2021-01-01T00:00:00Z"), not_after=at("2022-06-01T00:00:00Z"))  # 517 days
    result = result_of(rules, "VALIDITY-001", old)
    assert result.status == "fail" and "at most 398 days" in result.message


def test_validity_001_schedule_is_a_parameter():
    rules = load_rules(overrides=parse_param_overrides(
        ['VALIDITY-001.schedule=[{from: "2026-01-01T00:00:00Z", max_days: 90}]']))
    cert = endpoint(not_before=at("2026-02-01T00:00:00Z"), not_after=at("2026-06-01T00:00:00Z"))  # 120 days
    result = result_of(rules, "VALIDITY-001", cert)
    assert result.status == "fail" and "at most 90 days" in result.message
    earlier = endpoint(not_before=at("2025-06-01T00:00:00Z"), not_after=at("2026-12-01T00:00:00Z"))
    assert result_of(rules, "VALIDITY-001", earlier).status == "pass"  # before the schedule: no maximum


@pytest.mark.parametrize("value", ['"soon"', '[{max_days: 90}, {max_days: 80}]', '[{from: "2026-01-01"}]',
                                   '[{from: "2027-01-01T00:00:00Z", max_days: 1}, {from: "2026-01-01T00:00:00Z", max_days: 2}]'])
def test_a_schedule_that_is_not_one_is_exit_2(value):
    proc = run_certscan("validate", "--param", f"VALIDITY-001.schedule={value}")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "schedule" in (proc.stdout + proc.stderr)
