"""Certificate files: PEM, DER, PKCS#7, PKCS#12, broken files, folders, keys beside certificates."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from scanner.collect import SourceOptions
from scanner.collect.files import build
from scanner.collect.runner import collect
from scanner.inputs.problems import InputError
from sources_support import NOW, make_cert


def scan(*paths, password_env=None, **seams):
    options = SourceOptions(paths=[str(p) for p in paths], pkcs12_password_env=password_env, quiet=True, seams=seams)
    return collect(options, NOW)


def by_id(inventory):
    return {c.id: c for c in inventory.certificates}


def errors_by_resource(inventory):
    return {e.resource: e for e in inventory.errors}


@pytest.fixture
def chain():
    root = make_cert("Test Root", ca=True, days=3650)
    intermediate = make_cert("Test Intermediate", issuer=root, ca=True, days=1825)
    leaf = make_cert("shop.example.test", sans=["shop.example.test", "*.shop.example.test"], issuer=intermediate)
    return leaf, intermediate, root


def test_single_pem_and_der_and_chain(tmp_path, chain):
    leaf, intermediate, root = chain
    (tmp_path / "leaf.pem").write_bytes(leaf.pem)
    (tmp_path / "leaf.der").write_bytes(leaf.der)
    (tmp_path / "fullchain.pem").write_bytes(leaf.pem + intermediate.pem + root.pem)

    inventory = scan(tmp_path / "leaf.pem", tmp_path / "leaf.der", tmp_path / "fullchain.pem")

    records = by_id(inventory)
    single = records[str(tmp_path / "leaf.pem")]  # one certificate: the path alone
    assert single.source == "file" and single.name == "leaf.pem"
    assert single.domain == "shop.example.test" and single.is_wildcard
    assert single.not_after == leaf.cert.not_valid_after_utc
    assert single.key_algorithm == "EC" and single.key_size == 256 and single.key_curve == "P-256"
    assert single.private_key_present is False and single.in_use is None and single.tags == {}
    assert records[str(tmp_path / "leaf.der")].fingerprint_sha256 == single.fingerprint_sha256
    chained = [records[f"{tmp_path / 'fullchain.pem'}#{n}"] for n in (1, 2, 3)]  # several: path#N, file order
    assert [c.domain for c in chained] == ["shop.example.test", "Test Intermediate", "Test Root"]
    assert chained[2].self_signed is True and chained[0].self_signed is False
    assert not inventory.errors
    assert {c.resource: c.count for c in inventory.coverage} == {
        str(tmp_path / "leaf.pem"): 1, str(tmp_path / "leaf.der"): 1, str(tmp_path / "fullchain.pem"): 3}


def test_pkcs7_bundle(tmp_path, chain):
    leaf, intermediate, _ = chain
    (tmp_path / "bundle.p7b").write_bytes(pkcs7.serialize_certificates([leaf.cert, intermediate.cert],
                                                                       serialization.Encoding.DER))
    records = by_id(scan(tmp_path / "bundle.p7b"))
    assert {c.domain for c in records.values()} == {"shop.example.test", "Test Intermediate"}
    assert set(records) == {f"{tmp_path / 'bundle.p7b'}#1", f"{tmp_path / 'bundle.p7b'}#2"}


def _p12(leaf, intermediate, password: bytes | None) -> bytes:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(b"web", leaf.key, leaf.cert, [intermediate.cert], encryption)


def test_pkcs12_with_password_from_environment(tmp_path, chain, monkeypatch):
    leaf, intermediate, _ = chain
    (tmp_path / "web.pfx").write_bytes(_p12(leaf, intermediate, b"s3cret-pass"))
    monkeypatch.setenv("P12_PASS", "s3cret-pass")

    inventory = scan(tmp_path / "web.pfx", password_env="P12_PASS")

    records = by_id(inventory)
    assert records[f"{tmp_path / 'web.pfx'}#1"].domain == "shop.example.test"
    assert records[f"{tmp_path / 'web.pfx'}#2"].domain == "Test Intermediate"
    assert all(c.private_key_present is True for c in records.values())  # the bundle holds the key
    assert not inventory.errors


def test_protected_pkcs12_without_or_with_a_wrong_password_is_an_error_for_that_file(tmp_path, chain, monkeypatch):
    leaf, intermediate, _ = chain
    (tmp_path / "locked.p12").write_bytes(_p12(leaf, intermediate, b"right"))
    (tmp_path / "open.p12").write_bytes(_p12(leaf, intermediate, None))
    (tmp_path / "ok.pem").write_bytes(leaf.pem)

    without = scan(tmp_path)
    error = errors_by_resource(without)[str(tmp_path / "locked.p12")]
    assert error.code == "PKCS12PasswordRequired" and "--pkcs12-password-env" in error.message
    assert str(tmp_path / "ok.pem") in by_id(without)
    assert f"{tmp_path / 'open.p12'}#1" in by_id(without)  # an unprotected bundle needs no password

    monkeypatch.setenv("P12_PASS", "wrong")
    wrong = scan(tmp_path, password_env="P12_PASS")
    assert errors_by_resource(wrong)[str(tmp_path / "locked.p12")].code == "PKCS12Unreadable"
    assert f"{tmp_path / 'open.p12'}#1" in by_id(wrong)
    coverage = {c.resource: c for c in wrong.coverage}
    assert coverage[str(tmp_path / "locked.p12")].complete is False
    assert coverage[str(tmp_path / "ok.pem")].complete is True


def test_password_variable_must_be_set():
    with pytest.raises(InputError, match="--pkcs12-password-env.*CERTSCAN_TEST_UNSET"):
        build(SourceOptions(paths=["."], pkcs12_password_env="CERTSCAN_TEST_UNSET"))


def test_broken_files_are_errors_and_the_rest_is_scanned(tmp_path, chain):
    leaf, intermediate, root = chain
    good = tmp_path / "good.crt"
    good.write_bytes(leaf.pem)
    truncated = tmp_path / "truncated.pem"
    truncated.write_bytes(leaf.pem + intermediate.pem[: len(intermediate.pem) // 2] + root.pem)
    garbage = tmp_path / "garbage.crt"
    garbage.write_bytes(os.urandom(700))
    damaged = tmp_path / "damaged.pem"
    body = leaf.pem.decode().splitlines()
    damaged.write_text("\n".join(body[:1] + ["!!not base64!!"] + body[2:]) + "\n")

    inventory = scan(tmp_path)

    errors = errors_by_resource(inventory)
    assert errors[str(truncated)].code == "PEMTruncated"
    assert errors[str(garbage)].code == "NotACertificate"
    assert errors[str(damaged)].code == "CertificateParseError"
    assert all(e.source == "file" and e.unit == f"file/{e.resource}" for e in inventory.errors)
    records = by_id(inventory)
    assert str(good) in records
    # the readable certificates of the damaged chain are kept; the cut one keeps its number
    assert records[f"{truncated}#1"].domain == "shop.example.test"
    assert records[f"{truncated}#3"].domain == "Test Root"
    assert f"{truncated}#2" not in records
    assert not inventory.complete


def test_a_hostile_pem_file_is_parsed_in_one_pass(tmp_path):
    hostile = tmp_path / "hostile.pem"
    hostile.write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n" * 100_000)  # 3 MB of blocks never closed

    inventory = scan(hostile)

    [error] = inventory.errors
    assert error.code == "PEMTruncated" and "100000 PEM block(s)" in error.message
    assert not inventory.certificates


def test_non_certificate_files_in_a_folder_are_skipped(tmp_path, chain):
    leaf, _, _ = chain
    (tmp_path / "README.md").write_text("how to rotate the certificates\n")
    (tmp_path / "request.csr").write_text("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
    (tmp_path / "notes.txt").write_bytes(os.urandom(64))
    (tmp_path / "leaf.cer").write_bytes(leaf.der)

    inventory = scan(tmp_path)

    assert list(by_id(inventory)) == [str(tmp_path / "leaf.cer")]
    assert not inventory.errors
    assert [c.resource for c in inventory.coverage] == [str(tmp_path / "leaf.cer")]


def test_a_file_named_explicitly_must_hold_a_certificate(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("nothing here\n")
    inventory = scan(notes)
    assert errors_by_resource(inventory)[str(notes)].code == "NotACertificate"


def test_missing_path_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="--path"):
        build(SourceOptions(paths=[str(tmp_path / "nope")]))


def test_too_large_unreadable_and_special_files(tmp_path, chain):
    leaf, _, _ = chain
    big = tmp_path / "huge.pem"
    with open(big, "wb") as handle:
        handle.truncate(5 * 1024 * 1024)  # sparse: over the 4 MiB limit without writing it
    (tmp_path / "dangling.pem").symlink_to(tmp_path / "gone.pem")
    os.mkfifo(tmp_path / "pipe.pem")  # opening it would block: it must not be opened
    (tmp_path / "fine.pem").write_bytes(leaf.pem)

    inventory = scan(tmp_path)

    errors = errors_by_resource(inventory)
    assert errors[str(big)].code == "FileTooLarge"
    assert errors[str(tmp_path / "dangling.pem")].code == "FileUnreadable"
    assert errors[str(tmp_path / "pipe.pem")].code == "NotARegularFile"
    assert list(by_id(inventory)) == [str(tmp_path / "fine.pem")]


def test_symlink_loops_do_not_hang_the_walk(tmp_path, chain):
    leaf, _, _ = chain
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "deep.pem").write_bytes(leaf.pem)
    (tree / "a" / "b" / "up").symlink_to(tree)  # a loop back to the top
    (tree / "a" / "self").symlink_to(".")  # a loop onto itself

    inventory = scan(tree)

    assert list(by_id(inventory)) == [str(tree / "a" / "b" / "deep.pem")]
    assert not inventory.errors


def test_private_keys_are_noted_never_read(tmp_path, chain):
    leaf, intermediate, _ = chain
    with_key = tmp_path / "site"
    with_key.mkdir()
    (with_key / "cert.pem").write_bytes(leaf.pem)
    (with_key / "privkey.pem").write_bytes(leaf.key_pem)  # a key-only PEM file: a key file
    with_key_ext = tmp_path / "legacy"
    with_key_ext.mkdir()
    (with_key_ext / "server.crt").write_bytes(leaf.pem)
    (with_key_ext / "server.key").write_bytes(leaf.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    combined = tmp_path / "combined"
    combined.mkdir()
    (combined / "bundle.pem").write_bytes(leaf.pem + leaf.key_pem)
    clean = combined / "clean"
    clean.mkdir()
    (clean / "ca.pem").write_bytes(intermediate.pem)

    inventory = scan(tmp_path)

    records = by_id(inventory)
    assert records[str(with_key / "cert.pem")].private_key_present is True
    assert records[str(with_key_ext / "server.crt")].private_key_present is True
    assert records[str(combined / "bundle.pem")].private_key_present is True
    assert records[str(clean / "ca.pem")].private_key_present is False  # a subfolder is its own folder
    assert not inventory.errors  # a key file is not a broken certificate file
    assert set(records) == {str(with_key / "cert.pem"), str(with_key_ext / "server.crt"),
                            str(combined / "bundle.pem"), str(clean / "ca.pem")}
    # a file named on its own is judged by its own content only
    alone = by_id(scan(with_key / "cert.pem"))
    assert alone[str(with_key / "cert.pem")].private_key_present is False


def test_folder_expands_into_file_units_that_shards_split(tmp_path):
    for n in range(12):
        (tmp_path / f"c{n:02}.pem").write_bytes(make_cert(f"c{n}.example.test", days=30 + n).pem)
    whole = scan(tmp_path)
    assert len(whole.certificates) == 12
    assert all(c.unit == f"file/{c.resource}" for c in whole.coverage)

    shards = [collect(SourceOptions(paths=[str(tmp_path)], shard=(i, 3), quiet=True), NOW) for i in (1, 2, 3)]
    ids = [c.id for part in shards for c in part.certificates]
    assert sorted(ids) == sorted(c.id for c in whole.certificates)  # each file in exactly one shard


def test_expiry_comes_from_the_body(tmp_path):
    expired = make_cert("old.example.test", not_before=NOW - timedelta(days=400), days=365)
    (tmp_path / "old.pem").write_bytes(expired.pem)
    record = by_id(scan(tmp_path / "old.pem"))[str(tmp_path / "old.pem")]
    assert record.not_after == NOW - timedelta(days=35)
    assert record.validity_days == 365
