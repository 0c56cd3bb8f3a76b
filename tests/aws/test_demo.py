"""certscan demo (the whole pipeline on a simulated estate) and the checked-in samples.
Lives under tests/aws so the loopback-only DNS guard and the moto environment apply."""

import filecmp
import json
import shutil
import zipfile
from pathlib import Path

from scanner.usecases.demo import DemoSize, regenerate_samples, run_demo, story
from scanner.evidence.verify import verify_bundle

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "reports" / "samples"


def test_demo_tells_the_story_through_the_real_collectors(tmp_path):
    size = DemoSize(accounts=4, expired_in_use=3, iam_expired=1, wildcard=1, untagged=1)
    run = run_demo(size, output_dir=tmp_path / "demo", estate_dir=tmp_path / "estate",
                   inventory_out=tmp_path / "demo-inventory.json")
    assert run.gate.exit_code == 0 and not run.gate.incomplete  # every unit reached, nothing undecided
    for name in ("certscan-results.json", "certscan-inventory.json", "certscan.sarif", "certscan-junit.xml",
                 "certscan-report.md", "certscan-report.html", "certscan-findings.csv", "certscan-evidence.zip"):
        assert (tmp_path / "demo" / name).is_file(), name
    assert (tmp_path / "demo-inventory.json").read_bytes() == (tmp_path / "demo" / "certscan-inventory.json").read_bytes()

    failing = {(r.rule_id, r.resource_id) for r in run.report.results if r.status == "fail"}
    expired_in_use = {rid for rule, rid in failing if rule == "EXP-001" and rid.startswith("arn:aws:acm:")}
    assert len(expired_in_use) == 3
    assert all(("DNS-001", rid) in failing and ("ACM-003", rid) in failing for rid in expired_in_use)
    sources = {c.source for c in run.evaluation.inventory.certificates}
    assert sources == {"aws.acm", "aws.iam", "azure.keyvault", "file", "kubernetes"}
    assert any(rule == "FILE-001" for rule, _ in failing) and any(rule == "AKV-001" for rule, _ in failing)
    # the small cluster: the portal's failing cert-manager Certificate, the unowned hand-made secret
    assert ("K8S-001", "prod/portal/Certificate/portal") in failing
    assert ("TAG-001", "prod/monitoring/Secret/metrics-tls") in failing
    assert ("K8S-001", "prod/shop/Certificate/shop") not in failing
    lines = story(run)
    assert lines[0].startswith("3 in-use ACM certificates have expired across")
    assert "pci-dss-4.0 4.2.1" in lines[-1]
    assert verify_bundle(tmp_path / "demo" / "certscan-evidence.zip", integrity_only=True).ok  # unsigned: integrity
    # the demo's private key stays in its estate folder: no output holds it
    for path in (tmp_path / "demo").iterdir():
        assert b"PRIVATE KEY" not in path.read_bytes(), path


def test_samples_regenerate_byte_for_byte(tmp_path, monkeypatch):
    """reports/samples/ is what `make samples` writes from the saved demo inventory. The
    inventory is taken from the samples themselves, so a local `make demo` (which saves a
    new, randomly named inventory) does not change what this checks."""
    (tmp_path / "examples").mkdir()
    shutil.copyfile(SAMPLES / "certscan-inventory.json", tmp_path / "examples" / "demo-inventory.json")
    monkeypatch.chdir(tmp_path)
    assert regenerate_samples() == 0
    regenerated = tmp_path / "reports" / "samples"
    names = sorted(p.name for p in SAMPLES.iterdir())
    assert names == sorted(p.name for p in regenerated.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(SAMPLES, regenerated, names, shallow=False)
    assert mismatch == [] and errors == [], mismatch + errors
    manifest = json.loads(zipfile.ZipFile(SAMPLES / "certscan-evidence.zip").read("manifest.json"))
    assert manifest["started_at"] == manifest["as_of"]  # the pinned clock is the collection time


def test_the_demo_command_leaves_the_saved_inventory_alone_unless_asked(tmp_path, monkeypatch):
    """`make demo` must not rewrite a checked-in file: each run names its accounts at random."""
    from scanner.cli import run
    monkeypatch.chdir(tmp_path)
    saved = tmp_path / "examples" / "demo-inventory.json"
    assert run(["demo", "--accounts", "2", "--output-dir", "out"]) == 0
    assert (tmp_path / "out" / "certscan-inventory.json").is_file() and not saved.exists()
    assert run(["demo", "--accounts", "2", "--output-dir", "out", "--save-inventory"]) == 0
    assert saved.read_bytes() == (tmp_path / "out" / "certscan-inventory.json").read_bytes()
