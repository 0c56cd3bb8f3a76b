"""Benchmark of the output writers (issue 5): time and size of each format for a large
synthetic estate, and SARIF truncation past GitHub's 25,000-result limit.

    python -m bench.outputs [--certificates N] [--truncation N]

Not a test: figures depend on the machine. The estate is synthetic (ACM, IAM, Key Vault,
file and TLS records with a spread of expiry dates, tags and validation records) and is
evaluated with the output tests' fixture rule pack (5 rules).
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from scanner.evaluate.evaluation import evaluate_inventory
from scanner.evaluate.gate import decide
from scanner.model import Certificate, Coverage, Inventory, Result, ValidationRecord, parse_time
from scanner.usecases.scan import build_report
from scanner.report import ScanReport, formats as output_formats
from scanner.report import sarif
from scanner.packs.loader import load_rules
from scanner.packs.waivers import load_waivers

REPO = Path(__file__).resolve().parents[1]
PACK = REPO / "tests" / "fixtures" / "outputs" / "rules" / "certificates.yaml"
WAIVERS = REPO / "tests" / "fixtures" / "outputs" / "waivers.yaml"
AS_OF = parse_time("2026-06-01T00:00:00Z")
SOURCES = ("aws.acm", "aws.acm", "aws.acm", "aws.iam", "azure.keyvault", "file", "tls")


def synthetic_inventory(count: int) -> Inventory:
    certificates = []
    for i in range(count):
        source = SOURCES[i % len(SOURCES)]
        account = f"{100000000000 + i % 31:012d}"
        days = (i * 7919) % 400 - 30  # -30 .. 369 days left
        not_after = AS_OF + timedelta(days=days, hours=12)
        domain = f"{'*.' if i % 17 == 0 else ''}svc{i}.example.com"
        if source == "aws.acm":
            ident = f"arn:aws:acm:eu-west-1:{account}:certificate/{i:08d}"
        elif source == "aws.iam":
            ident = f"arn:aws:iam::{account}:server-certificate/cert-{i}"
        elif source == "azure.keyvault":
            ident = f"https://kv{i % 9}.vault.azure.net/certificates/c{i}/{i:032x}"
        elif source == "file":
            ident = f"/etc/ssl/certs/c{i}.pem"
        else:
            ident = f"10.0.{i // 250 % 250}.{i % 250}:443"
        certificates.append(Certificate(
            id=ident, source=source, account=account if source.startswith("aws") else None,
            region="eu-west-1" if source == "aws.acm" else None, domain=domain, sans=[domain],
            not_before=not_after - timedelta(days=397), not_after=not_after,
            status="ISSUED" if days > 0 else "EXPIRED", type="AMAZON_ISSUED" if source == "aws.acm" else None,
            validation_method="DNS" if source == "aws.acm" else None,
            validation=[ValidationRecord(domain, f"_x{i}.{domain}.", "CNAME", "_y.acm-validations.aws.",
                                         ("present", "present", "missing", "unknown")[i % 4])]
            if source == "aws.acm" else [],
            tags={"owner": f"team-{i % 23}"} if i % 5 else {},
        ))
    coverage = [Coverage(unit=f"aws.acm/{100000000000 + a:012d}/eu-west-1", source="aws.acm", account=f"{a}",
                         region="eu-west-1", count=count // 31) for a in range(31)]
    return Inventory(collected_at=AS_OF, certificates=certificates, coverage=coverage)


def timed(label: str, action):
    start = time.perf_counter()
    value = action()
    print(f"  {label:<34} {time.perf_counter() - start:8.2f} s")
    return value


def bench_formats(count: int) -> ScanReport:
    print(f"estate: {count} certificates, pack {PACK.relative_to(REPO)}")
    inventory = synthetic_inventory(count)
    rules = load_rules([str(PACK)])
    waivers = load_waivers(WAIVERS)
    evaluation = timed("evaluate", lambda: evaluate_inventory(inventory, rules, waivers, AS_OF))
    report = build_report(evaluation, decide(evaluation, "high", True), arguments=["bench"], started_at=AS_OF,
                          finished_at=AS_OF, waivers_file=str(WAIVERS))
    statuses = {s: sum(r.status == s for r in report.results) for s in ("pass", "fail", "waived", "error",
                                                                         "not_applicable")}
    print(f"  results: {len(report.results)} {statuses}")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        for name, fmt in output_formats.registry().items():
            paths = timed(f"write {name}", lambda: fmt.write(report, out, output_formats.ReportOptions()))
            for path in paths:
                size = path.stat().st_size
                extra = ""
                if path.name == sarif.SARIF_FILE:
                    extra = f", gzipped {len(gzip.compress(path.read_bytes(), mtime=0)) / 1e6:.2f} MB"
                print(f"    {path.name:<32} {size / 1e6:8.2f} MB{extra}")
    return report


def bench_truncation(failing: int) -> None:
    print(f"SARIF truncation: {failing} failing results (limit {sarif.MAX_RESULTS})")
    severities = ("info", "low", "medium", "high", "critical")
    results = [Result("ACM-003", f"arn:aws:acm:eu-west-1:{100000000000 + i % 31:012d}:certificate/{i:08d}", "fail",
                      severities[i % 5], f"certificate svc{i}.example.com expires in {i % 30} days",
                      {"soc2": ["CC6.7"]}, {"source": "aws.acm", "account": f"{i % 31}", "domain": f"svc{i}.example.com"})
               for i in range(failing)]
    rule = {"id": "ACM-003", "title": "ACM certificate renewed 30 days before expiration", "severity": "medium",
            "description": "d", "remediation": "Renew.", "controls": {"soc2": [{"id": "CC6.7", "basis": "judgment"}]},
            "tags": [], "help_uri": None, "pack": {"name": "p", "version": "1", "file": "policies/aws.yaml", "line": 20}}
    report = ScanReport("bench", AS_OF, [rule], [], results, [], [])
    log = timed("build (count limit)", lambda: sarif.build(report))
    data = sarif.dumps(log)
    print(f"    kept {len(log['runs'][0]['results'])}, {len(data) / 1e6:.2f} MB, "
          f"gzipped {sarif.gzipped_size(data) / 1e6:.2f} MB")
    original = sarif.MAX_GZIP_BYTES
    sarif.MAX_GZIP_BYTES = 1_000_000
    try:
        log = timed("build (1 MB gzip limit)", lambda: sarif.build(report))
        print(f"    kept {len(log['runs'][0]['results'])}, gzipped {sarif.gzipped_size(sarif.dumps(log)) / 1e6:.2f} MB")
    finally:
        sarif.MAX_GZIP_BYTES = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=10_000)
    parser.add_argument("--truncation", type=int, default=30_000)
    args = parser.parse_args()
    bench_formats(args.certificates)
    bench_truncation(args.truncation)


if __name__ == "__main__":
    main()
