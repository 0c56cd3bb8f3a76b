"""DescribeCertificate within one account x region: a bounded pool of calls at once, spaced
by a rate limiter that follows ACM's per-account-per-region quota, errors kept per ARN in
the summaries' order."""

from __future__ import annotations

import threading
import time

from botocore.exceptions import ClientError

from scanner.collect import aws_acm
from scanner.collect.aws_acm import RateLimiter, describe_all, rate_limiter


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))


def test_the_limiter_spaces_calls_at_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock=lambda: clock.now, sleep=clock.sleep)
    for _ in range(4):
        limiter.acquire()
    assert clock.slept == [0.1, 0.2, 0.3]  # the first goes at once, the rest 100 ms apart
    clock.now += 5  # idle time is not saved up into a burst
    clock.slept.clear()
    limiter.acquire()
    limiter.acquire()
    assert clock.slept == [0.1]


def test_one_limiter_per_account_region_and_api():
    a = rate_limiter("111111111111", "eu-west-1", "acm:DescribeCertificate", 10)
    assert rate_limiter("111111111111", "eu-west-1", "acm:DescribeCertificate", 10) is a
    assert rate_limiter("111111111111", "us-east-1", "acm:DescribeCertificate", 10) is not a
    assert rate_limiter("222222222222", "eu-west-1", "acm:DescribeCertificate", 10) is not a


class CountingAcm:
    """Counts how many DescribeCertificate calls are in flight at once."""

    def __init__(self, failing: set[str]):
        self.failing = failing
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0

    def describe_certificate(self, CertificateArn: str):  # noqa: N803 - boto3's keyword
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            time.sleep(0.02)
            if CertificateArn in self.failing:
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                                  "DescribeCertificate")
            return {"Certificate": {"CertificateArn": CertificateArn}}
        finally:
            with self.lock:
                self.in_flight -= 1


def test_calls_run_in_a_bounded_pool_and_answers_keep_their_arn():
    arns = [f"arn:aws:acm:eu-west-1:111111111111:certificate/{i:04d}" for i in range(40)]
    acm = CountingAcm(failing={arns[7]})
    answers = describe_all([{"CertificateArn": arn} for arn in arns], acm, RateLimiter(10_000.0))
    assert list(answers) == arns
    assert 1 < acm.most <= aws_acm.DESCRIBE_WORKERS
    assert answers[arns[7]][0] is None and answers[arns[7]][1].response["Error"]["Code"] == "AccessDeniedException"
    assert all(answers[arn] == ({"CertificateArn": arn}, None) for arn in arns if arn != arns[7])


def test_the_rate_bounds_the_calls_per_second():
    arns = [f"arn:{i}" for i in range(6)]
    start = time.monotonic()
    describe_all([{"CertificateArn": arn} for arn in arns], CountingAcm(set()), RateLimiter(50.0))
    assert time.monotonic() - start >= 5 / 50.0 * 0.95  # six calls at 50 per second span 0.1 s
