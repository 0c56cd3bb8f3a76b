"""Scaling out over Azure Key Vault: one unit per vault. Sharded collections of the simulated
service, merged with ``certscan merge``, evaluate to what one unsharded collection does; and a
subscription listing that fails in one shard only is never lost in the merge."""

from __future__ import annotations

import json
from datetime import timedelta

from scanner.collect import SourceOptions
from scanner.collect.azure_keyvault import unit_key
from scanner.collect.runner import collect, in_shard
from scanner.inputs.inventory_file import save_inventory
from scanner.model import format_time
from sources_support import NOW, azure_seams, keyvault, make_cert  # noqa: F401
from tests.results_support import load_results

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
VAULTS = [f"https://kv{n}.vault.azure.net" for n in range(6)]
LOOSE = "https://loose.vault.azure.net"  # given by URL, in no listed subscription
AS_OF = format_time(NOW)


def estate(service) -> None:
    """Six vaults listed by the subscription and one given by URL: healthy certificates, an
    expiring one, a wildcard, an untagged one, a second version, and a vault that denies us."""
    service.add_subscription(SUBSCRIPTION, VAULTS)
    for n, url in enumerate([*VAULTS, LOOSE]):
        vault = service.vault(url)
        vault.add_certificate("web", make_cert(f"web{n}.example.test", days=365).cert, tags={"owner": f"team-{n}"})
        vault.add_certificate("web", make_cert(f"web{n}.example.test", days=400).cert, tags={"owner": f"team-{n}"})
    service.vault(VAULTS[1]).add_certificate("soon", make_cert("soon.example.test", days=10).cert,
                                             tags={"owner": "team-1"})
    service.vault(VAULTS[2]).add_certificate("wild", make_cert("*.w.example.test", days=200).cert,
                                             tags={"owner": "team-2"})
    service.vault(VAULTS[3]).add_certificate("nobody", make_cert("nobody.example.test", days=200).cert)
    service.fail(VAULTS[4], 403, "Forbidden", "The user does not have certificates list permission on vault kv4")


def collect_to(service, path, shard=None, subscription=SUBSCRIPTION):
    urls = [LOOSE] if subscription == SUBSCRIPTION else []
    options = SourceOptions(azure=True, subscriptions=[subscription], vault_urls=urls, shard=shard, quiet=True,
                            seams=azure_seams(service))
    save_inventory(collect(options, NOW), path)
    return path


def evaluate(cli, inventory, out):
    result = cli("scan", "--inventory", inventory, "--as-of", AS_OF, "--format", "json", "--output-dir", out)
    return result.code, load_results(out / "certscan-results.json")


def test_sharded_and_merged_vaults_equal_one_scan(keyvault, cli, tmp_path):
    estate(keyvault)
    whole = collect_to(keyvault, tmp_path / "whole.json")
    shards = [collect_to(keyvault, tmp_path / f"shard-{i}.json", (i, 3)) for i in (1, 2, 3)]
    assert cli("merge", *shards, "--output", tmp_path / "merged.json").code == 0

    code, expected = evaluate(cli, whole, tmp_path / "a")
    merged_code, got = evaluate(cli, tmp_path / "merged.json", tmp_path / "b")
    assert merged_code == code == 3  # the vault that denies us
    assert got["results"] == expected["results"] and got["errors"] == expected["errors"]
    assert got["coverage"] == expected["coverage"]
    units = sorted(unit_key(url) for url in [*VAULTS, LOOSE])
    assert sorted(c["unit"] for s in shards for c in json.loads(s.read_text())["coverage"]) == units
    assert {r["rule_id"] for r in got["results"] if r["status"] == "fail"} >= {"WILDCARD-001", "TAG-001"}
    assert got["errors"] and {e["unit"] for e in got["errors"]} == {unit_key(VAULTS[4])}  # the denying vault


def test_a_subscription_listing_failing_in_one_shard_is_not_lost(keyvault, cli, tmp_path):
    """Every shard lists the subscription; when the listing fails in one shard only (throttled,
    a network blip), that shard silently lacks its vaults unless it reports the error itself —
    whichever shard the error's own key would hash to."""
    subscription = "33333333-4444-5555-6666-777777777777"
    keyvault.add_subscription(subscription, VAULTS)
    first = [url for url in VAULTS if in_shard(unit_key(url), (1, 2))]
    assert first and len(first) < len(VAULTS), "both shards hold vaults of the subscription"
    assert not in_shard(f"azure.keyvault/subscription/{subscription}", (1, 2)), \
        "the listing error's key belongs to the other shard, where it did not happen"
    keyvault.fail(f"https://management.azure.com/subscriptions/{subscription}", 503, "ServiceUnavailable",
                  times=4)  # shard 1's listing, retries included; shard 2 lists fine
    shards = [collect_to(keyvault, tmp_path / f"shard-{i}.json", (i, 2), subscription) for i in (1, 2)]
    assert [len(json.loads(s.read_text())["coverage"]) for s in shards] == [0, len(VAULTS) - len(first)]
    assert cli("merge", *shards, "--output", tmp_path / "merged.json").code == 0

    merged = json.loads((tmp_path / "merged.json").read_text())
    assert [(e["code"], e["account"], e["service"]) for e in merged["errors"]] == [
        ("ServiceUnavailable", subscription, "arm")]
    code, results = evaluate(cli, tmp_path / "merged.json", tmp_path / "out")
    assert code == 3 and results["gate"]["exit_code"] == 3  # never green over vaults no shard saw
