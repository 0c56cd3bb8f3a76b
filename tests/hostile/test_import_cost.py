"""Commands that read a saved inventory never import the cloud SDKs: `certscan --help` and
`scan --inventory` start without boto3/botocore or the Azure SDK (they cost start-up time
and memory a CI gate on a saved inventory does not need)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("boto3", "botocore", "azure")

PROBE = """
import sys
from scanner.cli import run
code = run(sys.argv[1:])
loaded = sorted({name.split(".")[0] for name in sys.modules} & {%s})
print("LOADED=" + ",".join(loaded))
""" % ", ".join(repr(name) for name in HEAVY)


def loaded_by(*argv: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120,
                          cwd=REPO)
    line = next(line for line in proc.stdout.splitlines() if line.startswith("LOADED="))
    return [name for name in line.removeprefix("LOADED=").split(",") if name]


def test_help_imports_no_cloud_sdk():
    assert loaded_by("--help") == []


def test_a_scan_of_a_saved_inventory_imports_no_cloud_sdk(tmp_path):
    inventory = REPO / "examples" / "landing-zone.json"
    formats = "json,sarif,junit,markdown,csv,html,evidence"
    assert loaded_by("scan", "--inventory", str(inventory), "--format", formats, "--fail-on", "none",
                     "--allow-partial", "--output-dir", str(tmp_path)) == []
