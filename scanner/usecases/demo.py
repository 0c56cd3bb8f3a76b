"""certscan demo: the whole pipeline on a simulated landing zone, no cloud account needed.

It builds, in this process, an AWS Organization of 31 accounts with moto (ACM certificates in
two regions, IAM server certificates, Route 53 zones, load balancers using certificates), a
Key Vault behind the Azure SDK's own client (an HTTP-level fake), and a folder of certificate
files; then it collects through the real collectors, evaluates the shipped packs and writes
every output. The story is the SOP's lesson: in-use certificates that expired across the
organization because someone deleted their DNS validation CNAMEs, so ACM could not renew them.

moto's ARNs and account ids are random, so each run's inventory differs; the checked-in
samples (``make samples``) are made from the saved inventory, which is deterministic.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scanner.collect import SourceOptions
from scanner.report import formats as output_formats
from scanner.usecases.scan import ScanRun, ScanSettings, run_scan

DEMO_OUTPUT = Path("reports/demo")
DEMO_ESTATE = Path("reports/demo-estate")  # the simulated certificate files the demo scans
DEMO_INVENTORY = Path("examples/demo-inventory.json")
SAMPLES_OUTPUT = Path("reports/samples")
ALL_FORMATS = output_formats.names()  # every output, in the registry's order
REGIONS = ("us-east-1", "eu-west-1")
VAULTS = ("https://kv-payments.vault.azure.net", "https://kv-portal.vault.azure.net")
SUBSCRIPTION = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
# Nothing listens there: a validation name outside the simulated Route 53 is "unknown",
# and no DNS query ever leaves this machine.
LOOPBACK_RESOLVER = "127.0.0.1:9"


@dataclass(frozen=True)
class DemoSize:
    accounts: int = 31
    expired_in_use: int = 21  # the SOP's count
    iam_expired: int = 3
    wildcard: int = 2
    untagged: int = 3


def _write_certificate_files(folder: Path, now: datetime) -> None:
    """A small on-premises tree: a healthy certificate, one about to expire, and a legacy
    certificate stored beside its private key (a throwaway key made for the demo)."""
    from scanner.simulate.certs import SimulatedCA

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ca = SimulatedCA("certscan Demo On-Prem CA", now=now)
    healthy = ca.issue("intranet.corp.example", not_before=now - timedelta(days=30), not_after=now + timedelta(days=170))
    soon = ca.issue("printers.corp.example", not_before=now - timedelta(days=360), not_after=now + timedelta(days=5))
    legacy = ca.issue("legacy-erp.corp.example", not_before=now - timedelta(days=700), not_after=now - timedelta(days=35),
                      rsa_bits=2048)
    (folder / "intranet.pem").write_text(healthy.certificate_pem + healthy.chain_pem)
    (folder / "printers.crt").write_text(soon.certificate_pem)
    (folder / "legacy-erp").mkdir()
    (folder / "legacy-erp" / "legacy-erp.pem").write_text(legacy.certificate_pem)
    key_file = folder / "legacy-erp" / "legacy-erp.key"
    key_file.write_text(legacy.private_key_pem)
    key_file.chmod(0o600)


def _simulated_key_vault(now: datetime):
    """Two vaults: payments holds an imported certificate nobody renews (EmailContacts only,
    24 months), portal a DigiCert certificate with AutoRenew, renewed once."""
    from scanner.simulate.azure_keyvault_fake import FakeKeyVaultService, LifetimeAction, Policy, imported_policy
    from scanner.simulate.certs import SimulatedCA

    from cryptography import x509

    service = FakeKeyVaultService()
    service.add_subscription(SUBSCRIPTION, list(VAULTS))
    ca = SimulatedCA("certscan Demo Public CA", now=now)

    def cert(domain: str, start: timedelta, end: timedelta) -> x509.Certificate:
        issued = ca.issue(domain, not_before=now + start, not_after=now + end, rsa_bits=2048)
        return x509.load_pem_x509_certificate(issued.certificate_pem.encode())

    payments = service.vault(VAULTS[0])
    payments.add_certificate("payments-api", cert("payments.corp.example", timedelta(days=-710), timedelta(days=20)),
                             policy=imported_policy(), tags={"owner": "payments-team"})
    portal = service.vault(VAULTS[1])
    renewing = Policy(issuer_name="DigiCert", validity_months=12,
                      lifetime_actions=[LifetimeAction("AutoRenew", days_before_expiry=45)])
    portal.add_certificate("portal", cert("portal.corp.example", timedelta(days=-400), timedelta(days=-35)),
                           policy=renewing, tags={"owner": "web-team"})
    portal.add_certificate("portal", cert("portal.corp.example", timedelta(days=-40), timedelta(days=150)),
                           policy=renewing, tags={"owner": "web-team"})
    return service


def run_demo(size: DemoSize = DemoSize(), output_dir: Path = DEMO_OUTPUT, estate_dir: Path = DEMO_ESTATE,
             inventory_out: Path | None = None, now: datetime | None = None) -> ScanRun:
    """Build the simulated estate, scan it with the real collectors, write every output."""
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")  # before moto is imported
    from scanner.simulate.aws_landing_zone import (LandingZoneSpec, Problems, build_landing_zone, freezegun_clock,
                                                   simulated_aws)

    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    _write_certificate_files(estate_dir, now)
    keyvault = _simulated_key_vault(now)
    spec = LandingZoneSpec(accounts=size.accounts, regions=REGIONS, imported_per_unit=1, amazon_issued=6,
                           iam_per_account=1, problems=Problems(expired_in_use=size.expired_in_use,
                                                                iam_expired=size.iam_expired,
                                                                wildcard=size.wildcard, untagged=size.untagged))
    with simulated_aws() as management:
        build_landing_zone(spec, management, backdate=freezegun_clock, now=now)
        sources = SourceOptions(
            aws=True, all_accounts=True, regions=list(REGIONS), role_name=spec.role_name,
            dns_resolver=LOOPBACK_RESOLVER, azure=True, vault_urls=list(VAULTS), paths=[str(estate_dir)],
            concurrency=4, quiet=not sys.stderr.isatty(),
            seams={"azure.transport": keyvault.transport(), "azure.credential": keyvault.credential()},
        )
        run = run_scan(sources, ScanSettings(output_dir=output_dir, formats=ALL_FORMATS, fail_on="none",
                                             as_of=now, arguments=["certscan", "demo"]))
    if inventory_out is not None:
        inventory_out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(output_dir / "certscan-inventory.json", inventory_out)
    return run


def story(run: ScanRun) -> list[str]:
    """The SOP's lesson, told from the results."""
    results = run.report.results
    failing = {(r.rule_id, r.resource_id): r for r in results if r.status == "fail"}
    expired_in_use = sorted(rid for rule, rid in failing if rule == "EXP-001" and rid.startswith("arn:aws:acm:"))
    cname_deleted = [rid for rid in expired_in_use if ("DNS-001", rid) in failing]
    accounts = {failing[("EXP-001", rid)].context.get("account") for rid in expired_in_use}
    scanned = {c["account"] for c in run.report.coverage if c.get("source") == "aws.acm"}
    by_severity = Counter(r.severity for r in results if r.status == "fail")
    controls = failing[("DNS-001", cname_deleted[0])].controls if cname_deleted else {}
    lines = [
        f"{len(expired_in_use)} in-use ACM certificates have expired across {len(accounts)} of {len(scanned)} accounts.",
        f"{len(cname_deleted)} of them had their DNS validation CNAME deleted (DNS-001), so ACM could not renew them.",
        "Failures by severity: " + ", ".join(f"{by_severity.get(s, 0)} {s}" for s in ("critical", "high", "medium", "low")),
    ]
    if controls:
        lines.append("Mapped to: " + "; ".join(f"{fw} {', '.join(ids)}" for fw, ids in sorted(controls.items())
                                               if fw in ("pci-dss-4.0", "soc2", "iso27001-2022", "nist-800-53-r5")))
    return lines


def samples_arguments(inventory: Path = DEMO_INVENTORY, output_dir: Path = SAMPLES_OUTPUT) -> list[str]:
    """The command behind reports/samples/: the saved demo inventory at its own collection time."""
    from scanner.inputs.inventory_file import load_inventory
    from scanner.model import format_time
    as_of = format_time(load_inventory(inventory).collected_at.replace(microsecond=0))
    return ["scan", "--inventory", inventory.as_posix(), "--as-of", as_of, "--fail-on", "none",
            "--format", ",".join(ALL_FORMATS), "--output-dir", output_dir.as_posix()]


def regenerate_samples(inventory: Path = DEMO_INVENTORY, output_dir: Path = SAMPLES_OUTPUT) -> int:
    """Scan the saved demo inventory into output_dir with the clock pinned to its collection
    time (SOURCE_DATE_EPOCH), so every file, the evidence bundle included, is reproducible.
    The same scan as ``certscan`` + samples_arguments(), run through the scan use case."""
    from scanner.inputs.inventory_file import load_inventory
    collected_at = load_inventory(inventory).collected_at.replace(microsecond=0)
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(collected_at.timestamp()))
    try:
        shutil.rmtree(output_dir, ignore_errors=True)
        settings = ScanSettings(output_dir=output_dir, formats=ALL_FORMATS, fail_on="none", as_of=collected_at,
                                arguments=["certscan", *samples_arguments(inventory, output_dir)])
        return run_scan(SourceOptions(inventory=inventory.as_posix()), settings).gate.exit_code
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.usecases.demo")
    parser.add_argument("--samples", action="store_true", help="regenerate reports/samples/ from the saved demo inventory")
    args = parser.parse_args(argv)
    if args.samples:
        return regenerate_samples()
    raise SystemExit("use `certscan demo`")


if __name__ == "__main__":
    sys.exit(main())
