"""Issue 13, part 1: outside text reaches a terminal or a report only escaped.

Certificates served over loopback TLS whose CN or SAN holds Rich markup, a terminal link,
ESC[2J, BEL or an OSC-8 hyperlink; scanned files whose path holds ``q[/x].pem`` or control
characters; an inventory whose domain, id, owner tag, validation record and provider error
message hold the same; a waivers file and a rule pack with markup in their text. Every
command runs as a user runs it (the installed ``certscan`` in a subprocess, bounded in time)
and each output is checked: no raw ESC or BEL anywhere, no traceback, no live link, the text
shown literally (console, at a width where nothing wraps) or escaped for its format
(markdown, HTML, CSV, job summary), and the exit code the same as for the same estate with
harmless names (findings -> 1, an unreadable unit -> 3: never a crash)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import trustme

from scanner.report import escape
from scanner.report.results_json import read as read_results
from sources_support import NOW, TLSServer, leaf_pems, make_cert

REPO = Path(__file__).resolve().parents[2]
LANDING_ZONE = REPO / "examples" / "landing-zone.json"
CERTSCAN = Path(sys.executable).with_name("certscan")
AS_OF = "2026-06-01T00:00:00Z"

# One payload per way text can act on a terminal or a report.
PAYLOADS = {
    "markup": "x[/]",
    "link": "[link=https://evil.test]click[/link]",
    "clear": "cls\x1b[2Jcls",
    "bell": "ring\x07ring",
    "osc8": "\x1b]8;;https://evil.test\x07osc\x1b]8;;\x07",
}
EVERYTHING = " ".join(PAYLOADS.values())  # where a field can hold more than 64 characters
RAW = ("\x1b", "\x07", "\x9b")  # ESC, BEL, the C1 CSI
OWNER = "[bold red]boss[/] \x1b[31mred\x1b[0m \x07 [link=https://evil.test]o[/link]"
RECORD = "_x[/].\x1b[2J.example.com."
ERROR_MESSAGE = "denied \x1b[2J [link=https://evil.test]x[/link] \x07"


def run(*argv, columns: int = 1000, force_terminal: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "TERM")}
    env["COLUMNS"] = str(columns)
    if force_terminal:
        env.update(FORCE_COLOR="1", TERM="xterm-256color")  # Rich writes styles and links as to a TTY
    done = subprocess.run([str(CERTSCAN), *map(str, argv)], capture_output=True, timeout=180, env=env)
    # decode losslessly: a raw byte must stay visible to the checks below
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode("utf-8", "surrogateescape"),
                                       done.stderr.decode("utf-8", "surrogateescape"))


def assert_clean(text: str, where: str) -> None:
    for raw in RAW:
        assert raw not in text, f"raw {raw!r} in {where}"
    assert "Traceback" not in text, where


def assert_clean_run(done: subprocess.CompletedProcess, where: str) -> None:
    assert_clean(done.stdout, f"{where} stdout")
    assert_clean(done.stderr, f"{where} stderr")


def shown(value: str) -> str:
    """What a terminal shows for outside text: the text, control characters made visible."""
    return escape.visible(value)


# --- the estates ------------------------------------------------------------------------------

def inventory_document(hostile: bool) -> dict:
    """The landing zone with outside text in one certificate, its validation record, its owner
    tag and a provider error; ``hostile=False`` gives the same estate with harmless text."""
    doc = json.loads(LANDING_ZONE.read_text())
    cert = doc["certificates"][0]  # ACM, in use, expiring 2026-06-20: fails, and is listed as expiring
    text = (lambda value, harmless: value if hostile else harmless)
    cert["domain"] = text(EVERYTHING, "api.example.com")
    cert["id"] += text("/[link=https://evil.test]x[/link]\x07", "/benign")
    cert["tags"] = {"owner": text(OWNER, "platform-team")}
    cert["validation"][0].update(record_name=text(RECORD, "_a.example.com."), dns_status="missing")
    doc["errors"].append({"source": "aws.acm", "service": "acm", "code": text("AccessDenied[/]", "AccessDenied"),
                          "message": text(ERROR_MESSAGE, "denied"), "account": "999999999999",
                          "region": "eu-west-1", "unit": "aws.acm/999999999999/eu-west-1"})
    doc["coverage"].append({"unit": "aws.acm/999999999999/eu-west-1", "source": "aws.acm", "service": "acm",
                            "account": "999999999999", "region": "eu-west-1", "count": 0, "complete": False})
    return doc


def waivers_text(cert_id: str, hostile: bool) -> str:
    waiver = {"id": "W-1[/]\x07" if hostile else "W-1", "rule": "*", "resource": cert_id,
              "justification": ("accepted [link=https://evil.test]risk[/link] \x1b[2J" if hostile
                                else "accepted risk for now"),
              "approved_by": "[red]ciso[/red]\x07" if hostile else "ciso", "expires": "2026-01-01"}
    # YAML is a superset of JSON: the control characters travel as \u escapes
    return json.dumps({"apiVersion": "certscan/v1", "kind": "Waivers", "waivers": [waiver]})


PACK = """apiVersion: certscan/v1
kind: RulePack
metadata: {name: hostile-pack, version: 1.0.0}
rules:
  - id: HOST-001
    title: "[link=https://evil.test]click[/link] \\e[2J title \\a"
    severity: high
    resource: file
    assert: {field: key_size, op: ge, value: 2048}
    message: "key of {domain} is small"
    remediation: "[bold]renew[/bold] \\e]8;;https://evil.test\\aosc\\e]8;;\\a"
    controls:
      soc2: [CC6.7]
"""


@dataclass
class Estate:
    root: Path
    endpoints: list[str]
    files: Path
    inventory: Path
    benign_inventory: Path
    waivers: Path
    benign_waivers: Path
    pack: Path


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    ca = trustme.CA()
    servers = []
    expired = dict(not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=35))
    for name, payload in PAYLOADS.items():  # one endpoint per payload, in the CN
        chain, _, key = leaf_pems(ca.issue_cert("localhost", common_name=payload, **expired))
        workdir = root / f"server-{name}"
        workdir.mkdir()
        servers.append(TLSServer(chain, key, workdir).start())
    san = make_cert("san.example.test", sans=["localhost", "x[/].example.test", "a\x1b[2Jb\x07.example.test"])
    workdir = root / "server-san"
    workdir.mkdir()
    servers.append(TLSServer(san.pem, san.key_pem, workdir).start())

    files = root / "estate"
    (files / "q[").mkdir(parents=True)  # the path holds q[/x].pem
    (files / "q[" / "x].pem").write_bytes(make_cert(PAYLOADS["markup"], not_before=NOW - timedelta(days=400),
                                                    days=365).pem)
    (files / "ring\x07-\x1b[2J-[link=https:⁄⁄evil.test]f[⁄link].pem").write_bytes(
        make_cert("bell.example.test", not_before=NOW - timedelta(days=400), days=365).pem)

    hostile, benign = inventory_document(True), inventory_document(False)
    inventory, benign_inventory = root / "hostile-inventory.json", root / "benign-inventory.json"
    inventory.write_text(json.dumps(hostile))
    benign_inventory.write_text(json.dumps(benign))
    waivers, benign_waivers = root / "waivers.yaml", root / "benign-waivers.yaml"
    waivers.write_text(waivers_text(hostile["certificates"][0]["id"], True))
    benign_waivers.write_text(waivers_text(benign["certificates"][0]["id"], False))
    pack = root / "hostile-pack.yaml"
    pack.write_text(PACK)
    try:
        yield Estate(root, [s.endpoint for s in servers], files, inventory, benign_inventory, waivers,
                     benign_waivers, pack)
    finally:
        for server in servers:
            server.stop()


def live_sources(e: Estate) -> list[str]:
    return [arg for endpoint in e.endpoints for arg in ("--endpoint", endpoint)] + ["--path", str(e.files), "-q"]


def text_files(folder: Path) -> dict[str, str]:
    """Every output in a folder as text; the evidence bundle's members one by one."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as bundle:
                for member in bundle.namelist():
                    out[f"{path.name}!{member}"] = bundle.read(member).decode("utf-8", "surrogateescape")
        elif path.is_file():
            out[path.name] = path.read_bytes().decode("utf-8", "surrogateescape")
    return out


# --- live sources: TLS endpoints and files ----------------------------------------------------

@pytest.fixture(scope="module")
def live_scan(estate):
    out = estate.root / "live"
    done = run("scan", *live_sources(estate), "--format", "json,sarif,junit,markdown,csv,html,evidence",
               "--output-dir", out)
    return done, out


def test_live_scan_of_hostile_names_gates_on_findings_and_writes_clean_outputs(live_scan):
    done, out = live_scan
    assert_clean_run(done, "scan")
    # results are read as users' tools read them (the file keeps a certificate's context once)
    saved = read_results(out / "certscan-results.json")
    assert saved.errors == [], saved.errors  # every endpoint and file was read
    assert done.returncode == saved.gate["exit_code"] == 1, done.stderr  # expired: findings
    domains = {r.context.get("domain") for r in saved.results}
    assert set(PAYLOADS.values()) <= domains  # nothing lost: every hostile certificate judged
    for name, text in text_files(out).items():
        assert_clean(text, name)
    page = (out / "certscan-report.html").read_text()
    assert "<a " not in page.lower() and "href" not in page.lower()
    for payload in PAYLOADS.values():
        assert escape.html(payload) in page
    report = (out / "certscan-report.md").read_text()
    assert "[link=" not in report.replace("\\[link=", "")
    for payload in PAYLOADS.values():
        assert escape.markdown(payload) in report
    rows = list(csv.DictReader(io.StringIO((out / "certscan-findings.csv").read_text())))
    assert {escape.csv_cell(p) for p in PAYLOADS.values()} <= {row["domain"] for row in rows}


def test_live_inventory_and_expiring_show_names_literally(estate, tmp_path):
    export = tmp_path / "inventory.csv"
    listed = run("inventory", *live_sources(estate), "--export-csv", export)
    assert_clean_run(listed, "inventory")
    assert listed.returncode == 0, listed.stderr
    for payload in PAYLOADS.values():
        assert shown(payload) in listed.stdout, payload
    assert "q[/x].pem" in listed.stdout  # the scanned file's path, as it is
    assert shown("ring\x07-\x1b[2J-[link=https:⁄⁄evil.test]f[⁄link].pem") in listed.stdout
    sans = " ".join(row["sans"] for row in csv.DictReader(io.StringIO(export.read_text())))
    assert "x[/].example.test" in sans and shown("a\x1b[2Jb\x07.example.test") in sans
    assert_clean(export.read_text(), "inventory --export-csv")

    expiring = run("expiring", "--days", "30", *live_sources(estate))
    assert_clean_run(expiring, "expiring")
    assert expiring.returncode == 0, expiring.stderr
    assert "q[/x].pem" in expiring.stdout


@pytest.mark.parametrize("columns", [80, 120])
def test_narrow_and_forced_terminal_output_holds_no_live_link_or_control(estate, columns):
    """As a terminal gets it (FORCE_COLOR: styles are written): styles yes, links and raw
    controls from the data no."""
    for argv in (["inventory", *live_sources(estate)], ["scan", *live_sources(estate), "--format", "json",
                                                        "--output-dir", estate.root / f"forced-{columns}"]):
        done = run(*argv, columns=columns, force_terminal=True)
        assert done.returncode in (0, 1), done.stderr
        for stream in (done.stdout, done.stderr):
            assert "\x1b]8;" not in stream and "\x1b[2J" not in stream and "\x07" not in stream
            assert "Traceback" not in stream
        assert "\x1b[" in done.stdout  # it did write as to a terminal


# --- a saved inventory: tags, ids, validation records, provider errors, waivers ----------------

def _pair(estate, *argv, benign_argv=None):
    """Run a command over the hostile estate and over its harmless twin."""
    hostile = run(*argv)
    benign = run(*(benign_argv or [str(a).replace(str(estate.inventory), str(estate.benign_inventory))
                                  .replace(str(estate.waivers), str(estate.benign_waivers)) for a in argv]))
    return hostile, benign


def test_scan_of_a_hostile_inventory_exits_as_its_harmless_twin(estate):
    common = ["--waivers", estate.waivers, "--as-of", AS_OF, "--format", "json,markdown,csv,html,evidence"]
    hostile, benign = _pair(estate, "scan", "--inventory", estate.inventory, *common,
                            "--output-dir", estate.root / "inv")
    assert_clean_run(hostile, "scan --inventory")
    assert hostile.returncode == benign.returncode == 3, (hostile.stderr, benign.stderr)  # the error unit
    assert shown(ERROR_MESSAGE) in hostile.stdout  # the gate's reason, literally
    assert shown("W-1[/]\x07") in hostile.stdout  # the expired waiver's line
    for name, text in text_files(estate.root / "inv").items():
        assert_clean(text, name)


@pytest.fixture(scope="module")
def saved_results(estate):
    out = estate.root / "saved"
    done = run("scan", "--inventory", estate.inventory, "--waivers", estate.waivers, "--as-of", AS_OF,
               "--allow-partial", "--format", "json,evidence", "--output-dir", out)
    assert done.returncode == 1, done.stderr
    return out


def test_triage_console_reports_and_csvs_neutralize_outside_text(estate):
    out = estate.root / "triage"
    hostile, benign = _pair(estate, "triage", "--inventory", estate.inventory, "--waivers", estate.waivers,
                            "--as-of", AS_OF, "--allow-partial", "--mode", "technical", "--output-dir", out,
                            benign_argv=["triage", "--inventory", estate.benign_inventory, "--waivers",
                                         estate.benign_waivers, "--as-of", AS_OF, "--allow-partial",
                                         "--output-dir", estate.root / "triage-benign"])
    assert_clean_run(hostile, "triage")
    assert hostile.returncode == benign.returncode == 0, hostile.stderr
    assert shown(OWNER) in hostile.stdout  # owners to contact / expiring: the tag as written
    assert shown(ERROR_MESSAGE) in hostile.stdout  # the coverage gap
    files = text_files(out)
    for name, text in files.items():
        assert_clean(text, name)
    report = files["certscan-report.md"]
    assert escape.markdown(OWNER) in report and escape.markdown(EVERYTHING) in report
    assert escape.markdown(ERROR_MESSAGE) in report
    assert "[link=" not in report.replace("\\[link=", "")
    page = files["certscan-report.html"]
    assert escape.html(OWNER) in page and escape.html(EVERYTHING) in page and "<a " not in page.lower()
    expiring = list(csv.DictReader(io.StringIO(files["certscan-expiring.csv"])))
    assert escape.csv_cell(EVERYTHING) in {row["domain"] for row in expiring}
    findings = list(csv.DictReader(io.StringIO(files["certscan-findings.csv"])))
    assert escape.csv_cell(OWNER) in {row["owner"] for row in findings}


def test_report_and_job_summary_from_saved_results(estate, saved_results, tmp_path):
    results = saved_results / "certscan-results.json"
    done = run("report", "--results", results, "--mode", "technical", "--output-dir", tmp_path)
    assert_clean_run(done, "report")
    assert done.returncode == 0, done.stderr
    for name, text in text_files(tmp_path).items():
        assert_clean(text, name)
    assert escape.markdown(EVERYTHING) in (tmp_path / "certscan-report.md").read_text()

    summary = run("summary", "--results", results)
    assert_clean_run(summary, "summary")
    assert summary.returncode == 0, summary.stderr
    assert escape.markdown(EVERYTHING) in summary.stdout  # the failing certificate's domain
    assert escape.markdown(ERROR_MESSAGE) in summary.stdout  # the collection error
    assert "[link=" not in summary.stdout.replace("\\[link=", "")


def test_dns_check_inventory_and_merge_of_a_hostile_inventory(estate, tmp_path):
    hostile, benign = _pair(estate, "dns-check", "--inventory", estate.inventory)
    assert_clean_run(hostile, "dns-check")
    assert hostile.returncode == benign.returncode == 3
    assert shown(RECORD) in hostile.stdout and shown(ERROR_MESSAGE) in hostile.stderr

    hostile, benign = _pair(estate, "inventory", "--inventory", estate.inventory, "--allow-partial")
    assert_clean_run(hostile, "inventory --inventory")
    assert hostile.returncode == benign.returncode == 0
    assert shown(EVERYTHING) in hostile.stdout

    output = tmp_path / "m[/x]\x1b[2J.json"
    merged = run("merge", estate.inventory, "--output", output)
    assert_clean_run(merged, "merge")
    assert merged.returncode == 0, merged.stderr
    assert shown(str(output)) in merged.stderr and output.is_file()


def test_rules_validate_and_controls_show_pack_and_waiver_text_literally(estate, saved_results):
    listed = run("rules", "list", "--rules", estate.pack)
    assert_clean_run(listed, "rules list")
    assert listed.returncode == 0, listed.stderr
    assert shown("[link=https://evil.test]click[/link] \x1b[2J title \x07") in listed.stdout

    one = run("rules", "show", "HOST-001", "--rules", estate.pack)
    assert_clean_run(one, "rules show")
    assert one.returncode == 0, one.stderr
    assert shown("[bold]renew[/bold] \x1b]8;;https://evil.test\x07osc\x1b]8;;\x07") in one.stdout

    valid = run("validate", "--rules", estate.pack, "--waivers", estate.waivers)
    assert_clean_run(valid, "validate")
    assert valid.returncode == 0, valid.stderr

    matrix = run("controls", "--results", saved_results / "certscan-results.json")
    assert_clean_run(matrix, "controls")
    assert matrix.returncode == 0, matrix.stderr


def test_evidence_verify_names_a_hostile_bundle_path_literally(saved_results, tmp_path):
    (tmp_path / "e[").mkdir()  # the path holds e[/x]
    bundle = tmp_path / "e[" / "x]\x07[link=https:⁄⁄evil.test]b[⁄link].zip"
    shutil.copyfile(saved_results / "certscan-evidence.zip", bundle)
    ok = run("evidence", "verify", bundle, "--integrity-only")  # unsigned: the signer is not proven
    assert_clean_run(ok, "evidence verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert shown(str(bundle)) in ok.stdout


def test_an_unreadable_hostile_file_name_is_exit_2_named_literally(tmp_path):
    missing = tmp_path / "no[" / "x]\x1b[2J[link=https:⁄⁄evil.test]i[⁄link].json"
    done = run("scan", "--inventory", missing, "--output-dir", tmp_path / "out")
    assert_clean_run(done, "scan --inventory missing")
    assert done.returncode == 2
    assert shown(str(missing)) in " ".join(done.stderr.split())
