"""certscan-evidence.zip: what an auditor needs to see what was scanned, when, with which
rules, and what passed and failed per control, in one tamper-evident archive.

    manifest.json            scan id, tool version, as_of, start/end, command line, the
                             replay command, sources and identities, coverage, collection
                             errors, rule packs (sha256), and path/size/sha256 of every
                             other file; schemas/evidence-manifest.schema.json
    manifest.sig             Ed25519 signature of manifest.json (with --sign-key)
    inventory.json           the inventory evaluated (accepted back by --inventory)
    results.json             every result: pass, fail, waived, not applicable, error
    rules/<pack>.yaml        the rule packs, bytes exactly as used
    waivers/<file>           the waivers file, bytes exactly as used
    controls.csv             the control matrix with counts
    certscan.sarif           SARIF with waived results as suppressions
    certscan-junit.xml, certscan-report.md, certscan-findings.csv

Deterministic archive: entries sorted, fixed timestamps and permissions, so the same inputs
give the same bytes (the manifest's start/end times aside). The files are generated from the
ScanReport here rather than copied from the output folder, so the bundle does not depend on
which other formats were asked for. No private key ever goes in: every entry is checked.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shlex
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from scanner.evidence import signing
from scanner.evidence.replay import REPLAY_OUTPUT, replay_command
from scanner.inputs import resources
from scanner.collect import registry
from scanner.model import format_time
from scanner.inputs.problems import InputError, Problem
from scanner.report.atomic import dumps_json_bytes, utf8, write_bytes
from scanner.report import ScanReport
from scanner.report.formats import OutputFormat
from scanner.report import control_matrix, formats
from scanner.report.scope import build_scope

BUNDLE_FILE = "certscan-evidence.zip"
MANIFEST = "manifest.json"
README = "README.txt"
SIGNATURE = "manifest.sig"
MANIFEST_KIND = "certscan-evidence"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
ZIP_MODE = 0o100644  # regular file, rw-r--r--
PRIVATE_KEY_PEM = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        path = PurePosixPath(name)
        candidate = str(path.with_name(f"{path.stem}-{n}{path.suffix}"))
        n += 1
    taken.add(candidate)
    return candidate


def _read_as_used(path: str | Path, option: str, expected_sha256: str | None = None) -> bytes:
    try:
        data = (Path(path) if isinstance(path, str) else path).read_bytes()  # a shipped pack is a Traversable
    except OSError as exc:
        raise InputError(Problem(str(path), f"{option}: cannot read it back for the evidence bundle: {exc}")) from None
    if expected_sha256 and sha256(data) != expected_sha256:
        raise InputError(Problem(str(path), f"{option}: the file changed after the scan loaded it; "
                                       "the evidence bundle would not hold the file as used"))
    return data


def pack_files(report: ScanReport) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    files: dict[str, bytes] = {}
    entries: list[dict[str, Any]] = []
    taken: set[str] = set()
    for pack in sorted(report.packs, key=lambda p: (p.get("display_path") or "", p.get("path") or "")):
        name = _unique(f"rules/{PurePosixPath(str(pack['display_path']).replace(chr(92), '/')).name}", taken)
        files[name] = _read_as_used(resources.pack_file(pack), "rule pack", pack.get("sha256"))
        entries.append({"name": pack.get("name"), "version": pack.get("version"), "path": pack.get("path"),
                        "display_path": pack.get("display_path"), "builtin": bool(pack.get("builtin")),
                        "sha256": pack.get("sha256"), "file": name})
    return files, entries


def identities(report: ScanReport) -> dict[str, Any]:
    """Who and what was scanned, from the coverage (every unit reached, count 0 included);
    each source declares which of its coverage fields name it (collect.registry)."""
    return {
        "sources": sorted({str(c["source"]) for c in report.coverage if c.get("source")}),
        **registry.identities(report.coverage),
        "units": len(report.coverage),
        "details": report.sources,
    }


def bundle_files(report: ScanReport) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Every file but the manifest and its signature, and the manifest fields they give."""
    files, packs = pack_files(report)
    waivers = None
    if report.waivers_file:
        name = f"waivers/{PurePosixPath(str(report.waivers_file).replace(chr(92), '/')).name}"
        files[name] = _read_as_used(report.waivers_file, "--waivers", report.waivers_sha256)
        waivers = {"file": name, "path": report.waivers_file, "sha256": sha256(files[name])}
    for fmt in formats.bundled():  # every format the registry says the bundle carries
        files.update(fmt.bundle(report))
    files["controls.csv"] = utf8(control_matrix.render_csv(report))
    for name, data in files.items():
        if PRIVATE_KEY_PEM.search(data):
            raise InputError(Problem(name, "holds a PEM private key block; refusing to put it in the evidence bundle"))
    replay = replay_command(report, [p["file"] for p in packs], waivers and waivers["file"])
    files[README] = readme(report, sorted([*files, README, MANIFEST] + ([SIGNATURE] if report.sign_key else [])),
                           replay).encode("utf-8")
    fields = {"rule_packs": packs, "waivers": waivers, "replay": replay}
    return files, fields


# What each member is, for README.txt (members not named here are described by their folder).
MEMBER_NOTES = {
    MANIFEST: "scan id, tool version, as_of, start/end, scope (accounts, regions, vaults, paths, endpoints, "
              "identities), coverage, errors, the replay command, and the size and sha256 of every other file",
    SIGNATURE: "Ed25519 signature of manifest.json",
    "README.txt": "this file",
    "inventory.json": "the certificate inventory evaluated (certscan accepts it back with --inventory)",
    "results.json": "every (rule, resource) result: pass, fail, waived, not applicable, error; the gate",
    "controls.csv": "a verdict per framework control, its rules and basis, counts, failing resources",
    "certscan-oscal-ar.json": "the same as OSCAL assessment results (NIST OSCAL 1.2.1)",
    "certscan.sarif": "SARIF 2.1.0, waived results as suppressions",
    "certscan-junit.xml": "JUnit XML, one testcase per evaluated resource",
    "certscan-report.html": "the technical report, for reading and printing (scope, verdicts, risks, findings)",
    "certscan-report.md": "the technical report in markdown",
    "certscan-findings.csv": "fail, error and waived results, worst first, for spreadsheets",
}


def readme(report: ScanReport, members: list[str], replay: list[str] | None) -> str:
    """README.txt: what the bundle holds, how to verify it, how to replay it."""
    lines = [f"certscan evidence bundle: scan {report.scan_id}, as of {format_time(report.as_of)}, "
             f"certscan {report.tool_version}", "", "Members", ""]
    for name in members:
        folder = name.split("/")[0] + "/" if "/" in name else None
        note = MEMBER_NOTES.get(name) or {"rules/": "a rule pack, bytes exactly as the scan used them",
                                          "waivers/": "the waivers file, bytes exactly as the scan used it"}.get(
            folder or "", "")
        lines.append(f"  {name:<26} {note}".rstrip())
    lines += ["", "Verify", "",
              "  The manifest is the truth: every file it lists must be here with its size and sha256, and",
              "  nothing else. The zip, a re-zipped copy and the extracted folder all verify the same way.",
              "",
              "  With the signer's public key (proves who signed):",
              "    certscan evidence verify certscan-evidence.zip --public-key signer.pub",
              "  Without it, only the files' integrity can be checked; the signer stays unproven",
              "  (a bundle signed only by the key inside its own manifest, or unsigned, is not 'verified'):",
              "    certscan evidence verify certscan-evidence.zip --integrity-only",
              "", "Replay", ""]
    if replay:
        lines += ["  From inside the extracted bundle, this reproduces results.json byte for byte (the gate",
                  f"  included) in {REPLAY_OUTPUT}/certscan-results.json, with the same certscan version:",
                  "    " + " ".join(shlex.quote(arg) for arg in replay),
                  f"    cmp results.json {REPLAY_OUTPUT}/certscan-results.json"]
    else:
        lines += ["  This scan was rendered from a saved results file, without its inventory: no replay."]
    return "\n".join(lines) + "\n"


def build_manifest(report: ScanReport, files: dict[str, bytes], fields: dict[str, Any],
                   public_key: signing.Ed25519PublicKey | None) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "kind": MANIFEST_KIND,
        "scan_id": report.scan_id,
        "tool": {"name": "certscan", "version": report.tool_version},
        "as_of": format_time(report.as_of),
        "started_at": format_time(report.started_at),
        "finished_at": format_time(report.finished_at),
        "arguments": list(report.arguments),
        "replay": fields["replay"],
        "sources": identities(report),
        "scope": build_scope(report),
        "coverage": report.coverage,
        "errors": report.errors,
        "gate": report.gate,
        "summary": report.summary,
        "rule_packs": fields["rule_packs"],
        # --check / --skip-check, when the scan evaluated only some of the loaded rules
        **({"rule_selection": report.rule_selection} if report.rule_selection else {}),
        "waivers": fields["waivers"],
        "files": [{"path": name, "size": len(data), "sha256": sha256(data)} for name, data in sorted(files.items())],
        "signature": None if public_key is None else {
            "algorithm": signing.ALGORITHM, "file": SIGNATURE,
            "key_id": signing.key_id(public_key), "public_key": signing.public_key_pem(public_key)},
    }


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permission bits below mean what they say
            info.external_attr = ZIP_MODE << 16
            archive.writestr(info, entries[name], compresslevel=6)
    return buffer.getvalue()


def build(report: ScanReport) -> bytes:
    key = signing.load_private_key(report.sign_key) if report.sign_key else None
    files, fields = bundle_files(report)
    manifest = build_manifest(report, files, fields, key.public_key() if key else None)
    manifest_bytes = dumps_json_bytes(manifest)
    if PRIVATE_KEY_PEM.search(manifest_bytes):
        raise InputError(Problem(MANIFEST, "would hold a PEM private key block; refusing to write the bundle"))
    entries = dict(files)
    entries[MANIFEST] = manifest_bytes
    if key is not None:
        entries[SIGNATURE] = base64.b64encode(signing.sign(key, manifest_bytes)) + b"\n"
    return zip_bytes(entries)


def write(report: ScanReport, output_dir: Path) -> list[Path]:
    return [write_bytes(Path(output_dir) / BUNDLE_FILE, build(report))]


FORMAT = OutputFormat("evidence", (BUNDLE_FILE,), order=90,
                      write=lambda report, output_dir, options: write(report, output_dir),
                      description="a zip of the outputs, packs, waivers and a manifest of their hashes (optionally signed)")
