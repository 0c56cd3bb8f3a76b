"""Rule packs, waivers, config and --param written by someone else: data, never a program.
Alias bombs, deep nesting, NaN/infinity, numbers of thousands of digits, out-of-range days
and key sizes, oversized files: each is exit 2 naming the file (and line), within seconds and
MEMORY_CAP, before anything walks the value."""

from __future__ import annotations

import json
import time

import pytest

from hostile_support import MEMORY_CAP, certscan, check_outputs, make_pem, pack

from scanner.report.atomic import dumps_json
from scanner.inputs.yamlfile import MAX_YAML_BYTES

# 541 bytes that expand to 9**9 (387 million) strings when walked.
ALIAS_BOMB_LIST = ("[&a [lol,lol,lol,lol,lol,lol,lol,lol,lol], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], "
                   "&c [*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c], "
                   "&e [*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e], "
                   "&g [*f,*f,*f,*f,*f,*f,*f,*f,*f], &h [*g,*g,*g,*g,*g,*g,*g,*g,*g], "
                   "[*h,*h,*h,*h,*h,*h,*h,*h,*h]]")

@pytest.fixture
def scan_dir(tmp_path):
    """A folder of two certificates to scan: nothing else about the run may change."""
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "one.pem").write_bytes(make_pem("one.example"))
    (tmp_path / "certs" / "two.pem").write_bytes(make_pem("two.example"))
    return tmp_path


def refused(ran, *fragments: str) -> None:
    assert ran.code == 2, ran
    for fragment in fragments:
        assert fragment in ran.err, (fragment, ran)


def test_alias_bomb_in_a_waivers_file_is_refused_with_its_line(scan_dir):
    (scan_dir / "waivers.yaml").write_text(f"apiVersion: certscan/v1\nkind: Waivers\nwaivers: {ALIAS_BOMB_LIST}\n")
    started = time.monotonic()
    ran = certscan("scan", "--path", "certs", "--waivers", "waivers.yaml", "--output-dir", "out", cwd=scan_dir)
    refused(ran, "waivers.yaml:3", "alias")
    assert time.monotonic() - started < 20
    assert not (scan_dir / "out").exists()  # refused before anything ran


@pytest.mark.parametrize("key", ["formats", "params"])
def test_alias_bomb_in_a_config_is_refused(scan_dir, key):
    value = ALIAS_BOMB_LIST if key == "formats" else "{ACM-003: {days: " + ALIAS_BOMB_LIST + "}}"
    (scan_dir / "config.yaml").write_text(f"apiVersion: certscan/v1\nkind: Config\n{key}: {value}\n")
    refused(certscan("scan", "--path", "certs", "--config", "config.yaml", "--output-dir", "out", cwd=scan_dir),
            "config.yaml:3", "alias")


def test_alias_bomb_in_a_rule_value_is_refused_by_validate_and_scan(scan_dir):
    (scan_dir / "pack.yaml").write_text(pack(f"    assert: {{field: domain, op: in, value: {ALIAS_BOMB_LIST}}}\n"))
    for command in (["validate", "--rules", "pack.yaml"],
                    ["scan", "--path", "certs", "--rules", "pack.yaml", "--output-dir", "out"]):
        refused(certscan(*command, cwd=scan_dir), "pack.yaml:9", "alias")


def test_the_shipped_packs_use_aliases_within_the_budget(scan_dir):
    """The budget refuses bombs, not the anchors the shipped packs share their matrices with."""
    assert certscan("validate", cwd=scan_dir).code == 0


@pytest.mark.parametrize("block,depth", [("all", 200), ("any", 200), ("not", 300)])
def test_deeply_nested_conditions_are_refused(scan_dir, block, depth):
    leaf = "{field: domain, op: exists}"
    if block == "not":
        condition = "{not: " * depth + leaf + "}" * depth
    else:
        condition = f"{{{block}: [" * depth + leaf + "]}" * depth
    (scan_dir / "pack.yaml").write_text(pack(f"    assert: {condition}\n"))
    refused(certscan("validate", "--rules", "pack.yaml", cwd=scan_dir), "pack.yaml:9", "nesting deeper than 64")
    refused(certscan("scan", "--path", "certs", "--rules", "pack.yaml", "--output-dir", "out", cwd=scan_dir),
            "pack.yaml:9", "nesting deeper than 64")


def test_nesting_within_the_limit_still_works(scan_dir):
    condition = "{all: [" * 25 + "{field: domain, op: exists}" + "]}" * 25
    (scan_dir / "pack.yaml").write_text(pack(f"    assert: {condition}\n"))
    ran = certscan("scan", "--path", "certs", "--rules", "pack.yaml", "--format", "json", "--output-dir", "out",
                   cwd=scan_dir)
    assert ran.code == 0, ran
    results = check_outputs(scan_dir / "out")["certscan-results.json"]["results"]
    assert sorted(r["status"] for r in results) == ["pass", "pass"]


HUGE = "9" * 4301


@pytest.mark.parametrize("value,fragment", [
    (HUGE, "4,301 digits"),
    (".nan", "not a finite number"),
    ("-.inf", "not a finite number"),
    (".inf", "not a finite number"),
])
def test_param_values_that_are_not_settings_are_refused(scan_dir, value, fragment):
    ran = certscan("scan", "--path", "certs", "--param", f"ACM-003.days={value}", "--output-dir", "out",
                   cwd=scan_dir)
    refused(ran, "--param", "ACM-003.days", fragment)
    assert len(ran.err) < 2000  # the value itself is never echoed whole


@pytest.mark.parametrize("days", ["99999", "-40000"])
def test_days_beyond_a_hundred_years_are_refused_through_a_param(scan_dir, days):
    refused(certscan("scan", "--path", "certs", "--param", f"ACM-003.days={days}", "--output-dir", "out",
                     cwd=scan_dir), "ACM-003", "days_to_expiry", "parameter days", "36,525")


def test_days_within_range_still_work_through_a_param(scan_dir):
    assert certscan("scan", "--path", "certs", "--param", "ACM-003.days=36525", "--output-dir", "out",
                    cwd=scan_dir).code == 0


@pytest.mark.parametrize("condition,fragment", [
    (f"{{field: key_size, op: lt, value: {HUGE}}}", "4,301 digits"),
    ("{field: key_size, op: lt, value: 65537}", "65537"),
    ("{field: days_to_expiry, op: gt, value: 36526}", "36526"),
    ("{field: days_to_expiry, op: gt, value: .nan}", "not a finite number"),
    ("{field: days_to_expiry, op: in, value: [1, -.inf]}", "not a finite number"),
])
def test_numbers_in_a_pack_outside_their_range_are_refused(scan_dir, condition, fragment):
    (scan_dir / "pack.yaml").write_text(pack(f"    assert: {condition}\n"))
    refused(certscan("validate", "--rules", "pack.yaml", cwd=scan_dir), "pack.yaml:9", fragment)


def test_pack_params_that_are_not_finite_are_refused(scan_dir):
    (scan_dir / "pack.yaml").write_text(pack("    params: {days: .inf}\n"
                                             "    assert: {field: days_to_expiry, op: gt, value: {param: days}}\n"))
    refused(certscan("scan", "--path", "certs", "--rules", "pack.yaml", "--output-dir", "out", cwd=scan_dir),
            "pack.yaml:9", "not a finite number")


def test_config_params_that_are_not_finite_are_refused(scan_dir):
    (scan_dir / "config.yaml").write_text("apiVersion: certscan/v1\nkind: Config\nparams: {ACM-003: {days: .nan}}\n")
    refused(certscan("scan", "--path", "certs", "--config", "config.yaml", "--output-dir", "out", cwd=scan_dir),
            "config.yaml:3", "not a finite number")


@pytest.mark.parametrize("option,name", [("--waivers", "waivers.yaml"), ("--config", "config.yaml"),
                                         ("--rules", "pack.yaml")])
def test_inputs_over_their_size_cap_are_refused_unread(scan_dir, option, name):
    (scan_dir / name).write_text("# padding\n" * (MAX_YAML_BYTES // 10 + 1))
    refused(certscan("scan", "--path", "certs", option, name, "--output-dir", "out", cwd=scan_dir),
            name, f"larger than {MAX_YAML_BYTES:,} bytes")


def test_json_outputs_never_hold_nan_or_raw_surrogates():
    """Strict JSON whatever reaches the writer: no NaN/Infinity token, no unencodable text."""
    text = dumps_json({"days": float("nan"), "far": float("inf"), "name": "bad-\udcff.pem"})
    data = json.loads(text, parse_constant=lambda name: pytest.fail(f"output holds {name}"))
    assert data["days"] is None and data["far"] is None
    assert data["name"] == "bad-\\udcff.pem"
    text.encode("utf-8")


def test_memory_cap_is_what_the_suite_states():
    assert MEMORY_CAP == 1024 ** 3  # README "Untrusted input" states each case runs within it

