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
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import boto3
import botocore.handlers

from bench.aws_support import counting_calls
from scanner.collect import SourceOptions
from scanner.collect.runner import collect
from scanner.simulate.aws_landing_zone import LandingZoneSpec, Problems, build_landing_zone

REGIONS = ("us-east-1", "eu-west-1")


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server(aws_shaped: bool):
    """moto_server, or (aws_shaped) the same server with ListCertificates answering as AWS does."""
    port = _free_port()
    env = {**os.environ, "MOTO_ACM_VALIDATION_WAIT": "0", "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("MOTO_ACCOUNT_ID", None)
    if aws_shaped:
        command = [sys.executable, "-c", "import sys; from bench.aws_support import aws_shaped_summaries; "
                   "from moto.server import main\nwith aws_shaped_summaries(): main(sys.argv[1:])",
                   "-H", "127.0.0.1", "-p", str(port)]
    else:
        command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


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
    saved = dict(os.environ)
    try:
        _measure(args, aws_shaped, runs)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _latency(ms: int):
    def handler(**_):
        time.sleep(ms / 1000)
        return None
    return handler


def _measure(args: argparse.Namespace, aws_shaped: bool, runs: list[tuple[int, int]]) -> None:
    with tempfile.TemporaryDirectory() as home, moto_server(aws_shaped) as url:
        config = Path(home) / "config"
        config.write_text("[profile mgmt]\nregion = us-east-1\naws_access_key_id = bench\naws_secret_access_key = bench\n")
        os.environ.update(AWS_ENDPOINT_URL=url, AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(config),
                          AWS_DEFAULT_REGION="us-east-1")
        for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
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
        for concurrency, latency in runs:
            options = SourceOptions(aws=True, all_accounts=True, management_profile="mgmt", regions=list(REGIONS),
                                    concurrency=concurrency, quiet=True)
            with counting_calls() as counter:
                if latency:
                    botocore.handlers.BUILTIN_HANDLERS.insert(0, ("before-send", _latency(latency)))
                started = time.perf_counter()
                inventory = collect(options, datetime.now(timezone.utc))
                elapsed = time.perf_counter() - started
            assert not inventory.errors, inventory.errors[:3]
            assert len(inventory.certificates) == len(lz.certificates)
            units = len(inventory.coverage)
            acm_units = sum(1 for c in inventory.coverage if c.source == "aws.acm")
            breakdown = ", ".join(f"{op} {n}" for op, n in sorted(counter.calls.items(), key=lambda kv: -kv[1]))
            print(f"    concurrency {concurrency}, +{latency} ms per call: {elapsed:.1f} s for {acm_units} ACM + "
                  f"{units - acm_units} IAM units, {counter.total} API calls\n      {breakdown}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
