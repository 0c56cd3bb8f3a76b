"""How collection cost grows with the Organization (not a test: figures, no timed assertions).

    python -m bench.aws_scaling [--accounts 1,10,31] [--certs 20] [--concurrency 8] [--latency-ms 50]

One moto_server on a free 127.0.0.1 port, answering ListCertificates as AWS does
(bench.aws_support). For each size, the server is reset and a landing zone of N accounts x 2
regions x M imported certificates (plus one IAM server certificate per account) is built
through it; then one ``--aws --all-accounts`` collection is timed and its API calls counted
(every HTTP attempt), on loopback and again with a latency added to every call (the network
a real account is behind, where concurrency pays).

Printed: per size the API calls, calls per certificate, wall time and wall time per unit
(unit = account x region for ACM, account for IAM); then the least-squares slopes over the
sizes — API calls and wall time per added certificate — and how the wall time per unit moves
from the smallest to the largest Organization. Linear cost means calls per certificate stay
constant; concurrency means the time per unit stays flat (or falls) as accounts are added.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import boto3

from bench.aws_support import moto_server, moto_server_environment, reset_moto_server, scan_organization
from scanner.simulate.aws_landing_zone import LandingZoneSpec, Problems, build_landing_zone

REGIONS = ("us-east-1", "eu-west-1")
NO_PROBLEMS = Problems(expired_in_use=0, iam_expired=0, wildcard=0, untagged=0)


@dataclass(frozen=True)
class Run:
    accounts: int
    latency_ms: int
    certificates: int
    units: int
    calls: int
    seconds: float

    @property
    def calls_per_certificate(self) -> float:
        return self.calls / self.certificates

    @property
    def ms_per_unit(self) -> float:
        return 1000 * self.seconds / self.units


def slope(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares (slope, intercept) of y over x."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    s = sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else 0.0
    return s, mean_y - s * mean_x


def collect_once(accounts: int, expected: int, concurrency: int, latency_ms: int) -> Run:
    inventory, counter, elapsed = scan_organization(list(REGIONS), concurrency, latency_ms)
    assert not inventory.errors, inventory.errors[:3]
    assert len(inventory.certificates) == expected, (len(inventory.certificates), expected)
    assert len(inventory.coverage) == accounts * (len(REGIONS) + 1)
    return Run(accounts, latency_ms, expected, len(inventory.coverage), counter.total, elapsed)


def measure(sizes: list[int], certs: int, concurrency: int, latency_ms: int) -> list[Run]:
    runs = []
    with moto_server(aws_shaped=True) as url, moto_server_environment(url):
        for accounts in sizes:
            reset_moto_server(url)
            spec = LandingZoneSpec(accounts=accounts, regions=REGIONS, imported_per_unit=certs, amazon_issued=0,
                                   iam_per_account=1, imported_in_use=0, iam_in_use=0, problems=NO_PROBLEMS)
            started = time.perf_counter()
            lz = build_landing_zone(spec, boto3.Session(profile_name="mgmt"))
            print(f"  {accounts:>3} accounts: {len(lz.certificates)} certificates built in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
            if not runs:  # the first collection of a process also loads botocore's service models
                collect_once(accounts, len(lz.certificates), concurrency, 0)
            for added in (0, latency_ms):
                runs.append(collect_once(accounts, len(lz.certificates), concurrency, added))
    return runs


def report(runs: list[Run], concurrency: int) -> None:
    print(f"{'accounts':>8} {'units':>5} {'certs':>6} {'+ms/call':>8} {'API calls':>9} {'calls/cert':>10} "
          f"{'calls/unit':>10} {'wall s':>7} {'ms/unit':>8} {'ms/cert':>8}")
    for r in runs:
        print(f"{r.accounts:>8} {r.units:>5} {r.certificates:>6} {r.latency_ms:>8} {r.calls:>9} "
              f"{r.calls_per_certificate:>10.3f} {r.calls / r.units:>10.2f} {r.seconds:>7.2f} {r.ms_per_unit:>8.1f} "
              f"{1000 * r.seconds / r.certificates:>8.2f}")
    for added in sorted({r.latency_ms for r in runs}):
        rows = [r for r in runs if r.latency_ms == added]
        calls, calls0 = slope([(r.certificates, r.calls) for r in rows])
        wall, wall0 = slope([(r.certificates, r.seconds) for r in rows])
        first, last = rows[0], rows[-1]
        print(f"slope, +{added} ms per call, concurrency {concurrency}: {calls:.3f} API calls per certificate "
              f"({calls0:+.0f} fixed), {1000 * wall:.2f} ms wall per certificate ({wall0:+.2f} s fixed); "
              f"per unit {first.ms_per_unit:.1f} ms at {first.accounts} account(s) -> {last.ms_per_unit:.1f} ms at "
              f"{last.accounts} ({last.ms_per_unit / first.ms_per_unit:.2f}x)", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.aws_scaling")
    parser.add_argument("--accounts", default="1,10,31", help="Organization sizes, comma separated")
    parser.add_argument("--certs", type=int, default=20, help="imported certificates per account x region")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency-ms", type=int, default=50, help="added to every call in the second run")
    args = parser.parse_args(argv or [])
    sizes = sorted({int(n) for n in args.accounts.split(",")})
    print(f"aws scaling: {len(REGIONS)} regions x {args.certs} imported certificates per unit + 1 IAM certificate "
          f"per account, moto_server with AWS-shaped ListCertificates, concurrency {args.concurrency}", flush=True)
    report(measure(sizes, args.certs, args.concurrency, args.latency_ms), args.concurrency)


if __name__ == "__main__":
    main(sys.argv[1:])
