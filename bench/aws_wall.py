"""Wall time of an Organization-wide AWS collection against a real moto server (not a test).

    python -m bench.aws_wall [--accounts 31] [--certs 20] [--concurrency 8]

A moto_server on a free 127.0.0.1 port; a landing zone of N accounts x 2 regions x M
imported certificates (plus one IAM server certificate per account) built through it; then
``--aws --all-accounts`` collections, timed and their API calls counted: against the plain
moto_server, whose ListCertificates summaries lack the SAN fields AWS sends (so the collector
also describes every certificate), and against the same server answering ListCertificates as
AWS does (bench.aws_support), also with a latency added to every call (concurrency 1 and N)."""

from __future__ import annotations

import argparse
import sys
import time

import boto3

from bench.aws_support import moto_server, moto_server_environment, scan_organization
from scanner.simulate.aws_landing_zone import LandingZoneSpec, Problems, build_landing_zone

REGIONS = ("us-east-1", "eu-west-1")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.aws_wall")
    parser.add_argument("--accounts", type=int, default=31)
    parser.add_argument("--certs", type=int, default=20, help="imported certificates per account x region")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency-ms", type=int, default=50, help="added to every call in the latency runs")
    args = parser.parse_args(argv or [])
    # (concurrency, added latency in ms) per run; the added latency stands for the network a real
    # account is behind (moto on loopback answers in a few ms), where concurrency pays. The first
    # collection of each server also loads botocore's service models (about a second).
    measure(args, aws_shaped=False, runs=[(args.concurrency, 0)])
    measure(args, aws_shaped=True, runs=[(1, args.latency_ms), (args.concurrency, args.latency_ms), (args.concurrency, 0)])


def measure(args: argparse.Namespace, aws_shaped: bool, runs: list[tuple[int, int]]) -> None:
    with moto_server(aws_shaped) as url, moto_server_environment(url):
        spec = LandingZoneSpec(accounts=args.accounts, regions=REGIONS, imported_per_unit=args.certs, amazon_issued=0,
                               iam_per_account=1, imported_in_use=0, iam_in_use=0,
                               problems=Problems(expired_in_use=0, iam_expired=0, wildcard=0, untagged=0))
        started = time.perf_counter()
        lz = build_landing_zone(spec, boto3.Session(profile_name="mgmt"))
        built = time.perf_counter() - started
        server = "moto_server with AWS-shaped ListCertificates" if aws_shaped else "plain moto_server"
        print(f"aws wall   {args.accounts} accounts x {len(REGIONS)} regions x {args.certs} certificates + 1 IAM "
              f"certificate per account ({len(lz.certificates)} certificates) against {server} "
              f"(built in {built:.0f} s)", flush=True)
        for concurrency, added in runs:
            inventory, counter, elapsed = scan_organization(list(REGIONS), concurrency, added)
            assert not inventory.errors, inventory.errors[:3]
            assert len(inventory.certificates) == len(lz.certificates)
            units = len(inventory.coverage)
            acm_units = sum(1 for c in inventory.coverage if c.source == "aws.acm")
            breakdown = ", ".join(f"{op} {n}" for op, n in sorted(counter.calls.items(), key=lambda kv: -kv[1]))
            print(f"    concurrency {concurrency}, +{added} ms per call: {elapsed:.1f} s for {acm_units} ACM + "
                  f"{units - acm_units} IAM units, {counter.total} API calls\n      {breakdown}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
