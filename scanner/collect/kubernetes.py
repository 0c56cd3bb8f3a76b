"""The ``--kubernetes`` source: TLS secrets and cert-manager Certificates, per context x namespace.

Read with the official ``kubernetes`` client, from the kubeconfig (``--kubeconfig``, else
$KUBECONFIG or ~/.kube/config; its current context unless ``--kube-context`` names some) or,
in a pod with no kubeconfig, the in-cluster service account.

Secrets: ``type: kubernetes.io/tls``, and any other secret holding PEM certificates under
``tls.crt`` or ``ca.crt``. The leaf (first certificate of tls.crt, else of ca.crt) is parsed
with the shared X.509 facts parser; the rest of tls.crt, with ca.crt, is its chain. ``tls.key``
is never decoded: the record only says ``private_key_present``.

cert-manager (``cert-manager.io/v1`` Certificates, when the cluster serves that API group):
each Certificate becomes the record of the secret it writes (``spec.secretName``), carrying
its Ready condition, notAfter/renewalTime, renewBefore, issuerRef and failed issuance attempts.
A Certificate whose secret is missing is still a record (from its status), so an issuance
that never succeeded is judged, not lost. A cluster without cert-manager is no error; its
coverage says so (service ``secrets; cert-manager absent``).

Units: ``kubernetes/<context>/<namespace>``. With no ``--namespace``, the namespaces are listed
and each is a unit; the secrets and Certificates of every namespace are then read in one
cluster-wide list per context, and if that is forbidden (a namespaced read-only role) each
namespace is read on its own. A namespace that answers 403 is a CollectionError for its
unit; the rest goes on.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from functools import partial
from typing import Any

from cryptography import x509

from scanner.collect import Option, Source, SourceOptions, Unit, UnitResult
from scanner.collect.x509facts import certificate_facts
from scanner.model import Certificate, CollectionError, Coverage, parse_time
from scanner.inputs.problems import InputError, Problem

SOURCE = "kubernetes"
IN_CLUSTER = "in-cluster"
CERT_MANAGER = ("cert-manager.io", "v1", "certificates")
TLS_TYPE = "kubernetes.io/tls"
PAGE = 250  # items per list call: a cluster-wide list is read in pages, never all at once
MAX_CERTS_PER_SECRET = 32  # a bundle larger than this is cut (recorded), not parsed forever
MAX_NAME = 253  # Kubernetes object names are at most 253 characters


@dataclass
class _Cluster:
    """One context: its API client, and what was learned about it once for all its units."""

    context: str
    api: Any  # kubernetes.client.ApiClient

    def __post_init__(self) -> None:
        from kubernetes import client
        self.core = client.CoreV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        self.apis = client.ApisApi(self.api)
    lock: threading.Lock = field(default_factory=threading.Lock)
    has_cert_manager: bool | None = None
    # namespace -> (secrets, certificates) from one cluster-wide read; None: not tried yet;
    # False: cluster-wide reads are forbidden here, read each namespace
    everything: dict[str, tuple[list[dict], list[dict]]] | bool | None = None


class _Unreadable(Exception):
    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _api_error(exc: Exception, what: str) -> _Unreadable:
    from kubernetes.client.exceptions import ApiException
    if isinstance(exc, ApiException):
        status = exc.status or 0
        code = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}.get(status, f"HTTP{status}")
        return _Unreadable(code, f"{what}: HTTP {status} {exc.reason or ''}".strip(), status)
    return _Unreadable("Unreachable", f"{what}: {type(exc).__name__}: {str(exc)[:300]}")


def _get(call: Any, what: str, **query: Any) -> dict[str, Any]:
    """One typed client call, read raw (``_preload_content=False``) so the answer is checked
    here: anything but a JSON object is an error, never an empty answer."""
    import json
    try:
        response = call(_preload_content=False, _request_timeout=30, **query)
        raw = response.data
    except Exception as exc:  # noqa: BLE001 - every client or transport failure is this unit's error
        raise _api_error(exc, what) from None
    status = getattr(response, "status", 200)
    if not 200 <= int(status or 200) < 300:  # clients that hand back the response instead of raising
        raise _Unreadable({401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}.get(status, f"HTTP{status}"),
                          f"{what}: HTTP {status}", status)
    try:
        document = json.loads(raw)
    except ValueError:
        raise _Unreadable("InvalidResponse", f"{what}: the answer is not JSON") from None
    if not isinstance(document, dict):
        raise _Unreadable("InvalidResponse", f"{what}: the answer is not a JSON object")
    return document


def _list(call: Any, what: str) -> list[dict]:
    """Every item of a list, page by page (limit/continue)."""
    items: list[dict] = []
    token: str | None = None
    for _ in range(100_000):  # a server that never stops paging stops here
        page = _get(call, what, limit=PAGE, **({"_continue": token} if token else {}))
        found = page.get("items")
        if not isinstance(found, list):
            raise _Unreadable("InvalidResponse", f"{what}: the answer has no list of items")
        items.extend(item for item in found if isinstance(item, dict))
        metadata = page.get("metadata")
        token = metadata.get("continue") if isinstance(metadata, dict) else None
        if not token or not isinstance(token, str):
            return items
    raise _Unreadable("InvalidResponse", f"{what}: too many pages")


def _meta(item: dict, key: str) -> Any:
    metadata = item.get("metadata")
    return metadata.get(key) if isinstance(metadata, dict) else None


def _by_namespace(items: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for item in items:
        namespace = _meta(item, "namespace")
        if isinstance(namespace, str):
            out.setdefault(namespace, []).append(item)
    return out


# --- facts --------------------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def duration_days(text: Any) -> int | None:
    """Whole days of a Go duration ("720h", "1440h0m0s"); None when it is not one."""
    if not isinstance(text, str) or not text or len(text) > 64 or _DURATION.sub("", text) != "":
        return None
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION.findall(text))
    return int(seconds // 86400)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def _labels(item: dict) -> dict[str, str]:
    labels = _meta(item, "labels")
    if not isinstance(labels, dict):
        return {}
    return {str(k): str(v) for k, v in list(labels.items())[:256] if isinstance(k, str)}


def _pem_certificates(data: dict, key: str) -> tuple[list[x509.Certificate], str | None]:
    """The certificates a secret holds under key, and why they could not be read."""
    encoded = data.get(key)
    if not encoded:
        return [], None
    if not isinstance(encoded, str):
        return [], f"{key} is not base64 text"
    try:
        pem = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return [], f"{key} is not valid base64"
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        return [], f"{key} holds no PEM certificate"
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        return [], f"{key} is not a readable PEM certificate ({str(exc)[:120]})"
    return certs[:MAX_CERTS_PER_SECRET], None


def _chain_complete(leaf: x509.Certificate, rest: list[x509.Certificate]) -> bool:
    """Each certificate issued by one the secret holds, up to a self-signed one."""
    by_subject = {cert.subject: cert for cert in rest}
    current, seen = leaf, 0
    while seen <= len(rest):
        if current.issuer == current.subject:
            return True
        issuer = by_subject.get(current.issuer)
        if issuer is None:
            return False
        current, seen = issuer, seen + 1
    return False


@dataclass
class _SecretFacts:
    name: str
    type: str | None
    labels: dict[str, str]
    fields: dict[str, Any]  # model.Certificate keyword arguments from the body
    problem: str | None = None


def _secret_facts(secret: dict) -> _SecretFacts | None:
    """None: a secret that holds no certificate (most secrets)."""
    name = _meta(secret, "name")
    data = secret.get("data")
    kind = secret.get("type") if isinstance(secret.get("type"), str) else None
    if not isinstance(name, str) or not isinstance(data, dict):
        return None
    if kind != TLS_TYPE and "tls.crt" not in data and "ca.crt" not in data:
        return None
    chain, problem = _pem_certificates(data, "tls.crt")
    cas, ca_problem = _pem_certificates(data, "ca.crt")
    problem = problem or (ca_problem if not chain else None)
    if not chain and not cas:
        if problem is None and kind != TLS_TYPE:
            return None  # tls.crt/ca.crt present but empty in a generic secret
        return _SecretFacts(name, kind, _labels(secret), {}, problem or "tls.crt is empty")
    leaf, rest = (chain[0], chain[1:] + cas) if chain else (cas[0], cas[1:])
    facts = certificate_facts(leaf)
    facts["chain_complete"] = _chain_complete(leaf, rest)
    # presence only: the key's bytes are never decoded, copied or kept
    facts["private_key_present"] = bool(data.get("tls.key"))
    return _SecretFacts(name, kind, _labels(secret), facts, problem)


def _condition(status: dict, kind: str) -> dict:
    for condition in status.get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == kind:
            return condition
    return {}


def _certificate_fields(resource: dict) -> dict[str, Any]:
    """What a cert-manager Certificate says about itself (spec and status)."""
    spec = resource.get("spec") if isinstance(resource.get("spec"), dict) else {}
    status = resource.get("status") if isinstance(resource.get("status"), dict) else {}
    ready = _condition(status, "Ready")
    issuer = spec.get("issuerRef") if isinstance(spec.get("issuerRef"), dict) else {}
    attempts = status.get("failedIssuanceAttempts")
    dns_names = [str(n) for n in (spec.get("dnsNames") or [])[:1000] if isinstance(n, str)] \
        if isinstance(spec.get("dnsNames"), list) else []
    message = ready.get("message")
    return {
        "status": "READY" if ready.get("status") == "True" else "NOT_READY",
        "status_message": str(message)[:2000] if message is not None else None,
        "failed_attempts": attempts if isinstance(attempts, int) and not isinstance(attempts, bool) and attempts >= 0 else 0,
        "renewal_time": _time(status.get("renewalTime")),
        "renew_days_before_expiry": duration_days(spec.get("renewBefore")),
        "issuer_name": (f"{issuer.get('kind') or 'Issuer'}/{issuer.get('name')}" if issuer.get("name") else None),
        "auto_renew": True,
        "_not_after": _time(status.get("notAfter")),
        "_not_before": _time(status.get("notBefore")),
        "_domain": spec.get("commonName") if isinstance(spec.get("commonName"), str) else None,
        "_sans": dns_names,
        "_secret": spec.get("secretName") if isinstance(spec.get("secretName"), str) else None,
    }


def records(context: str, namespace: str, secrets: list[dict], certificates: list[dict],
            unit: str) -> tuple[list[Certificate], list[CollectionError]]:
    """The records of one namespace: each cert-manager Certificate joined to the secret it
    writes, and every other secret that holds a certificate."""
    found: dict[str, _SecretFacts] = {}
    errors: list[CollectionError] = []
    for secret in secrets:
        facts = _secret_facts(secret)
        if facts is None:
            continue
        found[facts.name] = facts
        if facts.problem:
            errors.append(CollectionError(source=SOURCE, code="InvalidCertificate",
                                          message=f"Secret {facts.name[:MAX_NAME]}: {facts.problem}",
                                          account=context, region=namespace, service="secrets",
                                          resource=f"{context}/{namespace}/Secret/{facts.name[:MAX_NAME]}", unit=unit))
    out: list[Certificate] = []
    written: set[str] = set()
    for resource in certificates:
        name = _meta(resource, "name")
        if not isinstance(name, str):
            continue
        spec = _certificate_fields(resource)
        secret = found.get(spec["_secret"] or "")
        if secret is not None:
            written.add(secret.name)
        body = dict(secret.fields) if secret is not None else {}
        if not body:  # no readable secret yet: what the Certificate's status says
            body = {"not_after": spec["_not_after"], "not_before": spec["_not_before"],
                    "domain": spec["_domain"] or (spec["_sans"][0] if spec["_sans"] else None), "sans": spec["_sans"]}
        tags = {**(secret.labels if secret is not None else {}), **_labels(resource)}
        out.append(Certificate(
            id=f"{context}/{namespace}/Certificate/{name}", source=SOURCE, account=context, region=namespace,
            name=name, type="cert-manager.io/Certificate", tags=tags,
            **{k: v for k, v in spec.items() if not k.startswith("_")}, **body))
    for name, secret in sorted(found.items()):
        if name in written or not secret.fields:
            continue
        out.append(Certificate(id=f"{context}/{namespace}/Secret/{name}", source=SOURCE, account=context,
                               region=namespace, name=name, type=secret.type, tags=secret.labels, **secret.fields))
    return out, errors


# --- the collector ------------------------------------------------------------------------

class KubernetesCollector:
    source = SOURCE

    def __init__(self, clusters: list[_Cluster], namespaces: list[str]):
        self.clusters = {cluster.context: cluster for cluster in clusters}
        self.namespaces = namespaces

    def units(self) -> tuple[list[Unit], list[CollectionError]]:
        units: list[Unit] = []
        errors: list[CollectionError] = []
        for context, cluster in self.clusters.items():
            namespaces = self.namespaces
            if not namespaces:
                try:
                    namespaces = sorted({n for n in (_meta(item, "name") for item in
                                                      _list(cluster.core.list_namespace, "list namespaces"))
                                         if isinstance(n, str)})
                except _Unreadable as exc:
                    hint = "; name the namespaces to read with --namespace" if exc.status == 403 else ""
                    errors.append(CollectionError(source=SOURCE, code=exc.code, message=exc.message + hint,
                                                  account=context, service="namespaces",
                                                  unit=f"{SOURCE}/{context}"))
                    continue
            units.extend(Unit(key=f"{SOURCE}/{context}/{ns}", label=f"Kubernetes {context} {ns}",
                              payload=(context, ns)) for ns in namespaces)
        return units, errors

    def _cert_manager(self, cluster: _Cluster) -> bool:
        """Whether the cluster serves cert-manager.io/v1 (API discovery, once per context)."""
        with cluster.lock:
            if cluster.has_cert_manager is None:
                groups = _get(cluster.apis.get_api_versions, "API discovery").get("groups")
                if not isinstance(groups, list):
                    raise _Unreadable("InvalidResponse", "API discovery: the answer has no groups")
                cluster.has_cert_manager = any(
                    isinstance(g, dict) and g.get("name") == CERT_MANAGER[0]
                    and any(isinstance(v, dict) and v.get("version") == CERT_MANAGER[1] for v in g.get("versions") or [])
                    for g in groups)
            return cluster.has_cert_manager

    def _cluster_wide(self, cluster: _Cluster, cert_manager: bool) -> dict | None:
        """Every namespace's secrets and Certificates in one list each, or None when this
        identity may not read across namespaces."""
        with cluster.lock:
            if cluster.everything is None:
                try:
                    secrets = _by_namespace(_list(cluster.core.list_secret_for_all_namespaces,
                                                  "list secrets in all namespaces"))
                    certificates = _by_namespace(_list(partial(cluster.custom.list_cluster_custom_object, *CERT_MANAGER),
                                                       "list Certificates in all namespaces")) if cert_manager else {}
                    cluster.everything = {ns: (secrets.get(ns, []), certificates.get(ns, []))
                                          for ns in set(secrets) | set(certificates)}
                except _Unreadable as exc:
                    if exc.status not in (401, 403):
                        raise
                    cluster.everything = False
            return cluster.everything or None

    def collect(self, unit: Unit) -> UnitResult:
        context, namespace = unit.payload
        cluster = self.clusters[context]
        service = "secrets"
        try:
            cert_manager = self._cert_manager(cluster)
            service = "secrets, cert-manager" if cert_manager else "secrets; cert-manager absent"
            everything = self._cluster_wide(cluster, cert_manager) if not self.namespaces else None
            if everything is not None:
                secrets, certificates = everything.get(namespace, ([], []))
            else:
                secrets = _list(partial(cluster.core.list_namespaced_secret, namespace), "list secrets")
                group, version, plural = CERT_MANAGER
                certificates = _list(partial(cluster.custom.list_namespaced_custom_object, group, version, namespace,
                                             plural), "list Certificates") if cert_manager else []
        except _Unreadable as exc:
            return UnitResult(errors=[CollectionError(source=SOURCE, code=exc.code, message=exc.message,
                                                      account=context, region=namespace, service="secrets",
                                                      resource=f"{context}/{namespace}", unit=unit.key)],
                              coverage=[Coverage(unit=unit.key, source=SOURCE, service=service, account=context,
                                                 region=namespace, count=0, complete=False)])
        found, errors = records(context, namespace, secrets, certificates, unit.key)
        return UnitResult(certificates=found, errors=errors,
                          coverage=[Coverage(unit=unit.key, source=SOURCE, service=service, account=context,
                                             region=namespace, count=len(found), complete=True)])


def _kubeconfig_path(options: SourceOptions) -> str | None:
    if options.kubeconfig:
        return options.kubeconfig
    env = os.environ.get("KUBECONFIG")
    if env:
        return env.split(os.pathsep)[0]
    default = Path.home() / ".kube" / "config"
    return str(default) if default.is_file() else None


def build(options: SourceOptions) -> list[KubernetesCollector]:
    """Bad input (no or unreadable kubeconfig, an unknown context) raises InputError here."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    namespaces = list(dict.fromkeys(n.strip() for n in options.namespaces if n.strip()))
    path = _kubeconfig_path(options)
    if path is None:
        if not os.environ.get("KUBERNETES_SERVICE_HOST"):
            raise InputError(Problem("--kubernetes", "no kubeconfig: give --kubeconfig FILE, set KUBECONFIG, or run "
                                                     "in a pod (in-cluster service account)"))
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise InputError(Problem("--kubernetes", f"in-cluster configuration: {exc}")) from None
        configuration.retries = 0
        return [KubernetesCollector([_Cluster(IN_CLUSTER, client.ApiClient(configuration))], namespaces)]
    if not Path(path).is_file():
        raise InputError(Problem("--kubeconfig", f"{path!r}: no such file"))
    try:
        contexts, current = config.list_kube_config_contexts(config_file=path)
    except Exception as exc:  # noqa: BLE001 - YAML errors, missing keys, wrong shapes: all bad input
        raise InputError(Problem(path, f"not a readable kubeconfig: {str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}")) from None
    known = [c.get("name") for c in contexts or [] if isinstance(c, dict)]
    wanted = list(dict.fromkeys(options.kube_contexts)) or ([current["name"]] if current else [])
    if not wanted:
        raise InputError(Problem(path, "no current-context: give --kube-context NAME"))
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise InputError(Problem("--kube-context", f"{', '.join(map(repr, unknown))} not in {path} "
                                                   f"(contexts: {', '.join(map(str, known)) or 'none'})"))
    clusters = []
    for name in wanted:
        configuration = client.Configuration()
        try:
            config.load_kube_config(config_file=path, context=name, client_configuration=configuration)
        except Exception as exc:  # noqa: BLE001 - a context whose cluster or user entry is broken
            raise InputError(Problem(path, f"context {name!r}: {str(exc)[:300]}")) from None
        configuration.retries = 0  # one broken cluster costs one attempt, not urllib3's three
        clusters.append(_Cluster(name, client.ApiClient(configuration)))
    return [KubernetesCollector(clusters, namespaces)]


SOURCE_SPEC = Source(
    key="kubernetes", names=(SOURCE,), help="Collect TLS secrets and cert-manager Certificates from Kubernetes.",
    build=build,
    options=(
        Option("kubeconfig", ("--kubeconfig",), "kubeconfig file (default $KUBECONFIG, ~/.kube/config; in a pod, "
                                                "the service account).", config="kubeconfig", metavar="FILE"),
        Option("kube_contexts", ("--kube-context",), "kubeconfig context (repeatable; default the current one).",
               "list", config="contexts", metavar="NAME"),
        Option("namespaces", ("--namespace",), "Namespace (repeatable; default all).", "list", config="namespaces",
               metavar="NS"),
    ),
    extra="kubernetes", requires=("kubernetes",), units="context x namespace",
    identities={"kube_contexts": "account", "namespaces": "region"},
)
