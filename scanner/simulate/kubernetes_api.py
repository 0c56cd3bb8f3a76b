"""A loopback Kubernetes API server for tests and the demo: the real REST paths the
``kubernetes`` client calls (/version, discovery /api and /apis, namespaces, secrets across
and within namespaces, cert-manager.io/v1 Certificates), paged with limit/continue, bearer
token checked, and a kubeconfig file that points the real client at it.

Several clusters share one server, each under its own path prefix (the kubeconfig's server
URL carries it). A cluster can forbid cluster-wide reads, forbid one namespace (403), forbid
listing namespaces, or not serve cert-manager at all.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

TOKEN = "certscan-fake-token-3b1f"  # noqa: S105 - a test credential; tests assert it never reaches an output


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def tls_secret(name: str, certificate_pem: str, chain_pem: str = "", key_pem: str | None = None,
               labels: dict[str, str] | None = None, ca_pem: str | None = None,
               type: str = "kubernetes.io/tls") -> dict[str, Any]:
    data = {"tls.crt": _b64(certificate_pem + chain_pem)}
    if key_pem is not None:
        data["tls.key"] = _b64(key_pem)
    if ca_pem is not None:
        data["ca.crt"] = _b64(ca_pem)
    return {"metadata": {"name": name, "labels": dict(labels or {})}, "type": type, "data": data}


def opaque_secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": name}, "type": "Opaque", "data": {k: _b64(v) for k, v in data.items()}}


def certificate(name: str, secret_name: str, *, ready: bool = True, message: str = "Certificate is up to date",
                not_after: str | None = None, renewal_time: str | None = None, renew_before: str | None = "720h",
                issuer: tuple[str, str] = ("ClusterIssuer", "letsencrypt"), failed_attempts: int | None = None,
                dns_names: list[str] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                              "reason": "Ready" if ready else "Failed", "message": message}]}
    if not_after:
        status["notAfter"] = not_after
    if renewal_time:
        status["renewalTime"] = renewal_time
    if failed_attempts is not None:
        status["failedIssuanceAttempts"] = failed_attempts
    spec: dict[str, Any] = {"secretName": secret_name, "issuerRef": {"kind": issuer[0], "name": issuer[1],
                                                                    "group": "cert-manager.io"},
                            "dnsNames": list(dns_names or [])}
    if renew_before:
        spec["renewBefore"] = renew_before
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": name, "labels": dict(labels or {})}, "spec": spec, "status": status}


@dataclass
class FakeCluster:
    secrets: dict[str, list[dict]] = field(default_factory=dict)  # namespace -> secrets
    certificates: dict[str, list[dict]] = field(default_factory=dict)  # namespace -> Certificates
    cert_manager: bool = True
    forbid_cluster_wide: bool = False
    forbid_namespace_list: bool = False
    forbidden_namespaces: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    def namespace(self, name: str) -> FakeCluster:
        self.secrets.setdefault(name, [])
        self.certificates.setdefault(name, [])
        return self

    def add_secret(self, namespace: str, secret: dict) -> None:
        self.namespace(namespace).secrets[namespace].append(secret)

    def add_certificate(self, namespace: str, resource: dict) -> None:
        self.namespace(namespace).certificates[namespace].append(resource)


def _with_namespace(item: dict, namespace: str) -> dict:
    if not isinstance(item.get("metadata"), dict):  # a hostile item stays as it is
        return item
    return {**item, "metadata": {**item["metadata"], "namespace": namespace}}


class FakeKubernetesAPI:
    """``with FakeKubernetesAPI({"prod": cluster}) as api: api.write_kubeconfig(path)``."""

    page_size_cap = 2  # small pages, so paging is exercised

    def __init__(self, clusters: dict[str, FakeCluster]):
        self.clusters = clusters
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeKubernetesAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                status, body = api.answer(self.path, self.headers.get("Authorization"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def write_kubeconfig(self, path: Path, current: str | None = None, token: str = TOKEN) -> Path:
        names = list(self.clusters)
        document = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "current-context": current or names[0],
            "clusters": [{"name": n, "cluster": {"server": f"{self.url}/{n}"}} for n in names],
            "users": [{"name": "reader", "user": {"token": token}}],
            "contexts": [{"name": n, "context": {"cluster": n, "user": "reader"}} for n in names],
        }
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        return path

    # --- the API -----------------------------------------------------------------------

    def answer(self, raw_path: str, authorization: str | None) -> tuple[int, dict]:
        parts = urlsplit(raw_path)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        query = parse_qs(parts.query)
        if not segments or segments[0] not in self.clusters:
            return 404, _status(404, "no such cluster")
        cluster = self.clusters[segments[0]]
        cluster.requests.append("/" + "/".join(segments[1:]))
        if authorization != f"Bearer {TOKEN}":
            return 401, _status(401, "Unauthorized")
        path = segments[1:]
        if path == ["version"]:
            return 200, {"major": "1", "minor": "31", "gitVersion": "v1.31.0"}
        if path == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if path == ["apis"]:
            groups = [{"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}]}]
            if cluster.cert_manager:
                groups.append({"name": "cert-manager.io",
                               "versions": [{"groupVersion": "cert-manager.io/v1", "version": "v1"}]})
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        if path == ["api", "v1", "namespaces"]:
            if cluster.forbid_namespace_list:
                return 403, _status(403, "namespaces is forbidden")
            names = sorted(set(cluster.secrets) | set(cluster.certificates))
            return 200, _page("NamespaceList", [{"metadata": {"name": n}} for n in names], query)
        if path == ["api", "v1", "secrets"]:
            if cluster.forbid_cluster_wide or cluster.forbidden_namespaces:
                return 403, _status(403, "secrets is forbidden at the cluster scope")
            items = [_with_namespace(s, ns) for ns, found in sorted(cluster.secrets.items()) for s in found]
            return 200, _page("SecretList", items, query)
        if len(path) == 5 and path[:3] == ["api", "v1", "namespaces"] and path[4] == "secrets":
            namespace = path[3]
            if namespace in cluster.forbidden_namespaces:
                return 403, _status(403, f"secrets is forbidden in namespace {namespace}")
            items = [_with_namespace(s, namespace) for s in cluster.secrets.get(namespace, [])]
            return 200, _page("SecretList", items, query)
        if path[:3] == ["apis", "cert-manager.io", "v1"]:
            if not cluster.cert_manager:
                return 404, _status(404, "the server could not find the requested resource")
            rest = path[3:]
            if rest == ["certificates"]:
                if cluster.forbid_cluster_wide or cluster.forbidden_namespaces:
                    return 403, _status(403, "certificates is forbidden at the cluster scope")
                items = [_with_namespace(c, ns) for ns, found in sorted(cluster.certificates.items()) for c in found]
                return 200, _page("CertificateList", items, query)
            if len(rest) == 3 and rest[0] == "namespaces" and rest[2] == "certificates":
                if rest[1] in cluster.forbidden_namespaces:
                    return 403, _status(403, f"certificates is forbidden in namespace {rest[1]}")
                items = [_with_namespace(c, rest[1]) for c in cluster.certificates.get(rest[1], [])]
                return 200, _page("CertificateList", items, query)
        return 404, _status(404, "the server could not find the requested resource")


def _status(code: int, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code}


def _page(kind: str, items: list[dict], query: dict[str, list[str]]) -> dict:
    limit = int((query.get("limit") or ["0"])[0] or 0)
    limit = min(limit, FakeKubernetesAPI.page_size_cap) if limit else FakeKubernetesAPI.page_size_cap
    start = int((query.get("continue") or ["0"])[0] or 0)
    chunk = items[start:start + limit]
    metadata = {"resourceVersion": "1"}
    if start + limit < len(items):
        metadata["continue"] = str(start + limit)
    return {"kind": kind, "apiVersion": "v1", "metadata": metadata, "items": chunk}
