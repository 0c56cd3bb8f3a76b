"""Evidence bundles as auditors handle them (issue 15.5) and as attackers shape them (13.4):
re-zipped copies and extracted folders verify, tampered ones do not; who signed is proven
only with --public-key; hostile archives (deflate bombs, a script in front, junk behind)
are refused by name, within a bounded amount of memory, without a traceback."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from tests.outputs.outputs_support import make_keypair, run_in_repo, scan_argv

CERTSCAN = str(Path(sys.executable).with_name("certscan"))
BUNDLE = "certscan-evidence.zip"
MEMORY_CAP = 768 * 1024 * 1024  # address space for the verifying process: less than a bomb inflates to


def verify(target: Path, *extra: str, memory_cap: int | None = None) -> subprocess.CompletedProcess:
    """`certscan evidence verify` as a user runs it; optionally under RLIMIT_AS."""
    def limit():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (memory_cap, memory_cap))
    return subprocess.run([CERTSCAN, "evidence", "verify", str(target), *extra], capture_output=True, text=True,
                          timeout=120, preexec_fn=limit if memory_cap else None,
                          env=dict(os.environ, COLUMNS="200"))


def said(done: subprocess.CompletedProcess) -> str:
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def keypair_module(tmp_path_factory):
    return make_keypair(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def signed(tmp_path_factory, keypair_module) -> Path:
    out = tmp_path_factory.mktemp("signed")
    assert run_in_repo(scan_argv(out, "--sign-key", str(keypair_module.private_path), "--fail-on", "none",
                                 formats="json,evidence")) == 0
    return out / BUNDLE


def members(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def extract(bundle: Path, folder: Path) -> Path:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)
    return folder


def rezip(folder: Path, target: Path) -> Path:
    """What `unzip; zip -r` does: directory entries, another order, another compression."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(folder.rglob("*"), reverse=True):
            name = path.relative_to(folder).as_posix() + ("/" if path.is_dir() else "")
            if path.is_dir():
                archive.writestr(zipfile.ZipInfo(name), b"")
            else:
                archive.write(path, name, compress_type=zipfile.ZIP_STORED if path.suffix == ".csv" else None)
    return target


# --- real handling ---------------------------------------------------------------------------

def test_rezipped_copy_and_extracted_folder_verify_with_the_signers_key(signed, keypair_module, tmp_path, cli):
    folder = extract(signed, tmp_path / "extracted")
    copy = rezip(folder, tmp_path / "rezipped.zip")
    with zipfile.ZipFile(copy) as archive:
        assert any(info.is_dir() for info in archive.infolist())  # the case that used to fail
        assert [i.filename for i in archive.infolist()] != sorted(i.filename for i in archive.infolist())
    for target in (copy, folder):  # as a user runs it
        done = verify(target, "--public-key", str(keypair_module.public_path))
        assert done.returncode == 0, said(done)
        assert "VERIFIED" in done.stdout and "signed by the --public-key" in done.stdout
    for target, form in ((signed, "zip"), (copy, "zip"), (folder, "folder")):
        done = cli("evidence", "verify", target, "--public-key", keypair_module.public_path, "--json")
        document = json.loads(done.out)
        assert done.code == 0 and document["ok"] and document["signer_proven"] and document["form"] == form
        unproven = cli("evidence", "verify", target)
        assert unproven.code == 1 and "signed only by the key in its own manifest" in unproven.out
        assert cli("evidence", "verify", target, "--integrity-only").code == 0


@pytest.mark.parametrize("form", ["folder", "rezipped"])
def test_tampered_copies_fail_naming_the_file(signed, keypair_module, tmp_path, form):
    folder = extract(signed, tmp_path / "extracted")
    results = folder / "results.json"
    results.write_bytes(results.read_bytes().replace(b'"status": "fail"', b'"status": "pass"', 1))
    target = folder if form == "folder" else rezip(folder, tmp_path / "t.zip")
    done = verify(target, "--public-key", str(keypair_module.public_path))
    assert done.returncode == 1 and "FAILED" in done.stdout and "results.json: sha256" in done.stdout


@pytest.mark.parametrize("extra", ["notes.txt", "rules/extra.yaml", ".DS_Store"])
def test_an_unlisted_file_fails_but_an_empty_directory_does_not(signed, keypair_module, tmp_path, extra, cli):
    folder = extract(signed, tmp_path / "extracted")
    (folder / "empty-dir" / "nested").mkdir(parents=True)
    assert cli("evidence", "verify", folder, "--public-key", keypair_module.public_path).code == 0
    (folder / extra).write_text("added later")
    for target in (folder, rezip(folder, tmp_path / "x.zip")):
        done = cli("evidence", "verify", target, "--public-key", keypair_module.public_path)
        assert done.code == 1 and f"{extra}: in the" in done.out and "not listed" in done.out


def test_a_symlink_in_a_folder_is_not_evidence(signed, keypair_module, tmp_path, cli):
    folder = extract(signed, tmp_path / "extracted")
    target = folder / "inventory.json"
    moved = tmp_path / "elsewhere.json"
    target.rename(moved)
    target.symlink_to(moved)
    done = cli("evidence", "verify", folder, "--public-key", keypair_module.public_path)
    assert done.code == 1 and "inventory.json: not a regular file" in done.out


def test_unsigned_bundle_needs_integrity_only(unsigned_bundle, tmp_path):
    done = verify(unsigned_bundle)
    assert done.returncode == 1 and "not signed" in done.stdout and "Traceback" not in done.stderr
    done = verify(extract(unsigned_bundle, tmp_path / "x"), "--integrity-only")
    assert done.returncode == 0 and "signer unproven" in done.stdout and "not signed" in done.stdout


# --- hostile archives --------------------------------------------------------------------------

def _bits(writer: list[int], value: int, count: int, reverse: bool = False) -> None:
    """Append `count` bits of value to a deflate bit list (Huffman codes go in MSB first)."""
    bits = [(value >> i) & 1 for i in range(count)]
    writer.extend(reversed(bits) if reverse else bits)


def _pack(bits: list[int]) -> bytes:
    bits = bits + [0] * (-len(bits) % 8)
    return bytes(sum(bits[i + j] << j for j in range(8)) for i in range(0, len(bits), 8))


def deflate_bomb(groups: int) -> tuple[bytes, int]:
    """A raw deflate stream (one fixed-Huffman block: a zero, then copies of 258 bytes at
    distance 1) inflating to 1 + 258 * (1 + 8 * groups) zero bytes; built by repeating one
    13-byte group, so a multi-GB bomb costs no time to make."""
    head: list[int] = []
    _bits(head, 1, 1)  # BFINAL
    _bits(head, 1, 2)  # BTYPE 01: fixed Huffman
    _bits(head, 0x30, 8, reverse=True)  # literal 0
    copy: list[int] = []
    _bits(copy, 0xC5, 8, reverse=True)  # length code 285: 258 bytes
    _bits(copy, 0, 5, reverse=True)  # distance code 0: distance 1
    prefix = _pack(head + copy)  # 24 bits: byte aligned
    group = _pack(copy * 8)  # 104 bits: 13 bytes
    tail = _pack([0] * 7)  # end of block (code 256: seven zero bits)
    assert len(prefix) == 3 and len(group) == 13
    stream = prefix + group * groups + tail
    return stream, 1 + 258 * (1 + 8 * groups)


def raw_zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip from (name, raw deflate bytes, local-header size, crc, central-directory size)."""
    out = bytearray()
    central = bytearray()
    for name, data, size, crc, cd_size in entries:
        offset = len(out)
        encoded = name.encode()
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0)
        out += encoded + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), cd_size,
                               len(encoded), 0, 0, 0, 0, 0, offset)
        central += encoded
    start = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), start, 0)
    return bytes(out)


def rebuilt(bundle: Path, replace: dict[str, tuple[bytes, int, int, int]] | None = None,
            manifest_sizes: dict[str, int] | None = None) -> bytes:
    """The bundle as a raw zip, some members swapped for prepared deflate streams."""
    entries = []
    contents = members(bundle)
    if manifest_sizes:
        manifest = json.loads(contents["manifest.json"])
        for entry in manifest["files"]:
            entry["size"] = manifest_sizes.get(entry["path"], entry["size"])
        contents["manifest.json"] = json.dumps(manifest).encode()
    for name, data in sorted(contents.items()):
        if replace and name in replace:
            stream, size, crc, cd_size = replace[name]
            entries.append((name, stream, size, crc, cd_size))
        else:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            entries.append((name, packer.compress(data) + packer.flush(), len(data), zlib.crc32(data), len(data)))
    return raw_zip(entries)


@pytest.fixture(scope="module")
def unsigned_bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plain")
    assert run_in_repo(scan_argv(out, "--fail-on", "none", formats="evidence")) == 0
    return out / BUNDLE


def test_raw_zip_writer_makes_a_bundle_that_verifies(unsigned_bundle, tmp_path, cli):
    """The hand-built archives below differ from a good one only where each test says."""
    plain = tmp_path / "plain.zip"
    plain.write_bytes(rebuilt(unsigned_bundle))
    done = cli("evidence", "verify", plain, "--integrity-only")
    assert done.code == 0, done


def test_deflate_bomb_stream_inflates_as_built():
    stream, size = deflate_bomb(100)
    assert zlib.decompress(stream, -15) == bytes(size)


BOMB_GROUPS = 1_100_000  # 14 MB of deflate inflating to 2.27 GB: past MEMORY_CAP


@pytest.fixture(scope="module")
def bomb():
    stream, size = deflate_bomb(BOMB_GROUPS)
    assert size > 2 * MEMORY_CAP
    return stream, size


@pytest.mark.parametrize("case", ["manifest-small", "archive-lies-too", "consistent-but-absurd"])
def test_a_deflate_bomb_is_refused_in_bounded_memory(unsigned_bundle, tmp_path, bomb, case):
    stream, size = bomb
    original = len(members(unsigned_bundle)["results.json"])
    if case == "manifest-small":  # the archive says 2.27 GB, the manifest the real size
        data = rebuilt(unsigned_bundle, {"results.json": (stream, size, 0, size)})
        expect = f"results.json: size {size} differs from the manifest's {original}"
    elif case == "archive-lies-too":  # both say the real size; the stream inflates far past it
        data = rebuilt(unsigned_bundle, {"results.json": (stream, original, 0, original)})
        expect = "results.json: "
    else:  # both say 2.27 GB: refused by ratio before inflating (158:1 here is still under it,
        # so a denser member is built from zlib itself)
        dense = zlib.compressobj(9, zlib.DEFLATED, -15)
        zeros = 48 * 1024 * 1024
        packed = dense.compress(bytes(zeros)) + dense.flush()
        data = rebuilt(unsigned_bundle, {"results.json": (packed, zeros, zlib.crc32(bytes(zeros)), zeros)},
                       manifest_sizes={"results.json": zeros})
        expect = "results.json: inflates"
    target = tmp_path / f"{case}.zip"
    target.write_bytes(data)
    done = verify(target, "--integrity-only", memory_cap=MEMORY_CAP)
    assert done.returncode == 1, said(done)
    assert "Traceback" not in done.stderr and "MemoryError" not in said(done)
    assert expect in done.stdout


def test_a_consistent_bomb_under_the_ratio_is_streamed_not_held(unsigned_bundle, tmp_path):
    """A member that really is as big as both the archive and the manifest say is hashed as it
    streams: memory stays bounded (here: 258 MB through a 768 MB address space, the interpreter
    and its libraries included), and the hash then fails."""
    stream, size = deflate_bomb(125_000)
    data = rebuilt(unsigned_bundle, {"results.json": (stream, size, 0, size)}, manifest_sizes={"results.json": size})
    target = tmp_path / "streamed.zip"
    target.write_bytes(data)
    done = verify(target, "--integrity-only", memory_cap=MEMORY_CAP // 2 + 128 * 1024 * 1024)
    assert done.returncode == 1 and "Traceback" not in done.stderr, said(done)
    assert "results.json" in done.stdout


def test_oversized_manifest_is_refused_unread(unsigned_bundle, tmp_path):
    from scanner.evidence.verify import MAX_MANIFEST_BYTES
    stream, size = deflate_bomb(MAX_MANIFEST_BYTES // (258 * 8) + 10)
    target = tmp_path / "big-manifest.zip"
    target.write_bytes(rebuilt(unsigned_bundle, {"manifest.json": (stream, size, 0, size)}))
    done = verify(target, "--integrity-only", memory_cap=MEMORY_CAP)
    assert done.returncode == 1 and f"manifest.json: {size} bytes, over the {MAX_MANIFEST_BYTES}-byte limit" in done.stdout
def test_oversized_signature_is_refused_unread(unsigned_bundle, tmp_path, cli):
    from scanner.evidence.verify import MAX_SIGNATURE_BYTES
    folder = extract(unsigned_bundle, tmp_path / "sig")
    (folder / "manifest.sig").write_bytes(b"A" * (MAX_SIGNATURE_BYTES + 1))
    done = cli("evidence", "verify", folder, "--integrity-only")
    assert done.code == 1 and "manifest.sig: " in done.out and "limit" in done.out


@pytest.mark.parametrize("edge", ["prefix", "suffix"])
def test_bytes_before_the_first_member_or_after_the_end_are_refused(unsigned_bundle, tmp_path, edge):
    script = b"#!/bin/sh\necho pwned\nexit 0\n"
    target = tmp_path / f"{edge}.zip"
    if edge == "prefix":
        target.write_bytes(script + unsigned_bundle.read_bytes())  # what `cat script bundle.zip` gives
        expect = "bytes before the first archive member"
    else:
        target.write_bytes(unsigned_bundle.read_bytes() + b"\x00junk after the end" * 10)
        expect = "byte(s) after the end-of-central-directory record"
    with zipfile.ZipFile(target) as archive:  # Python's zipfile itself reads both without a word
        assert archive.read("manifest.json")
    done = verify(target, "--integrity-only")
    assert done.returncode == 1 and expect in done.stdout and "Traceback" not in done.stderr


def test_not_a_zip_nor_a_folder_is_exit_2(tmp_path, cli):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    done = verify(junk)
    assert done.returncode == 2 and "not a zip archive" in done.stderr and "Traceback" not in done.stderr
    done = cli("evidence", "verify", tmp_path / "absent")
    assert done.code == 2 and "no such file or folder" in done.err
