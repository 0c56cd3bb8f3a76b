"""The output format registry (scanner.report.formats) is the one list of formats: the CLI,
the Action's documentation, the evidence bundle and the demo follow it, and a format is
added by adding one module."""

import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import yaml

from scanner.report import formats
from scanner.report.results_json import read as read_results

REPO = Path(__file__).resolve().parents[1]
INVENTORY = REPO / "examples" / "demo-inventory.json"
CERTSCAN = Path(sys.executable).with_name("certscan")


def certscan(*argv, cwd=None, columns="200"):
    env = {**os.environ, "COLUMNS": columns, "NO_COLOR": "1"}
    return subprocess.run([str(CERTSCAN), *map(str, argv)], capture_output=True, text=True, timeout=300, env=env,
                          cwd=cwd)


def test_registry_holds_each_format_once_in_writing_order_with_the_bundle_last():
    registry = formats.registry()
    assert set(registry) >= {"json", "sarif", "junit", "markdown", "csv", "html", "evidence"}
    orders = [fmt.order for fmt in registry.values()]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    assert formats.names()[-1] == "evidence"  # it packs what the others wrote
    files = [name for fmt in registry.values() for name in fmt.files]
    assert len(files) == len(set(files)), "two formats claim the same file"
    assert {f.name for f in formats.human()} >= {"markdown", "html"}
    assert "evidence" not in {f.name for f in formats.bundled()}


def test_the_action_documents_exactly_the_registered_formats():
    action = yaml.safe_load((REPO / "action.yml").read_text())
    described = action["inputs"]["formats"]["description"]
    listed = re.search(r"comma list\):\s*([a-z0-9_, -]+)\.", described, re.I)
    assert listed, described
    assert sorted(name.strip() for name in listed.group(1).split(",")) == sorted(formats.names())


def test_scan_help_and_unknown_format_name_the_registry(tmp_path):
    help_text = certscan("scan", "--help").stdout
    assert ",".join(formats.names()) in " ".join(help_text.split()).replace(" ", "").replace("│", "")
    bad = certscan("scan", "--inventory", INVENTORY, "--format", "json,pdf", "--output-dir", tmp_path)
    assert bad.returncode == 2, bad
    assert "unknown format(s) pdf" in bad.stderr and ", ".join(formats.names()) in " ".join(bad.stderr.split())
    assert "Traceback" not in bad.stderr


def test_every_format_writes_its_files_and_the_bundle_carries_every_bundled_format(tmp_path):
    out = tmp_path / "out"
    done = certscan("scan", "--inventory", INVENTORY, "--as-of", "2026-06-01", "--fail-on", "none",
                    "--format", ",".join(formats.names()), "--output-dir", out)
    assert done.returncode == 0, done.stderr
    for fmt in formats.registry().values():
        for name in fmt.files:
            assert (out / name).is_file(), f"{fmt.name} did not write {name}"
    report = read_results(out / "certscan-results.json")
    with zipfile.ZipFile(out / "certscan-evidence.zip") as bundle:
        members = set(bundle.namelist())
        for fmt in formats.bundled():
            expected = fmt.bundle(report)
            assert set(expected) <= members, fmt.name
    # a format the registry leaves out of the bundle is not in it
    left_out = [name for fmt in formats.registry().values() if not fmt.in_bundle for name in fmt.files]
    assert left_out and not set(left_out) & members


def test_a_new_format_is_one_module(tmp_path, monkeypatch):
    """A module that declares FORMAT, and nothing else edited: the registry writes it."""
    package = tmp_path / "extra_formats"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "probe.py").write_text(textwrap.dedent('''
        from pathlib import Path
        from scanner.report.atomic import write_text
        from scanner.report.formats import OutputFormat

        def write(report, output_dir, options):
            return [write_text(Path(output_dir) / "probe.txt", f"{report.scan_id} {options.mode}")]

        FORMAT = OutputFormat("probe", ("probe.txt",), order=85, write=write, human=True,
                              bundle=lambda report: {"probe.txt": report.scan_id.encode()})
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(formats, "FORMAT_PACKAGES", (*formats.FORMAT_PACKAGES, "extra_formats"))
    formats.registry.cache_clear()
    try:
        assert formats.names()[-2:] == ["probe", "evidence"]
        assert "probe" in {f.name for f in formats.human()} and "probe" in {f.name for f in formats.bundled()}
        from scanner.collect import SourceOptions
        from scanner.usecases.scan import ScanSettings, run_scan
        run = run_scan(SourceOptions(inventory=str(INVENTORY)),
                       ScanSettings(output_dir=tmp_path / "out", formats=["probe", "evidence"], fail_on="none"))
        assert (tmp_path / "out" / "probe.txt").read_text() == f"{run.report.scan_id} executive"
        with zipfile.ZipFile(tmp_path / "out" / "certscan-evidence.zip") as bundle:
            assert bundle.read("probe.txt").decode() == run.report.scan_id
    finally:
        formats.registry.cache_clear()
