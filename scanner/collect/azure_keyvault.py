"""Azure Key Vault certificates: every certificate and every version of every vault asked for
(``--vault-url``) or found in a subscription (``--subscription``, listed through the ARM
management API), normalized like the AWS sources.

One record per certificate *version*: each version is its own X.509 certificate (own key,
dates and fingerprint) and stays retrievable and usable by applications that pin its
versioned id, so each is visible. ``id`` is the versioned Key Vault id, ``version`` is set,
and ``status`` tells the versions apart: ``CURRENT`` for the version the certificate's name
resolves to (what a versionless reference gets), ``SUPERSEDED`` for older ones. Rules that
judge the certificate rather than a version (renewal policy, validity) scope themselves with
``applies: {field: status, op: eq, value: CURRENT}``. Disabled versions are kept
(``enabled`` false): rules decide what matters.

The policy (lifetime actions, issuer, validity) belongs to the certificate, so every version
carries the same policy facts. A unit is one vault; a 403, a 429 that outlasts the SDK's
retries, a 404 or a network failure becomes a CollectionError for that vault (a certificate
that vanished between list and get is an error for that certificate only).
"""

from __future__ import annotations

import base64
import calendar
import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from scanner.collect import Option, Source, SourceOptions, Unit, UnitResult
from scanner.collect.x509facts import certificate_facts
from scanner.model import ONE_DAY, Certificate, CollectionError, Coverage
from scanner.inputs.problems import InputError, Problem

TOKEN_SCOPE = "https://vault.azure.net/.default"

SOURCE = "azure.keyvault"
SERVICE = "keyvault"
CONNECTION_TIMEOUT = 20  # seconds; the SDK's default (300) would hold a worker on a dead vault
READ_TIMEOUT = 60
MAX_MESSAGE = 1000


@dataclass(frozen=True)
class VaultTarget:
    url: str  # https://name.vault.azure.net (no trailing slash)
    subscription: str | None = None
    location: str | None = None


def unit_key(vault_url: str) -> str:
    return f"{SOURCE}/{vault_url.lower()}"


def normalize_vault_url(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise InputError(Problem("--vault-url", f"{text!r}: expected a vault URL such as https://NAME.vault.azure.net"))
    return f"https://{parts.netloc.lower()}"


# --- policy facts -------------------------------------------------------------------------

def _add_months(moment: datetime, months: int) -> datetime:
    years, month0 = divmod(moment.month - 1 + months, 12)
    year = moment.year + years
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def calendar_months(start: datetime, end: datetime) -> int:
    """Calendar months from start to end; a remainder longer than one day counts as a month
    (so 12 months and a week is 13: over a 12-month limit), while a day of slack absorbs
    issuers that backdate not_before a little."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if _add_months(start, months) > end:
        months -= 1
    if end - _add_months(start, months) > ONE_DAY:
        months += 1
    return months


def _word(value: Any) -> str | None:
    """An SDK enum member or a plain string, as the service's own word (e.g. AutoRenew)."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def renewal_facts(policy: Any, not_before: datetime | None, not_after: datetime | None) -> dict[str, Any]:
    """Facts from a certificate policy (azure.keyvault.certificates.CertificatePolicy or None)."""
    if policy is None:
        return {}
    actions = {(_word(a.action) or "").casefold(): a for a in (policy.lifetime_actions or []) if a.action}
    chosen = actions.get("autorenew") or actions.get("emailcontacts")
    renewal_action = "AutoRenew" if "autorenew" in actions else "EmailContacts" if chosen else "none"
    issuer_name = policy.issuer_name
    validity_days = (not_after - not_before) // ONE_DAY if not_before and not_after else None
    days = chosen.days_before_expiry if chosen else None
    percentage = chosen.lifetime_percentage if chosen else None
    if days is None and percentage is not None and validity_days is not None:
        # A percentage-of-life trigger, restated in days before expiry, so a single rule
        # ("triggers at least 30 days before expiry") judges both kinds of trigger:
        # renewal at 80 % of a 365-day life leaves floor(365 * 20 / 100) = 73 days.
        days = validity_days * (100 - percentage) // 100
    validity_months = policy.validity_in_months
    if validity_months is None and not_before and not_after:
        validity_months = calendar_months(not_before, not_after)
    return {
        "renewal_action": renewal_action,
        # A non-partnered issuer ("Unknown") can never be renewed by Key Vault, whatever the action says.
        "auto_renew": renewal_action == "AutoRenew" and (issuer_name or "").casefold() != "unknown",
        "renew_days_before_expiry": days,
        "renew_lifetime_percentage": percentage,
        "validity_months": validity_months,
        "issuer_name": issuer_name,
    }


def certificate_record(kv_cert: Any, policy: Any, target: VaultTarget, current: bool) -> tuple[Certificate, str | None]:
    """One version as a normalized record, and a problem with its body if it has one."""
    props = kv_cert.properties
    facts: dict[str, Any] = {"not_before": props.not_before, "not_after": props.expires_on}
    problem = None
    if kv_cert.cer:
        try:
            facts = certificate_facts(x509.load_der_x509_certificate(bytes(kv_cert.cer)))
        except ValueError as exc:
            problem = f"certificate body of {props.id} cannot be parsed: {exc}"
    else:
        problem = f"{props.id} has no certificate body (cer)"
    facts.update(renewal_facts(policy, facts.get("not_before"), facts.get("not_after")))
    record = Certificate(
        id=props.id, source=SOURCE, account=target.subscription, region=target.location, vault=target.url,
        name=props.name, version=props.version, enabled=props.enabled, tags=dict(props.tags or {}),
        status="CURRENT" if current else "SUPERSEDED", in_use=None,  # Key Vault does not know who uses it
        **facts,
    )
    return record, problem


# --- answers that cannot be understood ------------------------------------------------------

MALFORMED = "MalformedResponse"
_LISTINGS = ("/certificates", "/versions", "/vaults")  # paths whose answer is a page {value, nextLink}


def check_answer(pipeline_response: Any) -> None:
    """Client-wide raw_response_hook: a 2xx answer whose body is not the JSON object the call
    returns (an HTML page, truncated JSON, a page without `value`) raises, so the vault is
    recorded as an error instead of being read as holding no certificates."""
    http = pipeline_response.http_response
    if not 200 <= http.status_code < 300:
        return
    path = urlsplit(http.request.url).path.rstrip("/")
    body = http.body() or b""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    problem = None
    if not isinstance(document, dict):
        problem = f"the answer is not a JSON object ({len(body)} bytes starting {body[:60]!r})"
    elif path.endswith(_LISTINGS):
        if not isinstance(document.get("value"), list):
            problem = "the answer is not a page of items (no 'value' list)"
        elif not all(isinstance(item, dict) and isinstance(item.get("id"), str) for item in document["value"]):
            problem = "an item of the page has no 'id'"
    elif "/certificates/" in path and not isinstance(document.get("id"), str):
        problem = "the answer has no certificate 'id'"
    if problem:
        from azure.core.exceptions import DecodeError

        exc = DecodeError(message=f"{http.request.method} {path}: {problem}", response=http)
        exc.malformed = True  # type: ignore[attr-defined]
        raise exc


# --- errors --------------------------------------------------------------------------------

def _error(exc: Exception, target: VaultTarget | None, unit: str, resource: str | None = None,
           service: str = SERVICE, account: str | None = None) -> CollectionError:
    from azure.core.exceptions import HttpResponseError

    if getattr(exc, "malformed", False):
        code, message = MALFORMED, exc.message
    elif isinstance(exc, HttpResponseError):
        detail = exc.error.message if exc.error is not None and exc.error.message else (exc.reason or str(exc))
        code = (exc.error.code if exc.error is not None and exc.error.code else None) \
            or (f"HTTP{exc.status_code}" if exc.status_code else type(exc).__name__)
        message = f"HTTP {exc.status_code}: {detail}" if exc.status_code else detail
    else:
        code, message = type(exc).__name__, str(exc)
    message = " ".join(message.split())[:MAX_MESSAGE]
    return CollectionError(source=SOURCE, code=code, message=message,
                           account=target.subscription if target else account,
                           region=target.location if target else None, service=service,
                           resource=resource or (target.url if target else None), unit=unit)


# --- the collector ---------------------------------------------------------------------------

class KeyVaultCollector:
    source = SOURCE

    def __init__(self, vault_urls: list[str], subscriptions: list[str], credential: Any = None,
                 transport: Any = None):
        self.vault_urls = vault_urls
        self.subscriptions = subscriptions
        self._transport = transport
        self._credential = credential
        self._owns_credential = credential is None
        self._lock = threading.Lock()

    def credential(self) -> Any:
        with self._lock:
            if self._credential is None:
                from azure.identity import DefaultAzureCredential
                self._credential = DefaultAzureCredential()
            return self._credential

    def _client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"connection_timeout": CONNECTION_TIMEOUT, "read_timeout": READ_TIMEOUT,
                                  "raw_response_hook": check_answer}
        if self._transport is not None:
            kwargs["transport"] = self._transport
        return kwargs

    def units(self) -> tuple[list[Unit], list[CollectionError]]:
        targets: dict[str, VaultTarget] = {}
        errors: list[CollectionError] = []
        for subscription in self.subscriptions:
            found, error = self._subscription_vaults(subscription)
            if error is not None:
                errors.append(error)
            for target in found:
                targets[unit_key(target.url)] = target
        for url in self.vault_urls:
            targets.setdefault(unit_key(url), VaultTarget(url))  # a listed vault keeps its subscription
        units = [Unit(key=key, label=target.url, payload=target) for key, target in sorted(targets.items())]
        return units, errors

    def _subscription_vaults(self, subscription: str) -> tuple[list[VaultTarget], CollectionError | None]:
        from azure.core.exceptions import AzureError
        from azure.mgmt.keyvault import KeyVaultManagementClient

        try:
            client = KeyVaultManagementClient(self.credential(), subscription, **self._client_kwargs())
            with client:
                return [VaultTarget(vault.properties.vault_uri.rstrip("/").lower(), subscription, vault.location)
                        for vault in client.vaults.list_by_subscription()], None
        except AzureError as exc:
            return [], _error(exc, None, f"{SOURCE}/subscription/{subscription}", service="arm",
                              resource=f"/subscriptions/{subscription}", account=subscription)

    def collect(self, unit: Unit) -> UnitResult:
        from azure.core.exceptions import AzureError, ResourceNotFoundError
        from azure.keyvault.certificates import CertificateClient

        target: VaultTarget = unit.payload
        records: list[Certificate] = []
        errors: list[CollectionError] = []
        client = CertificateClient(target.url, self.credential(), **self._client_kwargs())
        with client:
            try:
                names = sorted({p.name for p in client.list_properties_of_certificates()})
            except AzureError as exc:
                names = []
                errors.append(_error(exc, target, unit.key))
            for name in names:
                try:
                    records.extend(self._versions(client, name, target, errors, unit.key))
                except ResourceNotFoundError as exc:  # deleted between list and get: this certificate only
                    errors.append(_error(exc, target, unit.key, resource=f"{target.url}/certificates/{name}"))
                except AzureError as exc:  # denied, throttled past retries, network: the vault stops here
                    errors.append(_error(exc, target, unit.key, resource=f"{target.url}/certificates/{name}"))
                    break
        coverage = Coverage(unit=unit.key, source=SOURCE, service=SERVICE, account=target.subscription,
                            region=target.location, vault=target.url, resource=target.url,
                            count=len(records), complete=not errors)
        return UnitResult(certificates=records, errors=errors, coverage=[coverage])

    @staticmethod
    def _versions(client: Any, name: str, target: VaultTarget, errors: list[CollectionError],
                  unit: str) -> list[Certificate]:
        current = client.get_certificate(name)  # the current version, with the certificate's policy
        policy = current.policy if current.policy is not None else client.get_certificate_policy(name)
        bundles = [(current, True)]
        for props in client.list_properties_of_certificate_versions(name):
            if props.version != current.properties.version:
                bundles.append((client.get_certificate_version(name, props.version), False))
        out = []
        for kv_cert, is_current in bundles:
            record, problem = certificate_record(kv_cert, policy, target, is_current)
            if problem:
                errors.append(CollectionError(source=SOURCE, code="InvalidCertificate", message=problem,
                                              account=target.subscription, region=target.location,
                                              service=SERVICE, resource=record.id, unit=unit))
            out.append(record)
        return out

    def finish(self, certificates: list[Certificate]) -> list[CollectionError]:
        self._identity = token_identity(self._credential) if self._credential is not None else {}
        if self._owns_credential and self._credential is not None:
            close = getattr(self._credential, "close", None)
            if close is not None:
                close()
        return []


    def identities(self) -> list[dict[str, Any]]:
        identity = getattr(self, "_identity", None)
        if not identity:  # not read yet, or the credential named no one
            return []
        return [{"source": "azure", "tenant_id": identity.get("tid"), "object_id": identity.get("oid"),
                 "app_id": identity.get("appid") or identity.get("azp")}]


_GUID = re.compile(r"[0-9a-fA-F-]{36}")


def token_identity(credential: Any) -> dict[str, str]:
    """Tenant and object id of the identity the credential stands for, read from the claims of
    an access token it issues (a token the SDK would fetch anyway; the credential caches it).
    Only the claims' GUIDs are kept; the token itself is never stored or shown. {} when the
    credential gives no JWT (some test doubles) or cannot issue one now."""
    try:
        token = credential.get_token(TOKEN_SCOPE).token
        if not isinstance(token, str) or len(token) > 32_768 or token.count(".") != 2:
            return {}
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except Exception:  # an identity we cannot name is left unnamed, never a failed scan
        return {}
    if not isinstance(claims, dict):
        return {}
    return {k: claims[k] for k in ("tid", "oid", "appid", "azp")
            if isinstance(claims.get(k), str) and _GUID.fullmatch(claims[k])}


def build(options: SourceOptions) -> list[KeyVaultCollector]:
    if not options.vault_urls and not options.subscriptions:
        raise InputError(Problem("--azure", "give --vault-url URL or --subscription ID (each repeatable)"))
    urls = list(dict.fromkeys(normalize_vault_url(url) for url in options.vault_urls))
    subscriptions = list(dict.fromkeys(s.strip() for s in options.subscriptions if s.strip()))
    return [KeyVaultCollector(urls, subscriptions, credential=options.seams.get("azure.credential"),
                              transport=options.seams.get("azure.transport"))]


SOURCE_SPEC = Source(
    key="azure", names=(SOURCE,), help="Collect from Azure Key Vault.", build=build,
    options=(
        Option("vault_urls", ("--vault-url",), "Key Vault URL (repeatable).", "list", config="vault_urls"),
        Option("subscriptions", ("--subscription",), "Azure subscription id: scan all its vaults (repeatable).",
               "list", config="subscriptions"),
    ),
    extra="azure", requires=("azure.keyvault.certificates", "azure.mgmt.keyvault"), units="vault",
    identities={"azure_subscriptions": "account", "regions": "region", "vault_urls": "vault"},
)
