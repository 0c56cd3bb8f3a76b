"""certscan-evidence.zip: contents, manifest schema, determinism, signature, tampering, replay."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
import struct
import zipfile
from pathlib import Path

import jsonschema
import pytest

from scanner.inputs import resources
from scanner.cli import run
from scanner.model import parse_time
from scanner.evidence import bundle as evidence
from scanner.report import results_json
from tests.outputs.outputs_support import (AS_OF, INVENTORY, PACK, WAIVERS, in_repo, make_keypair,
                                           run_in_repo, scan_argv)
from tests.results_support import load_results

BUNDLE = "certscan-evidence.zip"
CERTSCAN = str(Path(sys.executable).with_name("certscan"))


def entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def manifest_of(path: Path) -> dict:
    return json.loads(entries(path)["manifest.json"])


def rewrite(src: Path, dst: Path, replace: dict[str, bytes] | None = None, drop: set[str] = frozenset(),
            add: dict[str, bytes] | None = None) -> Path:
    """A copy of a bundle with entries changed, removed or added: a valid zip, so only the
    manifest can tell."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            if info.filename in drop:
                continue
            data = (replace or {}).get(info.filename, old.read(info.filename))
            new.writestr(info, data)
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return dst


def verify(capsys, bundle: Path, *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = run(["evidence", "verify", str(bundle), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# --- contents -----------------------------------------------------------------------------

def test_manifest_validates_and_lists_every_other_file(full_scan):
    bundle = entries(full_scan.dir / BUNDLE)
    manifest = json.loads(bundle["manifest.json"])
    jsonschema.Draft202012Validator(resources.schema("evidence-manifest.schema.json")).validate(manifest)
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(bundle) - {"manifest.json", "manifest.sig"}
    for name, entry in listed.items():
        assert entry["size"] == len(bundle[name])
        assert entry["sha256"] == hashlib.sha256(bundle[name]).hexdigest()
    assert {"inventory.json", "results.json", "controls.csv", "certscan.sarif", "certscan-junit.xml",
            "certscan-report.md"} <= set(listed)
    assert manifest["scan_id"] == full_scan.json("certscan-results.json")["scan_id"]
    assert manifest["as_of"] == AS_OF
    assert manifest["started_at"] <= manifest["finished_at"]
    assert manifest["arguments"][:3] == ["certscan", "scan", "--inventory"]
    assert "--sign-key" not in manifest["arguments"] and manifest["signature"] is None


def test_sources_identities_and_coverage_come_from_the_scan(full_scan):
    manifest = manifest_of(full_scan.dir / BUNDLE)
    sources = manifest["sources"]
    assert sources["aws_accounts"] == ["111111111111", "222222222222", "333333333333"]
    assert sources["azure_subscriptions"] == ["00000000-0000-0000-0000-000000000001"]
    assert sources["vault_urls"] == ["https://kv-prod.vault.azure.net"]
    assert sources["paths"] == ["certs/web.pem"]
    assert sources["endpoints"] == ["127.0.0.1:8443"]
    assert "us-west-2" in sources["regions"]  # a unit reached with 0 certificates still counts
    inventory = json.loads(INVENTORY.read_text())
    assert {c["unit"] for c in manifest["coverage"]} == {c["unit"] for c in inventory["coverage"]}
    assert manifest["errors"] == []


def test_rule_packs_and_waivers_are_the_bytes_used(full_scan):
    bundle = entries(full_scan.dir / BUNDLE)
    manifest = json.loads(bundle["manifest.json"])
    (pack,) = manifest["rule_packs"]
    assert bundle[pack["file"]] == PACK.read_bytes()
    assert pack["sha256"] == hashlib.sha256(PACK.read_bytes()).hexdigest()
    assert pack["display_path"] == "tests/fixtures/outputs/rules/certificates.yaml"
    assert bundle[manifest["waivers"]["file"]] == WAIVERS.read_bytes()


def test_results_hold_every_status_and_the_control_matrix_counts_them(full_scan):
    bundle = entries(full_scan.dir / BUNDLE)
    results = json.loads(bundle["results.json"])["results"]
    assert {r["status"] for r in results} == {"pass", "fail", "waived", "not_applicable", "error"}
    assert json.loads(bundle["inventory.json"]) == json.loads((full_scan.dir / "certscan-inventory.json").read_text())
    rows = list(csv.DictReader(io.StringIO(bundle["controls.csv"].decode())))
    row = next(r for r in rows if r["framework"] == "iso27001-2022" and r["control"] == "A.8.24")
    assert row["title"] == "Use of cryptography"
    assert "ACM-003:judgment" in row["basis"] and "WILDCARD-001" in row["rules"]
    mapped = {"ACM-003", "WILDCARD-001"}
    for status in ("pass", "fail", "waived"):
        assert int(row[status]) == sum(r["status"] == status for r in results if r["rule_id"] in mapped)


def test_archive_is_deterministic(full_scan):
    report = results_json.read(full_scan.dir / "certscan-results.json")
    report.started_at = report.finished_at = parse_time("2026-06-01T00:05:00Z")  # a scan's own run times
    with in_repo():
        first, second = evidence.build(report), evidence.build(report)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.create_system == 3


# --- verification and tampering ------------------------------------------------------------

def test_unsigned_bundle_is_not_verified_unless_integrity_only(full_scan, capsys):
    code, output = verify(capsys, full_scan.dir / BUNDLE)
    assert code == 1 and "not signed" in output and "--integrity-only" in output
    code, output = verify(capsys, full_scan.dir / BUNDLE, "--integrity-only")
    assert code == 0, output
    assert "INTEGRITY ONLY" in output and "signer unproven" in output and "not signed" in output


def test_signed_bundle_verifies_with_its_public_key(signed_scan, keypair, capsys):
    bundle = signed_scan.dir / BUNDLE
    assert "manifest.sig" in entries(bundle)
    code, output = verify(capsys, bundle, "--public-key", str(keypair.public_path))
    assert code == 0 and "VERIFIED" in output and "signed by the --public-key" in output, output
    # the key named in the manifest proves integrity, not identity: not verified by default
    code, output = verify(capsys, bundle)
    assert code == 1 and "signed only by the key in its own manifest" in output and "--public-key" in output
    code, output = verify(capsys, bundle, "--integrity-only")
    assert code == 0 and "signer unproven" in output and "signed only by the key in its own manifest" in output
    assert verify(capsys, bundle, "--integrity-only", "--public-key", str(keypair.public_path))[0] == 2


def test_verify_json_output_for_tools(signed_scan, keypair, capsys):
    code, output = verify(capsys, signed_scan.dir / BUNDLE, "--public-key", str(keypair.public_path), "--json")
    document = json.loads(output)
    assert code == 0 and document["ok"] is True and document["signature_valid"] is True
    assert document["signer_proven"] is True and document["form"] == "zip"
    assert document["files_checked"] == len(manifest_of(signed_scan.dir / BUNDLE)["files"])


def test_wrong_key_fails(signed_scan, tmp_path, capsys):
    other = make_keypair(tmp_path, "other")
    code, output = verify(capsys, signed_scan.dir / BUNDLE, "--public-key", str(other.public_path))
    assert code == 1
    assert "manifest.sig" in output and "does not verify" in output


def test_changed_file_fails_naming_it(full_scan, tmp_path, capsys):
    src = full_scan.dir / BUNDLE
    results = entries(src)["results.json"].replace(b'"status": "fail"', b'"status": "pass"', 1)
    code, output = verify(capsys, rewrite(src, tmp_path / "b.zip", replace={"results.json": results}))
    assert code == 1
    assert "FAILED" in output and "results.json: sha256" in output


def test_every_member_is_held_to_its_sha256(full_scan, tmp_path, capsys):
    """The same size, one byte different, in each member in turn: the hash check (not the size
    check) must name that member, whichever it is."""
    src = full_scan.dir / BUNDLE
    members = [name for name in entries(src) if name not in ("manifest.json", "manifest.sig")]
    assert len(members) >= 5
    for name in members:
        data = entries(src)[name]
        at = next(i for i, byte in enumerate(data) if 0x61 <= byte <= 0x79)  # a lower-case letter
        changed = data[:at] + bytes([data[at] + 1]) + data[at + 1:]
        code, output = verify(capsys, rewrite(src, tmp_path / f"{name.replace('/', '_')}.zip", replace={name: changed}))
        assert code == 1, name
        assert f"{name}: sha256" in output, (name, output)
    code, output = verify(capsys, rewrite(src, tmp_path / "same.zip"), "--integrity-only")  # unsigned
    assert code == 0 and "sha256" not in output, output


def test_changed_byte_in_the_archive_fails(full_scan, tmp_path, capsys):
    data = bytearray((full_scan.dir / BUNDLE).read_bytes())
    with zipfile.ZipFile(full_scan.dir / BUNDLE) as archive:
        info = archive.getinfo("inventory.json")
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0xFF
    tampered = tmp_path / "flipped.zip"
    tampered.write_bytes(bytes(data))
    code, output = verify(capsys, tampered)
    assert code == 1
    assert "inventory.json" in output


def test_removed_file_fails(full_scan, tmp_path, capsys):
    code, output = verify(capsys, rewrite(full_scan.dir / BUNDLE, tmp_path / "b.zip", drop={"certscan.sarif"}))
    assert code == 1
    assert "certscan.sarif: listed in manifest.json but missing" in output


def test_added_file_fails(full_scan, tmp_path, capsys):
    code, output = verify(capsys, rewrite(full_scan.dir / BUNDLE, tmp_path / "b.zip", add={"extra/notes.txt": b"hi"}))
    assert code == 1
    assert "extra/notes.txt: in the archive but not listed" in output


def test_manifest_changed_after_signing_fails(signed_scan, keypair, tmp_path, capsys):
    src = signed_scan.dir / BUNDLE
    manifest = json.loads(entries(src)["manifest.json"])
    manifest["as_of"] = "2020-01-01T00:00:00Z"
    forged = rewrite(src, tmp_path / "b.zip", replace={"manifest.json": json.dumps(manifest).encode()})
    code, output = verify(capsys, forged, "--public-key", str(keypair.public_path))
    assert code == 1 and "signature of manifest.json does not verify" in output
    code, _ = verify(capsys, forged)
    assert code == 1


def test_removed_signature_fails(signed_scan, keypair, tmp_path, capsys):
    stripped = rewrite(signed_scan.dir / BUNDLE, tmp_path / "b.zip", drop={"manifest.sig"})
    code, output = verify(capsys, stripped)
    assert code == 1 and "manifest.sig: missing" in output
    code, output = verify(capsys, stripped, "--public-key", str(keypair.public_path))
    assert code == 1


def test_unsigned_bundle_with_public_key_fails(full_scan, keypair, capsys):
    code, output = verify(capsys, full_scan.dir / BUNDLE, "--public-key", str(keypair.public_path))
    assert code == 1 and "not signed" in output


def test_missing_manifest_fails(full_scan, tmp_path, capsys):
    code, output = verify(capsys, rewrite(full_scan.dir / BUNDLE, tmp_path / "b.zip", drop={"manifest.json"}))
    assert code == 1 and "manifest.json: missing" in output


@pytest.mark.parametrize("case", ["absent", "not-zip", "bad-key", "private-as-public"])
def test_bad_input_is_exit_2(case, full_scan, keypair, tmp_path, capsys):
    bundle = full_scan.dir / BUNDLE
    extra: list[str] = []
    if case == "absent":
        bundle = tmp_path / "nope.zip"
    elif case == "not-zip":
        bundle = tmp_path / "text.zip"
        bundle.write_text("not a zip")
    elif case == "bad-key":
        key = tmp_path / "junk.pem"
        key.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
        extra = ["--public-key", str(key)]
    else:
        extra = ["--public-key", str(keypair.private_path)]
    code, output = verify(capsys, bundle, *extra)
    assert code == 2, output
    assert "Traceback" not in output


# --- signing options and key material ------------------------------------------------------

def test_no_private_key_in_a_signed_bundle(signed_scan, keypair):
    bundle = (signed_scan.dir / BUNDLE).read_bytes()
    contents = entries(signed_scan.dir / BUNDLE)
    pem_body = b"".join(keypair.private_pem.splitlines()[1:-1])
    for name, data in contents.items():
        assert b"PRIVATE KEY" not in data, name
        assert pem_body not in data.replace(b"\n", b""), name
        assert keypair.raw_private not in data, name
    assert keypair.raw_private not in bundle
    manifest = json.loads(contents["manifest.json"])
    assert manifest["signature"]["public_key"] == keypair.public_pem.decode()  # the public half only


def test_a_pack_holding_a_private_key_is_refused(tmp_path, keypair, capsys):
    pack = tmp_path / "leaky.yaml"
    pack.write_text("# " + keypair.private_pem.decode().replace("\n", "\n# ") + "\n" + PACK.read_text())
    out = tmp_path / "out"
    argv = ["scan", "--inventory", str(INVENTORY), "--rules", str(pack), "--as-of", AS_OF,
            "--output-dir", str(out), "--format", "evidence", "--allow-partial"]
    assert run(argv) == 2
    assert "PEM private key" in capsys.readouterr().err
    assert not (out / BUNDLE).exists()


@pytest.mark.parametrize("case", ["missing", "rsa", "not-evidence"])
def test_bad_sign_key_is_exit_2_before_scanning(case, tmp_path, keypair, capsys):
    key = str(keypair.private_path)
    formats = "evidence"
    if case == "missing":
        key = str(tmp_path / "none.pem")
    elif case == "rsa":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        (tmp_path / "rsa.pem").write_bytes(rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        key = str(tmp_path / "rsa.pem")
    else:
        formats = "json"
    out = tmp_path / "out"
    code = run_in_repo(scan_argv(out, "--sign-key", key, formats=formats))
    err = capsys.readouterr().err
    assert code == 2
    assert "--sign-key" in err
    assert not out.exists()


# --- replay --------------------------------------------------------------------------------

@pytest.mark.parametrize("gate", [("--fail-on", "medium"), ("--fail-on", "none", "--param", "TAG-001.keys=[team]")])
def test_a_bundle_replays_to_the_same_results_byte_for_byte(tmp_path, gate):
    """The manifest's replay, run verbatim by the installed certscan inside the extracted
    bundle, far from the repository, writes results.json again, byte for byte, gate included."""
    out = tmp_path / "original"
    with in_repo():
        original = subprocess.run([CERTSCAN, *scan_argv(out, "--param", "ACM-003.days=45", *gate,
                                                        formats="json,evidence"), "-q"],
                                  capture_output=True, text=True, timeout=180)
    assert original.returncode in (0, 1), original.stderr
    extracted = tmp_path / "bundle"
    with zipfile.ZipFile(out / BUNDLE) as archive:
        archive.extractall(extracted)
    manifest = json.loads((extracted / "manifest.json").read_text())
    replay = manifest["replay"]
    assert replay[:2] == ["certscan", "scan"] and 'ACM-003.days=45' in replay
    assert replay[replay.index("--as-of") + 1] == manifest["as_of"]
    assert replay[replay.index("--fail-on") + 1] == gate[1] and "--allow-partial" in replay
    assert "--waivers" in replay and "--rules-origin" in replay
    assert "Replay" in (extracted / "README.txt").read_text() and " ".join(replay[1:4]) in (
        extracted / "README.txt").read_text()
    again = subprocess.run([CERTSCAN, *replay[1:], "-q"], cwd=extracted, capture_output=True, text=True, timeout=180)
    assert again.returncode == original.returncode, again.stderr
    replayed = (extracted / replay[replay.index("--output-dir") + 1] / "certscan-results.json").resolve()
    assert replayed.read_bytes() == (extracted / "results.json").read_bytes() == (
        out / "certscan-results.json").read_bytes()
    # the replay writes beside the bundle, so the folder itself still verifies
    assert run(["evidence", "verify", str(extracted), "--integrity-only"]) == 0


def test_replay_refuses_a_pack_that_is_not_the_one_used(tmp_path, capsys):
    out = tmp_path / "original"
    assert run_in_repo(scan_argv(out, formats="json,evidence")) in (0, 1)
    extracted = tmp_path / "bundle"
    with zipfile.ZipFile(out / BUNDLE) as archive:
        archive.extractall(extracted)
    replay = json.loads((extracted / "manifest.json").read_text())["replay"]
    pack = extracted / replay[replay.index("--rules") + 1]
    pack.write_text(pack.read_text() + "\n# edited\n")
    capsys.readouterr()
    with contextlib.chdir(extracted):
        code = run(replay[1:])
    assert code == 2 and "not the pack the scan used" in capsys.readouterr().err


def test_bundle_copied_elsewhere_still_verifies(full_scan, tmp_path, capsys):
    copy = tmp_path / "archive" / "evidence-2026-06-01.zip"
    copy.parent.mkdir()
    shutil.copy(full_scan.dir / BUNDLE, copy)
    with contextlib.chdir(copy.parent):  # nothing of the scan's folder or the repository is at hand
        code, _ = verify(capsys, copy.name, "--integrity-only")
    assert code == 0


@pytest.mark.parametrize("changed", ["waivers", "rule pack"])
def test_a_file_changed_after_the_scan_read_it_is_not_bundled(tmp_path, changed):
    """The bundle holds the rule packs and waivers the scan used, or nothing: a file edited
    while the scan ran is refused, naming it, rather than packed with its new bytes."""
    from scanner.collect import SourceOptions
    from scanner.usecases.scan import ScanSettings, run_scan
    from scanner.inputs.problems import InputError
    pack, waivers = tmp_path / "certificates.yaml", tmp_path / "waivers.yaml"
    shutil.copy(PACK, pack)
    shutil.copy(WAIVERS, waivers)
    settings = ScanSettings(rules=[str(pack)], waivers=str(waivers), as_of=parse_time(AS_OF),
                            output_dir=tmp_path / "out", formats=["json"], fail_on="none")
    scan = run_scan(SourceOptions(inventory=str(INVENTORY)), settings)
    edited = waivers if changed == "waivers" else pack
    edited.write_bytes(edited.read_bytes() + b"\n# edited while the scan ran\n")
    with pytest.raises(InputError) as info:
        evidence.write(scan.report, tmp_path / "out")
    assert info.value.problems[0].file == str(edited)
    assert "changed after the scan loaded it" in info.value.problems[0].message
    assert not (tmp_path / "out" / BUNDLE).exists()
