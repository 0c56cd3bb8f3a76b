"""A small in-memory Azure Key Vault (and the ARM listing of a subscription's vaults) that
answers the REST API at the HTTP level, so the real ``CertificateClient`` and
``KeyVaultManagementClient`` run offline: in tests, and for ``certscan demo``.

    service = FakeKeyVaultService()
    vault = service.vault("https://shop.vault.azure.net")
    vault.add_certificate("web", cert, policy=Policy(issuer_name="Self", validity_months=12))
    client = CertificateClient(vault.url, service.credential(), transport=service.transport())

What is answered (api-version shapes 7.4 and later): certificate list and version list with
``nextLink`` paging, certificate get (the versionless get carries the policy), policy get,
and ``GET /subscriptions/{id}/providers/Microsoft.KeyVault/vaults``. Like the real service,
an unauthenticated data-plane request gets ``401`` with a Bearer challenge first. Faults
(403, 404, 429 and network failures) are injected per URL prefix with ``fail`` and
``unreachable``; retry back-off sleeps are recorded in ``sleeps`` instead of slept.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID

TENANT_ID = "72f988bf-0000-4000-8000-00000000cafe"
TOKEN = "simulated-azure-access-token"
MANAGEMENT_HOST = "management.azure.com"
DEFAULT_PAGE_SIZE = 25  # Key Vault's own default for list operations


@dataclass
class LifetimeAction:
    action: str  # "AutoRenew" | "EmailContacts"
    lifetime_percentage: int | None = None
    days_before_expiry: int | None = None

    def to_json(self) -> dict[str, Any]:
        trigger = {"lifetime_percentage": self.lifetime_percentage} if self.lifetime_percentage is not None \
            else {"days_before_expiry": self.days_before_expiry}
        return {"trigger": trigger, "action": {"action_type": self.action}}


@dataclass
class Policy:
    """A certificate's management policy. Key Vault keeps one per certificate, not per version."""

    issuer_name: str = "Self"
    validity_months: int | None = 12
    lifetime_actions: list[LifetimeAction] = field(
        default_factory=lambda: [LifetimeAction("AutoRenew", lifetime_percentage=80)])
    key_type: str = "RSA"
    key_size: int | None = 2048
    content_type: str = "application/x-pkcs12"


# What Key Vault gives an imported certificate when no policy is supplied.
def imported_policy() -> Policy:
    return Policy(issuer_name="Unknown", validity_months=None,
                  lifetime_actions=[LifetimeAction("EmailContacts", lifetime_percentage=80)])


@dataclass
class _Version:
    version: str
    der: bytes
    enabled: bool
    tags: dict[str, str]
    created: int  # unix seconds

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)


@dataclass
class _Fault:
    prefix: str
    status: int | None  # None: the connection fails
    code: str
    message: str
    remaining: int | None  # None: for ever


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _der(certificate: x509.Certificate | bytes) -> bytes:
    if isinstance(certificate, x509.Certificate):
        return certificate.public_bytes(serialization.Encoding.DER)
    if certificate.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(certificate).public_bytes(serialization.Encoding.DER)
    return bytes(certificate)


class FakeVault:
    """One vault: certificates by name, each a list of versions (the last one is current)."""

    def __init__(self, url: str, service: FakeKeyVaultService):
        self.url = url.rstrip("/")
        self._service = service
        self._versions: dict[str, list[_Version]] = {}
        self._policies: dict[str, Policy] = {}

    def add_certificate(self, name: str, certificate: x509.Certificate | bytes, *, policy: Policy | None = None,
                        tags: dict[str, str] | None = None, enabled: bool = True,
                        version: str | None = None) -> str:
        """Add a certificate, or a new current version when the name exists. Returns its versioned id.
        ``policy`` replaces the certificate's policy; the first version without one gets Key Vault's
        default for an imported certificate (issuer Unknown, EmailContacts at 80 % of life)."""
        der = _der(certificate)
        with self._service.lock:
            versions = self._versions.setdefault(name, [])
            version = version or hashlib.sha256(f"{self.url}|{name}|{len(versions)}".encode()).hexdigest()[:32]
            created = _unix(x509.load_der_x509_certificate(der).not_valid_before_utc)
            versions.append(_Version(version, der, enabled, dict(tags or {}), created))
            if policy is not None or name not in self._policies:
                self._policies[name] = policy or imported_policy()
        return f"{self.url}/certificates/{name}/{version}"

    def _find(self, name: str, version: str | None) -> _Version:
        versions = self._versions[name]
        if not version:
            return versions[-1]
        return next(v for v in versions if v.version == version)

    # --- REST shapes -------------------------------------------------------------------
    def _attributes(self, ver: _Version) -> dict[str, Any]:
        cert = ver.certificate
        return {"enabled": ver.enabled, "nbf": _unix(cert.not_valid_before_utc),
                "exp": _unix(cert.not_valid_after_utc), "created": ver.created, "updated": ver.created,
                "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}

    def _item(self, name: str, ver: _Version, versioned: bool) -> dict[str, Any]:
        suffix = f"/{ver.version}" if versioned else ""
        return {"id": f"{self.url}/certificates/{name}{suffix}",
                "x5t": _b64url(hashlib.sha1(ver.der).digest()),  # noqa: S324 - the x5t thumbprint is SHA-1 by definition
                "attributes": self._attributes(ver), "tags": ver.tags}

    def _policy_json(self, name: str) -> dict[str, Any]:
        policy = self._policies[name]
        cert = self._versions[name][-1].certificate
        try:
            sans = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
            dns_names = [str(n) for n in sans.get_values_for_type(x509.DNSName)]
        except x509.ExtensionNotFound:
            dns_names = []
        x509_props: dict[str, Any] = {"subject": cert.subject.rfc4514_string(), "sans": {"dns_names": dns_names},
                                      "ekus": ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"],
                                      "key_usage": ["digitalSignature", "keyEncipherment"]}
        if policy.validity_months is not None:
            x509_props["validity_months"] = policy.validity_months
        key_props: dict[str, Any] = {"exportable": True, "kty": policy.key_type, "reuse_key": False}
        if policy.key_size is not None:
            key_props["key_size"] = policy.key_size
        created = self._versions[name][0].created
        return {"id": f"{self.url}/certificates/{name}/policy", "key_props": key_props,
                "secret_props": {"contentType": policy.content_type}, "x509_props": x509_props,
                "lifetime_actions": [action.to_json() for action in policy.lifetime_actions],
                "issuer": {"name": policy.issuer_name},
                "attributes": {"enabled": True, "created": created, "updated": created}}

    def _bundle(self, name: str, ver: _Version, with_policy: bool) -> dict[str, Any]:
        base = f"{self.url}/%s/{name}/{ver.version}"
        bundle = {**self._item(name, ver, versioned=True), "kid": base % "keys", "sid": base % "secrets",
                  "cer": base64.b64encode(ver.der).decode(), "contentType": self._policies[name].content_type}
        if with_policy:
            bundle["policy"] = self._policy_json(name)
        return bundle

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] != "certificates":
            return _error(400, "BadParameter", f"simulated Key Vault does not answer {path}")
        if len(parts) == 1:
            items = [self._item(name, versions[-1], versioned=False) for name, versions in sorted(self._versions.items())]
            return 200, self._service.page(items, f"{self.url}/certificates", query)
        name = parts[1]
        if name not in self._versions:
            return _error(404, "CertificateNotFound", f"A certificate with (name/id) {name} was not found in this key vault.")
        rest = parts[2] if len(parts) > 2 else ""
        if rest == "versions":
            items = [self._item(name, ver, versioned=True) for ver in self._versions[name]]
            return 200, self._service.page(items, f"{self.url}/certificates/{name}/versions", query)
        if rest == "policy":
            return 200, self._policy_json(name)
        try:
            ver = self._find(name, rest)
        except StopIteration:
            return _error(404, "CertificateNotFound",
                          f"A certificate with (name/id) {name}/{rest} was not found in this key vault.")
        # Like the service: the versionless get carries the policy, a versioned get does not.
        return 200, self._bundle(name, ver, with_policy=not rest)


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": code, "message": message}}


class FakeCredential:
    """A TokenCredential that hands out a fixed token and records the scopes asked for."""

    def __init__(self, token: str = TOKEN):
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)

    def close(self) -> None:
        pass


class FakeKeyVaultService:
    """Every vault and subscription the simulation knows, and the HTTP handler for them."""

    def __init__(self, page_size: int = DEFAULT_PAGE_SIZE, token: str = TOKEN):
        self.page_size = page_size
        self.token = token
        self.lock = threading.RLock()
        self.vaults: dict[str, FakeVault] = {}
        self.subscriptions: dict[str, list[tuple[str, str]]] = {}  # id -> [(vault url, location)]
        self.requests: list[tuple[str, str]] = []  # (method, url) of every request received
        self.sleeps: list[float] = []  # retry back-offs the SDK asked for
        self._faults: list[_Fault] = []

    # --- building the simulated estate ----------------------------------------------------
    def vault(self, url: str) -> FakeVault:
        key = url.rstrip("/").lower()
        with self.lock:
            if key not in self.vaults:
                self.vaults[key] = FakeVault(url, self)
            return self.vaults[key]

    def add_subscription(self, subscription_id: str, vault_urls: list[str], location: str = "westeurope") -> None:
        with self.lock:
            listed = self.subscriptions.setdefault(subscription_id, [])
            for url in vault_urls:
                self.vault(url)
                listed.append((url.rstrip("/"), location))

    def fail(self, prefix: str, status: int, code: str | None = None, message: str | None = None,
             times: int | None = None) -> None:
        """Answer authenticated requests whose URL starts with ``prefix`` with an error status,
        ``times`` times (None: always). 429 answers carry Retry-After, as Key Vault's do."""
        code = code or {403: "Forbidden", 404: "NotFound", 429: "Throttled"}.get(status, HTTPStatus(status).phrase)
        message = message or f"simulated {status} {code}"
        with self.lock:
            self._faults.append(_Fault(prefix.lower(), status, code, message, times))

    def unreachable(self, prefix: str, times: int | None = None) -> None:
        """Fail the connection for requests whose URL starts with ``prefix`` (DNS/TCP failure)."""
        with self.lock:
            self._faults.append(_Fault(prefix.lower(), None, "ServiceRequestError", "unreachable", times))

    def credential(self) -> FakeCredential:
        return FakeCredential(self.token)

    def transport(self) -> RequestsTransport:
        return _FakeTransport(self)

    def count(self, fragment: str) -> int:
        """How many requests' URLs contain ``fragment`` (for asserting paging and retries)."""
        with self.lock:
            return sum(1 for _, url in self.requests if fragment in url)

    # --- HTTP --------------------------------------------------------------------------------
    def page(self, items: list[dict[str, Any]], base: str, query: dict[str, list[str]]) -> dict[str, Any]:
        size = int((query.get("maxresults") or [self.page_size])[0] or self.page_size)
        start = int((query.get("$skiptoken") or ["0"])[0])
        body: dict[str, Any] = {"value": items[start:start + size], "nextLink": None}
        if start + size < len(items):
            body["nextLink"] = f"{base}?$skiptoken={start + size}&maxresults={size}"
        return body

    def _fault_for(self, url: str, authenticated: bool) -> _Fault | None:
        lowered = url.lower()
        for fault in self._faults:
            if not lowered.startswith(fault.prefix) or fault.remaining == 0:
                continue
            if fault.status is not None and not authenticated:
                continue  # the service challenges before it authorizes
            if fault.remaining is not None:
                fault.remaining -= 1
            return fault
        return None

    def handle(self, method: str, url: str, headers: Any) -> tuple[int, dict[str, str], bytes] | None:
        """(status, headers, body) for one request; None when the connection should fail."""
        parts = urlsplit(url)
        authorization = headers.get("Authorization") or ""
        authenticated = authorization == f"Bearer {self.token}"
        with self.lock:
            self.requests.append((method, url))
            fault = self._fault_for(url, authenticated)
            if fault is not None and fault.status is None:
                return None
            if not authenticated:
                return self._unauthenticated(parts.hostname or "", bool(authorization))
            if fault is not None:
                extra = {"Retry-After": "1"} if fault.status == 429 else {}
                return _respond(*_error(fault.status, fault.code, fault.message), extra)
            query = parse_qs(parts.query)
            if parts.hostname == MANAGEMENT_HOST:
                return _respond(*self._management(parts.path, query))
            vault = self.vaults.get(f"{parts.scheme}://{parts.netloc}".lower())
            if method != "GET":
                return _respond(*_error(405, "MethodNotAllowed", "the simulated vault is read-only"))
            if vault is None:
                return None  # like DNS for a vault that does not exist
            return _respond(*vault.answer(parts.path, query))

    def _unauthenticated(self, host: str, had_token: bool) -> tuple[int, dict[str, str], bytes]:
        if host == MANAGEMENT_HOST or had_token:
            return _respond(*_error(401, "InvalidAuthenticationToken", "The access token is invalid."))
        resource = "https://" + host.split(".", 1)[-1]  # shop.vault.azure.net -> https://vault.azure.net
        challenge = f'Bearer authorization="https://login.microsoftonline.com/{TENANT_ID}", resource="{resource}"'
        return _respond(*_error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."),
                        {"WWW-Authenticate": challenge})

    def _management(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        if len(parts) != 5 or parts[0] != "subscriptions" or parts[2:] != ["providers", "Microsoft.KeyVault", "vaults"]:
            return _error(400, "InvalidResourceType", f"simulated ARM does not answer {path}")
        subscription = parts[1]
        if subscription not in self.subscriptions:
            return _error(404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found.")
        items = []
        for url, location in self.subscriptions[subscription]:
            name = urlsplit(url).hostname.split(".")[0]
            items.append({"id": f"/subscriptions/{subscription}/resourceGroups/certificates/providers/"
                                f"Microsoft.KeyVault/vaults/{name}",
                          "name": name, "type": "Microsoft.KeyVault/vaults", "location": location, "tags": {},
                          "properties": {"tenantId": TENANT_ID, "sku": {"family": "A", "name": "standard"},
                                         "accessPolicies": [], "vaultUri": url + "/"}})
        return 200, self.page(items, f"https://{MANAGEMENT_HOST}{path}", query)


def _respond(status: int, body: dict[str, Any], extra: dict[str, str] | None = None
             ) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json; charset=utf-8", **(extra or {})}
    return status, headers, json.dumps(body).encode()


class _Adapter(requests.adapters.HTTPAdapter):
    """A requests adapter that answers from the simulation instead of the network, so the
    SDK's own RequestsTransport (timeouts, error mapping, retries) runs unchanged."""

    def __init__(self, service: FakeKeyVaultService):
        super().__init__()
        self._service = service

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # noqa: PLR0913
        answer = self._service.handle(request.method, request.url, request.headers)
        if answer is None:
            raise requests.exceptions.ConnectionError(f"simulated network failure reaching {request.url}",
                                                      request=request)
        status, headers, body = answer
        raw = urllib3.HTTPResponse(body=io.BytesIO(body), headers=headers, status=status,
                                   reason=HTTPStatus(status).phrase, preload_content=False,
                                   decode_content=False)
        return self.build_response(request, raw)


class _FakeTransport(RequestsTransport):
    """One transport shared by every client of a scan: it does not own (or close) its session,
    and retry back-off is recorded rather than slept, so throttling tests run instantly."""

    def __init__(self, service: FakeKeyVaultService):
        session = requests.Session()
        session.mount("https://", _Adapter(service))
        session.mount("http://", _Adapter(service))
        super().__init__(session=session, session_owner=False, use_env_settings=False)
        self._service = service

    def sleep(self, duration: float) -> None:
        with self._service.lock:
            self._service.sleeps.append(duration)
