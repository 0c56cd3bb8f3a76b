"""Azure Key Vault: the real CertificateClient and KeyVaultManagementClient over the simulated
service (401 challenge, bearer token, paging, retries, faults)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scanner.collect import SourceOptions
from scanner.collect.azure_keyvault import build, calendar_months
from scanner.collect.runner import collect
from scanner.inputs.problems import InputError
from scanner.simulate.azure_keyvault_fake import LifetimeAction, Policy
from sources_support import NOW, azure_seams, keyvault, make_cert  # noqa: F401

SHOP = "https://shop.vault.azure.net"
OPS = "https://ops.vault.azure.net"


def scan(service, vault_urls=(), subscriptions=()):
    options = SourceOptions(azure=True, vault_urls=list(vault_urls), subscriptions=list(subscriptions), quiet=True,
                            seams=azure_seams(service))
    return collect(options, NOW)


def current(inventory, name):
    return next(c for c in inventory.certificates if c.name == name and c.status == "CURRENT")


def one_year(name: str, **kwargs):
    return make_cert(name, not_before=NOW - timedelta(days=10), days=365, **kwargs).cert


def test_certificates_versions_and_policy_facts(keyvault):
    vault = keyvault.vault(SHOP)
    first_id = vault.add_certificate("web", one_year("web.example.test"), tags={"owner": "team-web"})
    second_id = vault.add_certificate(
        "web", one_year("web.example.test"), tags={"owner": "team-web", "env": "prod"},
        policy=Policy(issuer_name="DigiCert", validity_months=12,
                      lifetime_actions=[LifetimeAction("AutoRenew", days_before_expiry=30)]))
    vault.add_certificate("api", one_year("api.example.test", rsa_bits=2048),
                          policy=Policy(issuer_name="Self", validity_months=12,
                                        lifetime_actions=[LifetimeAction("AutoRenew", lifetime_percentage=80)]))
    vault.add_certificate("imported", one_year("legacy.example.test"), enabled=False)  # Key Vault's import default

    inventory = scan(keyvault, [SHOP])

    assert not inventory.errors
    ids = {c.id: c for c in inventory.certificates}
    assert set(ids) >= {first_id, second_id}  # one record per version, id = versioned Key Vault id
    web_now, web_before = ids[second_id], ids[first_id]
    assert (web_now.status, web_before.status) == ("CURRENT", "SUPERSEDED")
    assert web_now.version == second_id.rsplit("/", 1)[1] and web_now.name == "web"
    assert web_now.tags == {"owner": "team-web", "env": "prod"} and web_before.tags == {"owner": "team-web"}
    assert web_now.source == "azure.keyvault" and web_now.vault == SHOP and web_now.in_use is None
    assert web_now.account is None  # a vault given by URL: its subscription is not known
    assert (web_now.renewal_action, web_now.auto_renew, web_now.renew_days_before_expiry) == ("AutoRenew", True, 30)
    assert (web_now.issuer_name, web_now.validity_months) == ("DigiCert", 12)
    assert web_now.domain == "web.example.test" and web_now.key_algorithm == "EC"

    api = current(inventory, "api")
    assert api.renew_lifetime_percentage == 80
    assert api.renew_days_before_expiry == 365 * 20 // 100  # 80 % of a 365-day life leaves 73 days
    assert api.key_algorithm == "RSA" and api.key_size == 2048 and api.signature_algorithm

    imported = current(inventory, "imported")
    assert imported.enabled is False  # disabled certificates are visible
    assert (imported.issuer_name, imported.renewal_action, imported.auto_renew) == ("Unknown", "EmailContacts", False)
    assert imported.validity_months == 12  # no policy value: computed from the body's dates
    coverage = {c.unit: c for c in inventory.coverage}
    assert coverage[f"azure.keyvault/{SHOP}"].count == 4 and coverage[f"azure.keyvault/{SHOP}"].complete


def test_renewal_action_words(keyvault):
    vault = keyvault.vault(SHOP)
    vault.add_certificate("none", one_year("a.example.test"), policy=Policy(lifetime_actions=[]))
    vault.add_certificate("unknown-ca", one_year("b.example.test"),
                          policy=Policy(issuer_name="Unknown", lifetime_actions=[LifetimeAction("AutoRenew", days_before_expiry=45)]))
    vault.add_certificate("both", one_year("c.example.test"), policy=Policy(lifetime_actions=[
        LifetimeAction("EmailContacts", days_before_expiry=60), LifetimeAction("AutoRenew", lifetime_percentage=90)]))

    inventory = scan(keyvault, [SHOP])

    nothing = current(inventory, "none")
    assert (nothing.renewal_action, nothing.auto_renew, nothing.renew_days_before_expiry) == ("none", False, None)
    unknown = current(inventory, "unknown-ca")
    assert unknown.renewal_action == "AutoRenew" and unknown.auto_renew is False  # a non-partnered CA cannot renew
    both = current(inventory, "both")  # the AutoRenew trigger is the one that renews
    assert (both.renewal_action, both.renew_lifetime_percentage, both.renew_days_before_expiry) == ("AutoRenew", 90, 36)


def test_paging_and_the_challenge_handshake(keyvault):
    vault = keyvault.vault(SHOP)
    for n in range(5):
        vault.add_certificate(f"cert-{n}", one_year(f"c{n}.example.test"))
    for n in range(3):
        vault.add_certificate("rotated", one_year(f"r{n}.example.test"))

    inventory = scan(keyvault, [SHOP])

    assert {c.name for c in inventory.certificates} == {*(f"cert-{n}" for n in range(5)), "rotated"}
    assert sum(c.name == "rotated" for c in inventory.certificates) == 3
    assert keyvault.count("/certificates?") >= 3  # 6 names at 2 a page: the SDK followed nextLink
    assert keyvault.count("/certificates/rotated/versions") == 2  # 3 versions at 2 a page
    first_method, first_url = keyvault.requests[0]
    assert first_url.startswith(f"{SHOP}/certificates")


def test_throttling_is_retried_then_given_up(keyvault):
    keyvault.vault(SHOP).add_certificate("web", one_year("web.example.test"))
    keyvault.vault(OPS).add_certificate("ops", one_year("ops.example.test"))
    keyvault.fail(SHOP, 429, times=2)  # twice, then served
    keyvault.fail(OPS, 429)  # for ever

    inventory = scan(keyvault, [SHOP, OPS])

    assert [c.name for c in inventory.certificates] == ["web"]
    assert len(keyvault.sleeps) >= 2
    [error] = inventory.errors
    assert (error.code, error.resource, error.unit) == ("Throttled", OPS, f"azure.keyvault/{OPS}")
    assert error.service == "keyvault" and "429" in error.message
    coverage = {c.vault: c for c in inventory.coverage}
    assert coverage[SHOP].complete is True and coverage[OPS].complete is False


def test_denied_missing_and_unreachable_vaults_are_errors_for_that_vault(keyvault):
    keyvault.vault(SHOP).add_certificate("web", one_year("web.example.test"))
    keyvault.vault(SHOP).add_certificate("gone", one_year("gone.example.test"))
    denied = "https://denied.vault.azure.net"
    keyvault.vault(denied).add_certificate("secret", one_year("s.example.test"))
    keyvault.fail(denied, 403, message="Caller is not authorized to perform action on resource.")
    keyvault.fail(f"{SHOP}/certificates/gone/", 404, code="CertificateNotFound")  # deleted after it was listed
    unreachable = "https://unreachable.vault.azure.net"  # no such vault: the connection fails

    inventory = scan(keyvault, [SHOP, denied, unreachable])

    errors = {e.resource: e for e in inventory.errors}
    assert errors[denied].code == "Forbidden" and "not authorized" in errors[denied].message
    assert errors[f"{SHOP}/certificates/gone"].code == "CertificateNotFound"
    assert errors[unreachable].code == "ServiceRequestError"
    assert [c.name for c in inventory.certificates] == ["web"]  # the rest of the vault was read
    coverage = {c.vault: c for c in inventory.coverage}
    assert coverage[SHOP].count == 1 and coverage[SHOP].complete is False
    assert coverage[denied].count == 0 and coverage[unreachable].complete is False


def test_subscription_lists_its_vaults(keyvault):
    keyvault.add_subscription("11111111-2222-3333-4444-555555555555", [SHOP, OPS], location="northeurope")
    keyvault.vault(SHOP).add_certificate("web", one_year("web.example.test"))

    inventory = scan(keyvault, [SHOP], subscriptions=["11111111-2222-3333-4444-555555555555", "missing-sub"])

    web = current(inventory, "web")
    assert (web.account, web.region) == ("11111111-2222-3333-4444-555555555555", "northeurope")
    coverage = {c.vault: c for c in inventory.coverage}
    assert set(coverage) == {SHOP, OPS}  # a vault given twice is one unit; an empty vault is covered, count 0
    assert coverage[OPS].count == 0 and coverage[OPS].complete
    [error] = inventory.errors
    assert (error.code, error.account, error.service) == ("SubscriptionNotFound", "missing-sub", "arm")


def test_the_credential_is_used_for_both_apis(keyvault):
    keyvault.add_subscription("sub-a", [SHOP])
    keyvault.vault(SHOP).add_certificate("web", one_year("web.example.test"))
    seams = azure_seams(keyvault)
    collect(SourceOptions(azure=True, subscriptions=["sub-a"], quiet=True, seams=seams), NOW)
    scopes = {scope for asked in seams["azure.credential"].scopes for scope in asked}
    assert "https://vault.azure.net/.default" in scopes
    assert any(scope.startswith("https://management") for scope in scopes)


def test_bad_azure_input():
    with pytest.raises(InputError, match="--vault-url"):
        build(SourceOptions(azure=True, vault_urls=["http://shop.vault.azure.net"]))
    with pytest.raises(InputError, match="--azure"):
        build(SourceOptions(azure=True))


def test_calendar_months():
    start = NOW.replace(year=2025, month=1, day=15)
    assert calendar_months(start, start.replace(year=2026)) == 12
    assert calendar_months(start, start.replace(year=2026) + timedelta(hours=20)) == 12  # a day of slack
    assert calendar_months(start, start.replace(year=2026) + timedelta(days=7)) == 13
    assert calendar_months(start, start + timedelta(days=397)) == 13
    assert calendar_months(NOW.replace(year=2025, month=1, day=31), NOW.replace(year=2025, month=2, day=28)) == 1
