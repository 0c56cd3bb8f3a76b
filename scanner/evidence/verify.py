"""`certscan evidence verify`: check an evidence bundle against its manifest.

The bundle may be the zip certscan wrote, a copy that was unzipped and zipped again (as mail
gateways and document systems do: directory entries and member order do not matter), or an
extracted folder. The manifest is the truth in all three: every listed file must be there
with its size and sha256, and nothing else may be (directories aside).

Who signed: verified means the manifest's signature checks against --public-key. Without
it, a bundle signed only by the key in its own manifest, or not signed at all, is NOT
verified (anyone who changed the files could re-sign them with a key of their own) unless
--integrity-only asks for the hashes alone; the answer then says the signer is unproven.

Reading is bounded (the bundle comes from elsewhere): a zip with bytes before its first
member or after its end-of-central-directory record is refused (a zip that is also a script
is not evidence); each member's size in the archive is checked against the manifest before
it is read, and hashes are computed while streaming, never past the declared size; a member
compressed more than MAX_RATIO times, a manifest over MAX_MANIFEST_BYTES and a signature over
MAX_SIGNATURE_BYTES are refused without being inflated.

Failed verification is exit 1, the first problem named; the rest are listed after it. Bad
input (exit 2, InputError): the bundle or the public key cannot be read, or is neither a
zip archive nor a folder.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterator

from scanner.evidence import signing
from scanner.evidence.bundle import MANIFEST, SIGNATURE
from scanner.inputs.problems import InputError, Problem
from scanner.inputs.schema_check import check

MANIFEST_SCHEMA = "evidence-manifest.schema.json"
MAX_MANIFEST_BYTES = 64 * 1024 * 1024  # a 100,000-certificate scan's manifest is a few MB
MAX_SIGNATURE_BYTES = 4096  # base64 of a 64-byte Ed25519 signature is 89 bytes
MAX_RATIO = 1000  # deflate cannot do better than ~1032:1; real members are far below
RATIO_FLOOR = 1024 * 1024  # small members may compress well (a file of spaces); judge from 1 MiB
CHUNK = 1024 * 1024
EOCD = b"PK\x05\x06"
LOCAL_HEADER = b"PK\x03\x04"


class Refused(Exception):
    """The bundle cannot be evidence; verification stops here (exit 1, this message)."""


@dataclass
class Verification:
    bundle: str
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    signed: bool = False
    signature_valid: bool = False
    signer_proven: bool = False  # the signature checks against --public-key
    integrity_only: bool = False
    key_id: str | None = None
    key_source: str | None = None  # "--public-key" or "manifest"
    scan_id: str | None = None
    form: str = "zip"  # zip | folder
    unproven: str | None = None  # why the signer is not proven (a failure unless integrity_only)

    @property
    def ok(self) -> bool:
        return not self.problems


# --- where the members come from: a zip or a folder ----------------------------------------

class ZipMembers:
    """Members of a zip archive; directory entries are not members."""

    form = "zip"

    def __init__(self, path: Path):
        self.path = path
        _check_zip_edges(path)
        try:
            self.archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise InputError(Problem(str(path), "not a zip archive (expected a certscan-evidence.zip or its "
                                                "extracted folder)")) from None
        except OSError as exc:
            raise InputError(Problem(str(path), f"cannot read the bundle: {exc.strerror or exc}")) from None
        self.infos: dict[str, zipfile.ZipInfo] = {}
        self.problems: list[str] = []
        for info in self.archive.infolist():
            if info.is_dir():
                continue
            name = info.filename
            if name in self.infos:
                self.problems.append(f"{name}: appears more than once in the archive")
            if not _safe(name):
                self.problems.append(f"{name}: unsafe entry name")
            self.infos[name] = info

    def names(self) -> set[str]:
        return set(self.infos)

    def size(self, name: str) -> int:
        return self.infos[name].file_size

    def check_ratio(self, name: str) -> str | None:
        info = self.infos[name]
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            return (f"{name}: inflates {info.compress_size} bytes to {info.file_size} "
                    f"(more than {MAX_RATIO}:1); refusing to inflate it")
        return None

    def open(self, name: str) -> BinaryIO:
        return self.archive.open(self.infos[name])

    def close(self) -> None:
        self.archive.close()


class FolderMembers:
    """Regular files under an extracted bundle; a symbolic link or device is refused."""

    form = "folder"

    def __init__(self, path: Path):
        self.path = path
        self.files: dict[str, Path] = {}
        self.problems: list[str] = []
        for root, dirs, names in os.walk(path, followlinks=False):
            for name in sorted(dirs + names):
                full = Path(root) / name
                rel = full.relative_to(path).as_posix()
                try:
                    mode = full.lstat().st_mode
                except OSError as exc:
                    self.problems.append(f"{rel}: cannot be read ({exc.strerror or exc})")
                    continue
                if stat.S_ISDIR(mode):
                    continue
                if not stat.S_ISREG(mode):
                    self.problems.append(f"{rel}: not a regular file (a link or device cannot be evidence)")
                    continue
                self.files[rel] = full

    def names(self) -> set[str]:
        return set(self.files)

    def size(self, name: str) -> int:
        return self.files[name].stat().st_size

    def check_ratio(self, name: str) -> str | None:
        return None

    def open(self, name: str) -> BinaryIO:
        return open(self.files[name], "rb")

    def close(self) -> None:
        pass


def _safe(name: str) -> bool:
    return not (name.startswith("/") or "\\" in name or ".." in PurePosixPath(name).parts or "\x00" in name)


def _check_zip_edges(path: Path) -> None:
    """Refuse bytes before the first member or after the end-of-central-directory record."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(4)
            tail_len = min(size, 22 + 65535)
            handle.seek(size - tail_len)
            tail = handle.read(tail_len)
    except OSError as exc:
        raise InputError(Problem(str(path), f"cannot read the bundle: {exc.strerror or exc}")) from None
    at = tail.rfind(EOCD)
    if at < 0 or len(tail) - at < 22:
        raise InputError(Problem(str(path), "not a zip archive (expected a certscan-evidence.zip or its "
                                            "extracted folder)"))
    if head not in (LOCAL_HEADER, EOCD):
        raise Refused(f"{path.name}: bytes before the first archive member (a zip that is also something "
                      "else, e.g. a script, is not evidence)")
    (comment_length,) = struct.unpack("<H", tail[at + 20:at + 22])
    end = size - len(tail) + at + 22 + comment_length
    if end != size:
        raise Refused(f"{path.name}: {size - end} byte(s) after the end-of-central-directory record")


def _members(bundle: Path) -> ZipMembers | FolderMembers:
    if bundle.is_dir():
        return FolderMembers(bundle)
    if not bundle.exists():
        raise InputError(Problem(str(bundle), "no such file or folder"))
    return ZipMembers(bundle)


def _stream(members, name: str, limit: int) -> Iterator[bytes]:
    """The member's bytes in chunks; raises Refused once more than `limit` bytes come out."""
    read = 0
    try:
        with members.open(name) as handle:
            while True:
                chunk = handle.read(min(CHUNK, limit + 1 - read))
                if not chunk:
                    return
                read += len(chunk)
                if read > limit:
                    raise Refused(f"{name}: inflates past its declared size of {limit} bytes")
                yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError) as exc:
        raise _Corrupt(f"{name}: corrupt archive entry (cannot be decompressed or fails its CRC: "
                       f"{type(exc).__name__})") from None


class _Corrupt(Exception):
    pass


def _read_small(members, name: str, cap: int) -> bytes:
    size = members.size(name)
    if size > cap:
        raise Refused(f"{name}: {size} bytes, over the {cap}-byte limit for it")
    return b"".join(_stream(members, name, size))


def _digest(members, name: str, size: int) -> tuple[int, str]:
    sha = hashlib.sha256()
    total = 0
    for chunk in _stream(members, name, size):
        sha.update(chunk)
        total += len(chunk)
    return total, sha.hexdigest()


# --- verification ----------------------------------------------------------------------------

def verify_bundle(bundle: str | Path, public_key_file: str | Path | None = None,
                  integrity_only: bool = False) -> Verification:
    if public_key_file and integrity_only:
        raise InputError(Problem("--integrity-only", "checks the hashes alone; it cannot be combined with "
                                                     "--public-key, which proves who signed"))
    public_key = signing.load_public_key(public_key_file) if public_key_file else None
    result = Verification(str(bundle), integrity_only=integrity_only)
    try:
        members = _members(Path(bundle))
    except Refused as exc:
        result.problems.append(str(exc))
        return result
    result.form = members.form
    try:
        _verify(members, public_key, integrity_only, result)
    except Refused as exc:
        result.problems.insert(0, str(exc))
    except _Corrupt as exc:
        result.problems.append(str(exc))
    finally:
        members.close()
    return result


def _verify(members, public_key, integrity_only: bool, result: Verification) -> None:
    problems = result.problems
    problems.extend(members.problems)
    present = members.names()
    if MANIFEST not in present:
        problems.append(f"{MANIFEST}: missing from the {'archive' if members.form == 'zip' else 'folder'}")
        return
    manifest_bytes = _read_small(members, MANIFEST, MAX_MANIFEST_BYTES)
    try:
        manifest = json.loads(manifest_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        problems.append(f"{MANIFEST}: not valid JSON ({str(exc)[:200]})")
        return
    schema_problems = check(manifest, MANIFEST_SCHEMA, MANIFEST)
    if schema_problems:
        problems.append(f"{MANIFEST}: does not match {MANIFEST_SCHEMA}: {str(schema_problems[0])[:500]}")
        return
    result.scan_id = manifest["scan_id"]

    _check_signature(members, present, manifest, manifest_bytes, public_key, integrity_only, result)

    listed: dict[str, dict] = {}
    for entry in manifest["files"]:
        if entry["path"] in listed:
            problems.append(f"{entry['path']}: listed twice in {MANIFEST}")
        listed[entry["path"]] = entry
    for path in sorted(listed):
        entry = listed[path]
        if path not in present:
            problems.append(f"{path}: listed in {MANIFEST} but missing from the bundle")
            continue
        size = members.size(path)
        if size != entry["size"]:  # declared size, before anything is inflated
            problems.append(f"{path}: size {size} differs from the manifest's {entry['size']}")
            continue
        too_dense = members.check_ratio(path)
        if too_dense:
            raise Refused(too_dense)
        try:
            total, digest = _digest(members, path, entry["size"])
        except _Corrupt as exc:
            problems.append(str(exc))
            continue
        result.files_checked += 1
        if total != entry["size"]:
            problems.append(f"{path}: size {total} differs from the manifest's {entry['size']}")
        elif digest != entry["sha256"]:
            problems.append(f"{path}: sha256 {digest} differs from the manifest's {entry['sha256']}")
    where = "archive" if members.form == "zip" else "folder"
    for name in sorted(present - set(listed) - {MANIFEST, SIGNATURE}):
        problems.append(f"{name}: in the {where} but not listed in {MANIFEST}")
    for pack in manifest["rule_packs"]:
        entry = listed.get(pack["file"])
        if entry is None:
            problems.append(f"{pack['file']}: rule pack {pack['name']} is not listed in the manifest's files")
        elif entry["sha256"] != pack["sha256"]:
            problems.append(f"{pack['file']}: rule pack sha256 {pack['sha256']} differs from the file's "
                            f"{entry['sha256']}")
    waivers = manifest.get("waivers")
    if waivers and waivers["file"] in listed and listed[waivers["file"]]["sha256"] != waivers["sha256"]:
        problems.append(f"{waivers['file']}: waivers sha256 differs from the file's")
    if result.unproven:  # after the hashes: a changed file is the first thing to say
        problems.append(result.unproven)


def _check_signature(members, names: set[str], manifest: dict, manifest_bytes: bytes, public_key,
                     integrity_only: bool, result: Verification) -> None:
    problems = result.problems
    declared = manifest.get("signature")
    result.signed = SIGNATURE in names
    if not result.signed:
        if declared:
            problems.append(f"{SIGNATURE}: missing, but {MANIFEST} says the bundle is signed")
        elif public_key is not None:
            problems.append(f"{SIGNATURE}: the bundle is not signed, so --public-key cannot be checked")
        elif not integrity_only:
            result.unproven = (f"{SIGNATURE}: the bundle is not signed, so nothing proves who made it "
                               "(--integrity-only checks the hashes alone)")
        return
    raw = _read_small(members, SIGNATURE, MAX_SIGNATURE_BYTES)
    try:
        signature = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        signature = None
    if not signature:
        problems.append(f"{SIGNATURE}: unreadable (expected a base64 Ed25519 signature)")
        return
    if public_key is not None:
        key, result.key_source = public_key, "--public-key"
    elif declared:
        key = signing.public_key_from_pem(declared["public_key"])
        result.key_source = "manifest"
        if key is None:
            problems.append(f"{MANIFEST}: signature.public_key is not an Ed25519 public key")
            return
    else:
        problems.append(f"{SIGNATURE}: present, but {MANIFEST} names no public key; give --public-key")
        return
    result.key_id = signing.key_id(key)
    if not signing.verify(key, signature, manifest_bytes):
        who = "the given --public-key" if result.key_source == "--public-key" else "the public key in the manifest"
        problems.append(f"{SIGNATURE}: signature of {MANIFEST} does not verify with {who} (key {result.key_id[:16]})")
        return
    if declared and declared.get("key_id") != result.key_id:
        problems.append(f"{MANIFEST}: signature.key_id {str(declared.get('key_id', ''))[:16]} is not the key that "
                        "signed it")
        return
    result.signature_valid = True
    result.signer_proven = result.key_source == "--public-key"
    if not result.signer_proven and not integrity_only:
        result.unproven = (f"{SIGNATURE}: signed only by the key in its own manifest (key {result.key_id[:16]}), which "
                        "anyone who changed the files could replace with their own: give --public-key with the "
                        "signer's key (or --integrity-only to check the hashes alone)")
