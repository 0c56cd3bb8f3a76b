"""certscan evidence verify BUNDLE [--public-key FILE | --integrity-only]."""

# No "from __future__ import annotations": typer reads these annotations at runtime.
import json
from typing import Annotated, Optional

import typer
from rich.console import Console

from scanner.evidence.verify import verify_bundle
from scanner.report.escape import console as esc

EXIT_VERIFIED, EXIT_FAILED = 0, 1

evidence_app = typer.Typer(help="Evidence bundles: verify one.", no_args_is_help=True)


@evidence_app.command("verify")
def verify(
    bundle: Annotated[str, typer.Argument(help="A certscan-evidence.zip, a re-zipped copy of it, or its extracted folder.")],
    public_key: Annotated[Optional[str], typer.Option("--public-key", help="Ed25519 public key (PEM, DER or OpenSSH) of the signer: proves who signed.")] = None,
    integrity_only: Annotated[bool, typer.Option("--integrity-only", help="Check the files against the manifest only; the signer stays unproven.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="JSON for tools.")] = False,
):
    """Check every file's size and sha256 against manifest.json, and who signed it.
    Exit 0 verified, 1 verification failed or the signer unproven (the first problem is
    named), 2 bad input."""
    result = verify_bundle(bundle, public_key, integrity_only)
    if json_out:
        print(json.dumps({"bundle": result.bundle, "ok": result.ok, "problems": result.problems,
                          "files_checked": result.files_checked, "signed": result.signed,
                          "signature_valid": result.signature_valid, "signer_proven": result.signer_proven,
                          "integrity_only": result.integrity_only, "form": result.form,
                          "key_id": result.key_id, "key_source": result.key_source, "scan_id": result.scan_id},
                         indent=2, sort_keys=True))
        raise typer.Exit(EXIT_VERIFIED if result.ok else EXIT_FAILED)
    console = Console(highlight=False, soft_wrap=True)
    name = esc(bundle)
    if not result.ok:
        console.print(f"[red]FAILED[/red] {name}: {esc(result.problems[0])}")
        for problem in result.problems[1:]:
            console.print(f"  also: {esc(problem)}")
        raise typer.Exit(EXIT_FAILED)
    what = f"{result.files_checked} files match manifest.json"
    if result.signer_proven:
        console.print(f"[green]VERIFIED[/green] {name}: scan {esc(result.scan_id)}, {what}; signed by the "
                      f"--public-key (Ed25519 key {result.key_id[:16]}…)")
    else:
        how = (f"signed only by the key in its own manifest ({result.key_id[:16]}…)" if result.signed
               else "not signed")
        console.print(f"[yellow]INTEGRITY ONLY[/yellow] {name}: scan {esc(result.scan_id)}, {what}; signer "
                      f"unproven ({how}): this shows the files agree with the manifest, not who wrote them")
    raise typer.Exit(EXIT_VERIFIED)
