"""Every output is written atomically: a writer that fails mid-way leaves no partial file
and no temporary file, and an earlier complete file stays as it was."""

from __future__ import annotations

import json
import os

import jsonschema
import pytest

from scanner.report import atomic as outputs
from scanner.report import junit, results_json
from tests.outputs.outputs_support import run_in_repo, sarif_schema, scan_argv
from tests.results_support import load_results


class HalfWriter:
    """A file handle that writes half of what it is given, then fails like a full disk."""

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()
        return False

    def write(self, data: bytes) -> int:
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise OSError(28, "No space left on device")


def fail_writes_of(monkeypatch, target: str) -> None:
    """Writes of `target` (through scanner.report.atomic) stop half-way with ENOSPC."""
    temp_paths: dict[int, str] = {}
    real_mkstemp, real_fdopen = outputs.tempfile.mkstemp, outputs.os.fdopen

    def mkstemp(*args, **kwargs):
        fd, path = real_mkstemp(*args, **kwargs)
        temp_paths[fd] = os.path.basename(path)
        return fd, path

    def fdopen(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        return HalfWriter(handle) if temp_paths.get(fd, "").startswith(f".{target}.") else handle

    monkeypatch.setattr(outputs.tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(outputs.os, "fdopen", fdopen)


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith("."))


@pytest.mark.parametrize("target", ["certscan.sarif", "certscan-report.md", "certscan-evidence.zip"])
def test_a_writer_failing_midway_leaves_no_partial_or_temp_file(target, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    fail_writes_of(monkeypatch, target)
    code = run_in_repo(scan_argv(out, formats="json,sarif,junit,markdown,evidence"))
    err = capsys.readouterr().err
    assert code == 2
    assert "No space left on device" in err and "Traceback" not in err
    assert not (out / target).exists()
    assert leftovers(out) == []
    # What was written before the failure is complete, not half.
    load_results(out / "certscan-results.json")
    if (out / "certscan.sarif").exists():
        jsonschema.Draft4Validator(sarif_schema()).validate(json.loads((out / "certscan.sarif").read_text()))


def test_a_failed_rewrite_keeps_the_previous_complete_file(tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert run_in_repo(scan_argv(out, formats="json,junit")) == 1
    before = (out / "certscan-junit.xml").read_bytes()
    report = results_json.read(out / "certscan-results.json")
    fail_writes_of(monkeypatch, "certscan-junit.xml")
    with pytest.raises(OSError):
        junit.write(report, out)
    assert (out / "certscan-junit.xml").read_bytes() == before
    assert leftovers(out) == []


def test_a_reporter_raising_before_writing_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "out"

    def broken(report):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(junit, "render", broken)
    assert run_in_repo(scan_argv(out, formats="json,junit")) == 2
    assert not (out / "certscan-junit.xml").exists()
    assert leftovers(out) == []


def test_outputs_get_ordinary_file_permissions(tmp_path):
    path = outputs.write_text(tmp_path / "x.txt", "x")
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
