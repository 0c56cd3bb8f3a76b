"""`certscan evidence verify`: check an evidence bundle against its manifest.

Failed verification (exit 1) when: manifest.json is missing, not JSON or not valid against
schemas/evidence-manifest.schema.json; an archive entry is duplicated or has an unsafe name;
the signature does not verify (with --public-key, or with the key the manifest names); a
listed file is missing, has another size or sha256, or cannot be read (corrupt entry); a
file is in the archive but not listed; a rule pack's recorded sha256 differs from its file.
Bad input (exit 2, InputError): the bundle or the public key cannot be read, or the bundle
is not a zip archive. Problems are listed in the order checked; the first one is the answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from scanner.evidence import signing
from scanner.inputs.problems import InputError, Problem
from scanner.evidence.bundle import MANIFEST, SIGNATURE
from scanner.inputs.schema_check import check

MANIFEST_SCHEMA = "evidence-manifest.schema.json"


@dataclass
class Verification:
    bundle: str
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    signed: bool = False
    signature_valid: bool = False
    key_id: str | None = None
    key_source: str | None = None  # "--public-key" or "manifest"
    scan_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _open(path: str | Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError(Problem(str(path), "not a zip archive (expected a certscan-evidence.zip)")) from None
    except OSError as exc:
        raise InputError(Problem(str(path), f"cannot read the bundle: {exc.strerror or exc}")) from None


def _read(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError):
        return None


def verify_bundle(bundle: str | Path, public_key_file: str | Path | None = None) -> Verification:
    public_key = signing.load_public_key(public_key_file) if public_key_file else None
    result = Verification(str(bundle))
    problems = result.problems
    with _open(bundle) as archive:
        names = [info.filename for info in archive.infolist()]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                problems.append(f"{name}: appears more than once in the archive")
            seen.add(name)
            if name.startswith("/") or ".." in name.split("/") or "\\" in name:
                problems.append(f"{name}: unsafe entry name")

        if MANIFEST not in seen:
            problems.append(f"{MANIFEST}: missing from the archive")
            return result
        manifest_bytes = _read(archive, MANIFEST)
        if manifest_bytes is None:
            problems.append(f"{MANIFEST}: corrupt archive entry (cannot be decompressed or fails its CRC)")
            return result
        try:
            manifest = json.loads(manifest_bytes)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{MANIFEST}: not valid JSON ({exc})")
            return result
        schema_problems = check(manifest, MANIFEST_SCHEMA, MANIFEST)
        if schema_problems:
            problems.append(f"{MANIFEST}: does not match {MANIFEST_SCHEMA}: {schema_problems[0]}")
            return result
        result.scan_id = manifest["scan_id"]

        _check_signature(archive, seen, manifest, manifest_bytes, public_key, result)

        listed = {}
        for entry in manifest["files"]:
            if entry["path"] in listed:
                problems.append(f"{entry['path']}: listed twice in {MANIFEST}")
            listed[entry["path"]] = entry
        for path in sorted(listed):
            entry = listed[path]
            if path not in seen:
                problems.append(f"{path}: listed in {MANIFEST} but missing from the archive")
                continue
            data = _read(archive, path)
            if data is None:
                problems.append(f"{path}: corrupt archive entry (cannot be decompressed or fails its CRC)")
                continue
            result.files_checked += 1
            if len(data) != entry["size"]:
                problems.append(f"{path}: size {len(data)} differs from the manifest's {entry['size']}")
            digest = hashlib.sha256(data).hexdigest()
            if digest != entry["sha256"]:
                problems.append(f"{path}: sha256 {digest} differs from the manifest's {entry['sha256']}")
        for name in sorted(seen - set(listed) - {MANIFEST, SIGNATURE}):
            problems.append(f"{name}: in the archive but not listed in {MANIFEST}")
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
    return result


def _check_signature(archive: zipfile.ZipFile, names: set[str], manifest: dict, manifest_bytes: bytes,
                     public_key, result: Verification) -> None:
    problems = result.problems
    declared = manifest.get("signature")
    result.signed = SIGNATURE in names
    if not result.signed:
        if declared:
            problems.append(f"{SIGNATURE}: missing, but {MANIFEST} says the bundle is signed")
        elif public_key is not None:
            problems.append(f"{SIGNATURE}: the bundle is not signed, so --public-key cannot be checked")
        return
    raw = _read(archive, SIGNATURE)
    try:
        signature = base64.b64decode(raw.strip(), validate=True) if raw is not None else None
    except (binascii.Error, ValueError):
        signature = None
    if signature is None:
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
        problems.append(f"{MANIFEST}: signature.key_id {declared.get('key_id', '')[:16]} is not the key that signed it")
        return
    result.signature_valid = True
