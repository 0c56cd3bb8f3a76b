"""Support for the AWS benchmarks: an API-call counter, and moto made to answer
ListCertificates as AWS does.

moto's ListCertificates summaries lack two fields AWS returns, SubjectAlternativeNameSummaries
and HasAdditionalSubjectAlternativeNames, so against plain moto the collector (correctly)
fetches every certificate's details to learn its names. ``aws_shaped_summaries`` adds the two
fields, computed from the certificate moto holds (the first 100 names, and whether there are
more), so the benchmark measures the call pattern a real account gets. Figures are reported
with and without it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import botocore.handlers

SAN_SUMMARY_LIMIT = 100


class CallCounter:
    """Counts every HTTP attempt botocore sends (retries included), by service and operation."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, event_name: str = "", **_) -> None:
        parts = event_name.split(".")
        with self._lock:
            self.calls[".".join(parts[1:3])] += 1
        return None  # never answers: the request goes on to moto

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


@contextlib.contextmanager
def counting_calls() -> Iterator[CallCounter]:
    """A before-send handler in every boto3 session created inside the block."""
    counter = CallCounter()
    saved = list(botocore.handlers.BUILTIN_HANDLERS)
    botocore.handlers.BUILTIN_HANDLERS.insert(0, ("before-send", counter))
    try:
        yield counter
    finally:
        botocore.handlers.BUILTIN_HANDLERS[:] = saved


@contextlib.contextmanager
def aws_shaped_summaries() -> Iterator[None]:
    """In-process moto only: ListCertificates summaries carry the SAN fields AWS sends."""
    from moto.acm.responses import AWSCertificateManagerResponse
    from moto.core.responses import ActionResult

    original = AWSCertificateManagerResponse.list_certificates

    def list_certificates(self):  # noqa: ANN001 - moto's signature
        certs = []
        statuses = self._get_param("CertificateStatuses")
        includes = self._get_param("Includes")
        for bundle in self.acm_backend.list_certificates(statuses, includes):
            summary = bundle.describe()["Certificate"]
            names = summary.pop("SubjectAlternativeNames", [])
            summary["InUse"] = bool(summary.pop("InUseBy", []))
            summary["Exported"] = bundle.cert_options["Export"] == "ENABLED"
            summary["SubjectAlternativeNameSummaries"] = names[:SAN_SUMMARY_LIMIT]
            summary["HasAdditionalSubjectAlternativeNames"] = len(names) > SAN_SUMMARY_LIMIT
            certs.append(summary)
        return ActionResult(result={"CertificateSummaryList": certs})

    AWSCertificateManagerResponse.list_certificates = list_certificates
    try:
        yield
    finally:
        AWSCertificateManagerResponse.list_certificates = original


@contextlib.contextmanager
def one_rsa_key() -> Iterator[None]:
    """moto makes an RSA-2048 key for every requested certificate (about 50-100 ms each); the
    benchmark reuses one, which changes nothing the collector sees or calls."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    original = rsa.generate_private_key
    key = original(public_exponent=65537, key_size=2048)
    rsa.generate_private_key = lambda *args, **kwargs: key
    try:
        yield
    finally:
        rsa.generate_private_key = original


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def moto_server(aws_shaped: bool) -> Iterator[str]:
    """A moto_server on a free 127.0.0.1 port (its URL), or (aws_shaped) the same server with
    ListCertificates answering as AWS does. Stopped, by its PID, on the way out."""
    port = free_port()
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


def reset_moto_server(url: str) -> None:
    """Forget every account, organization and certificate the server holds."""
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30).read()


@contextlib.contextmanager
def moto_server_environment(url: str) -> Iterator[None]:
    """boto3 pointed at the moto server (AWS_ENDPOINT_URL) with a ``mgmt`` profile of fake
    credentials, nothing from the machine's own AWS setup; the environment restored after."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as home:
        config = Path(home) / "config"
        config.write_text("[profile mgmt]\nregion = us-east-1\naws_access_key_id = bench\n"
                          "aws_secret_access_key = bench\n")
        os.environ.update(AWS_ENDPOINT_URL=url, AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(config),
                          AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
        for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


def scan_organization(regions: list[str], concurrency: int, latency_ms: int) -> tuple[Any, CallCounter, float]:
    """Collect every account of the simulated Organization (profile mgmt) once: the inventory,
    the API calls made, and the wall seconds; ``latency_ms`` is added before each call."""
    from scanner.collect import SourceOptions
    from scanner.collect.runner import collect
    options = SourceOptions(aws=True, all_accounts=True, management_profile="mgmt", regions=list(regions),
                            concurrency=concurrency, quiet=True)
    with counting_calls() as counter:
        if latency_ms:
            botocore.handlers.BUILTIN_HANDLERS.insert(0, ("before-send", latency(latency_ms)))
        started = time.perf_counter()
        inventory = collect(options, datetime.now(timezone.utc))
        elapsed = time.perf_counter() - started
    return inventory, counter, elapsed


def latency(ms: int):
    """A before-send handler that waits ``ms`` before each call: the network a real account is
    behind (moto on loopback answers in a few ms), where concurrency pays."""
    def handler(**_):
        time.sleep(ms / 1000)
        return None
    return handler
