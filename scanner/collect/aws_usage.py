"""Which load balancer listeners and CloudFront distributions use which certificate.

IAM server certificates have no InUseBy field, so their users are found from the other side:
ELBv2 listeners (default and SNI certificates), classic ELB listeners and CloudFront
distributions. An index is built once per (account, region) and once per account for
CloudFront, and only for accounts that hold IAM server certificates (by that account's IAM
unit). Keys are certificate ARNs; CloudFront names IAM certificates by their id, so those
are keyed ``iam-id:<ID>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scanner.collect.aws_errors import AWS_ERRORS, error_code, error_message

CLOUDFRONT = "cloudfront"  # the scope name of the account-wide CloudFront index
TLS_PROTOCOLS = ("HTTPS", "TLS")


def iam_id_key(server_certificate_id: str) -> str:
    return f"iam-id:{server_certificate_id}"


@dataclass
class UsageIndex:
    """Certificate key -> users (listener / load balancer / distribution ARNs), or the failure."""

    scope: str  # a region, or "cloudfront"
    service: str
    users: dict[str, set[str]] = field(default_factory=dict)
    failure: tuple[str, str] | None = None  # (code, message) when the index could not be built

    @property
    def complete(self) -> bool:
        return self.failure is None


def elbv2_usage(elbv2: Any) -> dict[str, set[str]]:
    users: dict[str, set[str]] = defaultdict(set)
    for page in elbv2.get_paginator("describe_load_balancers").paginate():
        for balancer in page.get("LoadBalancers", []):
            for lpage in elbv2.get_paginator("describe_listeners").paginate(LoadBalancerArn=balancer["LoadBalancerArn"]):
                for listener in lpage.get("Listeners", []):
                    if listener.get("Protocol") not in TLS_PROTOCOLS:
                        continue
                    arn = listener["ListenerArn"]
                    for cert in listener.get("Certificates", []):
                        users[cert["CertificateArn"]].add(arn)
                    # The listener description names only the default certificate; SNI ones are here.
                    for cpage in elbv2.get_paginator("describe_listener_certificates").paginate(ListenerArn=arn):
                        for cert in cpage.get("Certificates", []):
                            users[cert["CertificateArn"]].add(arn)
    return users


def classic_elb_usage(elb: Any, *, account: str, region: str) -> dict[str, set[str]]:
    users: dict[str, set[str]] = defaultdict(set)
    for page in elb.get_paginator("describe_load_balancers").paginate():
        for balancer in page.get("LoadBalancerDescriptions", []):
            # The API gives no ARN for a classic load balancer; this is its documented form.
            arn = f"arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/{balancer['LoadBalancerName']}"
            for item in balancer.get("ListenerDescriptions", []):
                cert = (item.get("Listener") or {}).get("SSLCertificateId")
                if cert:
                    users[cert].add(arn)
    return users


def cloudfront_usage(cloudfront: Any) -> dict[str, set[str]]:
    users: dict[str, set[str]] = defaultdict(set)
    for page in cloudfront.get_paginator("list_distributions").paginate():
        for dist in (page.get("DistributionList") or {}).get("Items", []) or []:
            viewer = dist.get("ViewerCertificate") or {}
            if viewer.get("ACMCertificateArn"):
                users[viewer["ACMCertificateArn"]].add(dist["ARN"])
            if viewer.get("IAMCertificateId"):
                users[iam_id_key(viewer["IAMCertificateId"])].add(dist["ARN"])
    return users


def usage_indexes(client_for: Callable[[str, str, str], Any], account: str, scope: str) -> list[UsageIndex]:
    """The indexes of one scope (a region: ELBv2 and classic ELB; or "cloudfront"); a failure
    is kept in the index, not raised. ``client_for(account, service, region)`` gives clients."""
    if scope == CLOUDFRONT:
        jobs = [("cloudfront", lambda: cloudfront_usage(client_for(account, "cloudfront", "us-east-1")))]
    else:
        jobs = [
            ("elasticloadbalancing", lambda: elbv2_usage(client_for(account, "elbv2", scope))),
            ("elasticloadbalancing", lambda: classic_elb_usage(client_for(account, "elb", scope),
                                                               account=account, region=scope)),
        ]
    out = []
    for service, job in jobs:
        index = UsageIndex(scope=scope, service=service)
        try:
            index.users = dict(job())
        except AWS_ERRORS as exc:
            index.failure = (error_code(exc), error_message(exc))
        out.append(index)
    return out
