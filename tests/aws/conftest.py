"""Fixtures for the AWS source: fake credentials and profiles, in-process moto, a real
moto_server on a free loopback port, and a fault injector (a botocore before-send handler
placed ahead of moto's) that answers chosen calls with AccessDenied, throttling or a 500."""

from __future__ import annotations

import subprocess
import urllib.request
from dataclasses import dataclass

import botocore.handlers
import pytest

from aws_helpers import FaultInjector, running_moto_server


@pytest.fixture(autouse=True)
def aws_env(tmp_path, monkeypatch):
    """Fake credentials and two profiles; nothing from the real machine's AWS setup."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                 "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "aws-config"
    config.write_text("[profile mgmt]\nregion = us-east-1\n[profile dev]\nregion = eu-west-1\n")
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[mgmt]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
                           "[dev]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Requested certificates ISSUED at once. moto reads the variable when it is imported, so
    # the setting it was read into is patched too, whatever imported moto first.
    monkeypatch.setenv("MOTO_ACM_VALIDATION_WAIT", "0")
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # load balancers need no AMIs; loading them is slow
    from moto import settings
    monkeypatch.setattr(settings, "ACM_VALIDATION_WAIT", 0)


@pytest.fixture
def moto():
    from moto import mock_aws
    with mock_aws():
        yield


@pytest.fixture
def fast_retries(monkeypatch):
    """Real botocore retries, without the back-off sleeps and the adaptive rate limiter's waits."""
    from botocore.retries import bucket, standard
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(bucket.TokenBucket, "acquire", lambda self, amount=1, block=True: True)


# -- moto server -------------------------------------------------------------------------------
@dataclass
class MotoServer:
    url: str
    process: subprocess.Popen

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10).read()


@pytest.fixture(scope="session")
def moto_server_process():
    with running_moto_server() as (url, process):
        yield MotoServer(url, process)


@pytest.fixture
def moto_server(moto_server_process, monkeypatch):
    """A clean moto server, reached through AWS_ENDPOINT_URL as a user would."""
    moto_server_process.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server_process.url)
    yield moto_server_process
    moto_server_process.reset()


@pytest.fixture
def faults(monkeypatch, fast_retries):
    """A before-send handler ahead of moto's, in every boto3 session created from now on."""
    injector = FaultInjector()
    handlers = list(botocore.handlers.BUILTIN_HANDLERS)
    handlers.insert(0, ("before-send", injector))
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)
    yield injector


@pytest.fixture(autouse=True)
def loopback_dns_only(monkeypatch):
    """Network in tests goes to loopback only: a DNS query to any other server fails the test."""
    import ipaddress

    import dns.resolver

    original = dns.resolver.Resolver.resolve

    def resolve(self, *args, **kwargs):
        outside = [ns for ns in self.nameservers if not ipaddress.ip_address(str(ns)).is_loopback]
        assert not outside, f"a test asked DNS servers outside loopback: {outside}"
        return original(self, *args, **kwargs)

    monkeypatch.setattr(dns.resolver.Resolver, "resolve", resolve)
