"""The Azure identity in the evidence scope (issue 15.2): tenant and object id come from the
claims of the access token the credential issues; the token itself is never kept."""

from __future__ import annotations

import base64
import json

from azure.core.credentials import AccessToken

from scanner.collect.azure_keyvault import KeyVaultCollector, token_identity

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OBJECT = "0f3c1e6a-1b2c-4d5e-8f90-123456789abc"


def jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


class Credential:
    def __init__(self, token: str | Exception):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        if isinstance(self.token, Exception):
            raise self.token
        return AccessToken(self.token, 4102444800)


def test_tenant_and_object_id_from_the_token_claims_only():
    token = jwt({"tid": TENANT, "oid": OBJECT, "appid": "not-a-guid", "upn": "someone@example.com"})
    assert token_identity(Credential(token)) == {"tid": TENANT, "oid": OBJECT}
    collector = KeyVaultCollector([], [], credential=Credential(token))
    assert collector.identities() == []  # nothing read yet: no identity to claim
    collector.finish([])
    [identity] = collector.identities()
    assert identity == {"source": "azure", "tenant_id": TENANT, "object_id": OBJECT, "app_id": None}
    assert token not in json.dumps(identity) and "someone@example.com" not in json.dumps(identity)


def test_a_credential_that_gives_no_jwt_leaves_the_identity_unnamed():
    for token in ("opaque-token", "a.b.c", jwt({"tid": "<script>"}) , "x" * 100_000, RuntimeError("no login")):
        assert token_identity(Credential(token)) == {}
