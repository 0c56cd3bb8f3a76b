"""Helpers shared by the AWS tests (not fixtures: plain functions)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import dns.flags
import dns.message
import dns.rcode
import dns.rrset
from botocore.awsrequest import AWSResponse

from scanner.collect.aws_dns import normalize_name

from scanner.simulate.aws_landing_zone import LandingZone, LandingZoneSpec, Problems, build_landing_zone

DATA = Path(__file__).parent / "data"
MISSION_RULES = DATA / "mission-rules.yaml"  # the five mission rules, from DESIGN.md's pinned semantics
NO_PROBLEMS = Problems(expired_in_use=0, iam_expired=0, wildcard=0, untagged=0)


def small_org(accounts: int = 3, backdate=None, **spec) -> LandingZone:
    """An Organization with one healthy imported certificate per account x region and one IAM
    server certificate per account, built with the management profile's credentials."""
    options = dict(accounts=accounts, regions=("us-east-1", "eu-west-1"), imported_per_unit=1, iam_per_account=1,
                   amazon_issued=0, imported_in_use=0, iam_in_use=0, problems=NO_PROBLEMS)
    options.update(spec)
    return build_landing_zone(LandingZoneSpec(**options), boto3.Session(profile_name="mgmt"), backdate=backdate)


def inventory_of(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- faults --------------------------------------------------------------------------------------
class _Body:
    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_):
        yield self._data

    def read(self, *_):
        return self._data


_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/")


@dataclass
class Call:
    service: str  # botocore's service id in the event name, e.g. acm, sts, route-53
    operation: str
    region: str | None
    access_key: str | None
    body: str

    def account(self) -> str:
        """The moto account these credentials belong to (in-process moto only)."""
        from moto.iam.models import get_account_id_from
        return get_account_id_from(self.access_key or "")


@dataclass
class Fault:
    when: Callable[[Call], bool]
    status: int
    code: str
    message: str = "injected fault"
    times: int | None = None  # None: always
    hits: int = 0


@dataclass
class FaultInjector:
    faults: list[Fault] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def add(self, when: Callable[[Call], bool], *, status: int, code: str, times: int | None = None,
            message: str = "injected fault") -> Fault:
        fault = Fault(when, status, code, message, times)
        self.faults.append(fault)
        return fault

    def __call__(self, request, event_name: str = "", **_):
        parts = event_name.split(".")
        service, operation = (parts[1], parts[2]) if len(parts) >= 3 else ("", "")
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else str(auth)
        match = _CREDENTIAL.search(auth)
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
        call = Call(service, operation, match.group(2) if match else None, match.group(1) if match else None, body)
        self.calls.append(call)
        for fault in self.faults:
            if (fault.times is None or fault.hits < fault.times) and fault.when(call):
                fault.hits += 1
                return _error_response(request, fault)
        return None


def _error_response(request, fault: Fault) -> AWSResponse:
    if "x-amz-json" in str(request.headers.get("Content-Type", b"")):
        body = json.dumps({"__type": fault.code, "message": fault.message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "fault"}
    else:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault.code}</Code><Message>{fault.message}"
                f"</Message></Error><RequestId>fault</RequestId></ErrorResponse>").encode()
        headers = {"Content-Type": "text/xml", "x-amzn-RequestId": "fault"}
    return AWSResponse(request.url, fault.status, headers, _Body(body))


class LoopbackDns:
    """A tiny authoritative DNS server on 127.0.0.1 (UDP): CNAMEs, NXDOMAIN, and SERVFAIL for
    names under servfail.test."""

    def __init__(self, cnames: dict[str, str]):
        self.cnames = {normalize_name(k): v for k, v in cnames.items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            query = dns.message.from_wire(data)
            name = query.question[0].name.to_text()
            self.queries.append(name)
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            key = normalize_name(name)
            if key.endswith("servfail.test"):
                response.set_rcode(dns.rcode.SERVFAIL)
            elif key in self.cnames:
                response.answer.append(dns.rrset.from_text(name, 300, "IN", "CNAME", self.cnames[key]))
            elif key.startswith("exists."):
                pass  # the name exists without a CNAME: NOERROR, empty answer
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@contextmanager
def running_moto_server() -> Iterator[tuple[str, subprocess.Popen]]:
    """A real moto_server on a free loopback port: (its URL, its process); stopped by its PID."""
    port = free_port()
    env = {**os.environ, "MOTO_ACM_VALIDATION_WAIT": "0", "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    env.pop("MOTO_ACCOUNT_ID", None)
    process = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
