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
import threading
from collections import Counter
from collections.abc import Iterator

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
