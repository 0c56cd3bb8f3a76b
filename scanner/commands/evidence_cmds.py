"""certscan evidence verify BUNDLE [--public-key FILE]."""

# No "from __future__ import annotations": typer reads these annotations at runtime.
import json
from typing import Annotated, Optional

import typer
from rich.console import Console

from scanner.evidence.verify import verify_bundle
from scanner.report.escape import console as c

EXIT_VERIFIED, EXIT_FAILED = 0, 1

evidence_app = typer.Typer(help="Evidence bundles: verify one.", no_args_is_help=True)


@evidence_app.command("verify")
def verify(
    bundle: Annotated[str, typer.Argument(help="A certscan-evidence.zip.")],
    public_key: Annotated[Optional[str], typer.Option("--public-key", help="Ed25519 public key (PEM, DER or OpenSSH) the manifest must be signed with.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON for tools.")] = False,
):
    """Check every file's size and sha256 against manifest.json, and the signature.
    Exit 0 verified, 1 verification failed (the first mismatch is named), 2 bad input."""
    result = verify_bundle(bundle, public_key)
    if json_out:
        print(json.dumps({"bundle": result.bundle, "ok": result.ok, "problems": result.problems,
                          "files_checked": result.files_checked, "signed": result.signed,
                          "signature_valid": result.signature_valid, "key_id": result.key_id,
                          "key_source": result.key_source, "scan_id": result.scan_id}, indent=2, sort_keys=True))
        raise typer.Exit(EXIT_VERIFIED if result.ok else EXIT_FAILED)
    console = Console(highlight=False, soft_wrap=True)
    if not result.ok:
        console.print(f"[red]FAILED[/red] {c(bundle)}: {c(result.problems[0])}")
        for problem in result.problems[1:]:
            console.print(f"  also: {c(problem)}")
        raise typer.Exit(EXIT_FAILED)
    if result.signed:
        where = "--public-key" if result.key_source == "--public-key" else (
            "the key named in the manifest; pass --public-key to check who signed it")
        signature = f"signature valid (Ed25519 key {c(result.key_id[:16])}…, checked with {where})"
    else:
        signature = "unsigned (hashes show the files match the manifest, not who wrote it)"
    console.print(f"[green]OK[/green] {c(bundle)}: scan {c(result.scan_id)}, {result.files_checked} files match "
                  f"manifest.json; {signature}")
    raise typer.Exit(EXIT_VERIFIED)
