"""The source registry is the one list of sources: the schemas, the command line, the
evidence identities and the messages agree with it, and no schema lists a source by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from scanner.inputs import resources
from scanner.collect import SourceOptions, registry
from scanner.inputs.schema_check import check

ROOT = Path(__file__).resolve().parent.parent
CERTSCAN = Path(sys.executable).parent / "certscan"
HAND_WRITTEN = ("inventory.schema.json", "rulepack.schema.json", "config.schema.json", "evidence-manifest.schema.json")


def test_sources_schema_file_is_what_the_registry_generates():
    on_disk = (ROOT / "schemas" / registry.SOURCES_SCHEMA).read_text(encoding="utf-8")
    assert on_disk == registry.render_sources_schema(), "run: python -m scanner.collect.registry"


def test_schemas_source_lists_agree_with_the_registry():
    names = list(registry.record_sources())
    assert {"aws.acm", "aws.iam", "azure.keyvault", "file", "tls"} <= set(names)

    inventory = resources.schema("inventory.schema.json")
    cert = inventory["properties"]["certificates"]["items"]["properties"]
    assert cert["source"]["enum"] == names

    rule = resources.schema("rulepack.schema.json")["$defs"]["rule"]["properties"]
    single, many = rule["resource"]["anyOf"]
    assert single["enum"] == [*names, "*"] and many["items"]["enum"] == [*names, "*"]

    config = resources.schema("config.schema.json")
    assert config["additionalProperties"] is False
    for source in registry.sources():
        keys = [o.config for o in source.options if o.config]
        if source.section:
            assert sorted(config["properties"][source.key]["properties"]) == sorted(keys)
        else:
            assert set(keys) <= set(config["properties"])

    manifest = resources.schema("evidence-manifest.schema.json")["properties"]["sources"]
    assert manifest["required"] == ["sources", *registry.identity_keys(), "units"]


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_no_hand_written_schema_lists_sources():
    """Their source lists come from sources.schema.json by $ref, never an enum of their own."""
    names = set(registry.record_sources())
    keys = set(registry.identity_keys())
    for name in HAND_WRITTEN:
        raw = json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))
        for node in _walk(raw):
            assert not names & set(node.get("enum") or []), f"{name} lists sources by hand: {node}"
            assert not keys & set(node.get("required") or []), f"{name} lists identities by hand: {node}"
            assert not keys & set(node.get("properties") or {}), f"{name} lists identities by hand: {node}"
        if name == "config.schema.json":  # each source's configuration fragment is the registry's
            fragments = {s.key for s in registry.sources()} | {o.config for s in registry.sources()
                                                               for o in s.options if o.config and not s.section}
            assert not fragments & set(raw["properties"]), name
        assert registry.SOURCES_SCHEMA in json.dumps(raw), f"{name} does not take its sources from the registry"


def test_config_file_checked_against_each_sources_fragment(tmp_path):
    good = {"apiVersion": "certscan/v1", "kind": "Config", "aws": {"regions": ["eu-west-1"]}, "paths": ["certs"]}
    assert check(good, "config.schema.json", "c.yaml") == []
    bad = {**good, "azure": {"vault_url": "x"}, "gcp": {}}
    messages = [str(p) for p in check(bad, "config.schema.json", "c.yaml")]
    assert any("gcp" in m for m in messages) and any("vault_url" in m for m in messages)


def test_every_install_extra_is_declared_in_pyproject():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for source in registry.sources():
        if source.extra:
            assert source.extra in extras
            assert source.extra in extras["dev"][0]  # certscan[...] pulled by dev: the tests use every SDK


def test_source_options_take_only_declared_fields():
    options = SourceOptions(aws=True, regions=["eu-west-1"])
    assert options.aws and options.regions == ["eu-west-1"] and options.role_name == "OrganizationAccountAccessRole"
    assert options.live and not SourceOptions().live
    with pytest.raises(TypeError, match="no source declares gcp"):
        SourceOptions(gcp=True)


def test_identities_from_coverage_follow_each_sources_declaration():
    coverage = [{"unit": "aws.acm/1/eu-west-1", "source": "aws.acm", "account": "1", "region": "eu-west-1"},
                {"unit": "file//a.pem", "source": "file", "resource": "/a.pem"},
                {"unit": "tls/h:443", "source": "tls", "resource": "h:443"}]
    found = registry.identities(coverage)
    assert found["aws_accounts"] == ["1"] and found["regions"] == ["eu-west-1"]
    assert found["paths"] == ["/a.pem"] and found["endpoints"] == ["h:443"]
    assert found["azure_subscriptions"] == [] and found["vault_urls"] == []


def _certscan(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([str(CERTSCAN), *args], capture_output=True, text=True, env=env, timeout=120)


def test_every_declared_option_is_on_the_commands_and_named_in_messages(tmp_path):
    for command in ("scan", "inventory", "triage", "report"):
        shown = _certscan(command, "--help").stdout
        for source in registry.sources():
            for option in source.all_options:
                assert option.flags[0] in shown, (command, option.flags[0])
    nothing = _certscan("scan", "--output-dir", str(tmp_path))
    assert nothing.returncode == 2
    for source in registry.sources():
        assert source.flag in nothing.stderr


def test_registry_prints_the_extras_the_action_installs():
    out = subprocess.run([sys.executable, "-m", "scanner.collect.registry", "--extras"], capture_output=True,
                         text=True, check=True, timeout=60).stdout.strip()
    assert out.split(",") == list(dict.fromkeys(s.extra for s in registry.sources() if s.extra))
    assert "scanner.collect.registry --extras" in (ROOT / "action.yml").read_text()
    assert json.loads((ROOT / "schemas" / registry.SOURCES_SCHEMA).read_text())["$defs"]["source"]["enum"]
