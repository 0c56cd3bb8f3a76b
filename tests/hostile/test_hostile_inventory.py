"""Hostile saved inventories, run through the installed certscan as a user would: each is
refused with exit 2, naming the file and where the problem is (JSON path or line), within
bounded time and memory, and without a traceback."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

CERTSCAN = str(Path(sys.executable).with_name("certscan"))
MEMORY_LIMIT = 1536 * 1024 * 1024  # address space: a hostile file must not make certscan balloon
TIME_LIMIT = 60


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def certscan(*argv: str | Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CERTSCAN, *map(str, argv)], capture_output=True, text=True, timeout=TIME_LIMIT,
                          preexec_fn=_limit_memory, env={**os.environ, "COLUMNS": "200", **(env or {})})


def certificate(ident: str = "arn:aws:acm:eu-west-1:111122223333:certificate/a", **fields) -> dict:
    return {"id": ident, "source": "aws.acm", "domain": "a.example.com", "not_after": "2026-09-01T00:00:00Z",
            **fields}


def inventory_text(certificates: list[dict], **extra) -> str:
    return json.dumps({"schema_version": 1, "collected_at": "2026-06-01T00:00:00Z", "certificates": certificates,
                       "errors": [], "coverage": [], **extra}, indent=2)


def scan(path: Path, tmp_path: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return certscan("scan", "--inventory", path, "--output-dir", tmp_path / "out", "--fail-on", "none", env=env)


def refused(result: subprocess.CompletedProcess, path: Path, *fragments: str) -> str:
    err = " ".join(result.stderr.split())  # the console wraps long lines
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr, result.stderr
    assert str(path) in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


def test_a_repeated_key_is_refused_with_its_path(tmp_path):
    path = tmp_path / "inv.json"
    text = inventory_text([certificate(), certificate("b")])
    # the second certificate says its domain twice: the last one would silently win
    path.write_text(text.replace('"domain": "a.example.com"', '"domain": "a.example.com", "domain": "evil.example"', 2)
                    .replace('"domain": "a.example.com", "domain": "evil.example"', '"domain": "a.example.com"', 1))
    refused(scan(path, tmp_path), path, "certificates[1]", '"domain" appears more than once')
    top = tmp_path / "top.json"
    top.write_text(inventory_text([certificate()])[:-1] + ', "errors": []}')
    refused(scan(top, tmp_path), top, "(top level)", '"errors" appears more than once')


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_with_their_line(tmp_path, value):
    path = tmp_path / "inv.json"
    path.write_text(inventory_text([certificate(key_size=2048)]).replace("2048", value))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if value in text)
    refused(scan(path, tmp_path), path, f"{value} is not a JSON number", f"line {line}")


def test_a_lone_surrogate_is_refused_with_its_path_and_a_pair_is_read(tmp_path):
    path = tmp_path / "inv.json"
    path.write_text(inventory_text([certificate(), certificate("b")]).replace('"b"', '"b\\ud800"'))
    refused(scan(path, tmp_path), path, "certificates[1].id", "lone surrogate")
    emoji = tmp_path / "emoji.json"
    emoji.write_text(inventory_text([certificate(domain="\\ud83d\\udd12.example.com")]).replace("\\\\", "\\"))
    result = scan(emoji, tmp_path)
    assert result.returncode == 0, result
    assert "\U0001f512.example.com" in (tmp_path / "out" / "certscan-inventory.json").read_text(encoding="utf-8")


def test_bytes_that_are_not_utf8_are_refused(tmp_path):
    path = tmp_path / "inv.json"
    path.write_bytes(inventory_text([certificate()]).encode().replace(b"a.example.com", b"a.ex\xffample.com"))
    refused(scan(path, tmp_path), path, "not UTF-8")


def test_deep_nesting_is_refused_quickly(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    refused(scan(deep, tmp_path), deep, "nested too deeply")
    metadata = tmp_path / "metadata.json"
    nested: dict = {}
    for _ in range(40):
        nested = {"x": nested}
    metadata.write_text(inventory_text([certificate()], metadata=nested))
    refused(scan(metadata, tmp_path), metadata, "metadata.x.x", "nested more than 32 levels deep")


def test_an_inventory_past_the_size_cap_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "inv.json"
    path.write_text(inventory_text([certificate(f"c{i}") for i in range(50)]))
    size = path.stat().st_size
    refused(scan(path, tmp_path, env={"CERTSCAN_MAX_INVENTORY_BYTES": "4096"}), path,
            f"is {size:,} bytes, more than the 4,096 allowed")
    assert scan(path, tmp_path).returncode == 0  # the default cap (4 GiB) is far above this


def test_two_certificates_with_one_id_are_refused_naming_both(tmp_path):
    path = tmp_path / "inv.json"
    path.write_text(inventory_text([certificate("x"), certificate("y"), certificate("x")]))
    refused(scan(path, tmp_path), path, "certificates[2].id", 'certificate id "x" is also certificates[0]')


def test_every_command_that_reads_an_inventory_refuses_the_same(tmp_path):
    path = tmp_path / "inv.json"
    path.write_text(inventory_text([certificate("x"), certificate("x")]))
    refused(certscan("expiring", "--inventory", path, "--days", "30"), path, "certificates[1].id")
    refused(certscan("merge", path, "--output", tmp_path / "merged.json"), path, "certificates[1].id")
