"""What a scan had in scope and who looked: the "Scope" of the human reports and the evidence
manifest, computed once from a ScanReport.

Accounts (with their Organization), regions, subscriptions, vaults, paths and endpoints come
from the coverage (every unit reached, count 0 included); the identities from the inventory's
metadata (the STS caller or assumed-role ARN per AWS account, the Azure tenant and object id),
which the collectors record; rule packs with version and sha256, parameters, as_of, start and
end, and the coverage gaps from the report. Nothing secret is here: ARNs and GUIDs only.
"""

from __future__ import annotations

from typing import Any

from scanner.model import format_time
from scanner.report import ScanReport


def _values(report: ScanReport, key: str, prefix: str = "") -> list[str]:
    return sorted({str(c[key]) for c in report.coverage
                   if c.get(key) and str(c.get("source") or "").startswith(prefix)})


def identities(report: ScanReport) -> list[dict[str, Any]]:
    """Who read what: from the inventory's metadata, else what a saved inventory carried."""
    metadata = report.inventory.metadata if report.inventory is not None else {}
    found = metadata.get("identities") or report.sources.get("identities") or []
    return [dict(item) for item in found if isinstance(item, dict)]


def unread(report: ScanReport) -> list[str]:
    """Coverage gaps: collection errors and incomplete units, one line each."""
    gaps = []
    errored = {e.get("unit") for e in report.errors if e.get("unit")}
    for error in report.errors:
        where = " ".join(str(error[k]) for k in ("source", "account", "region", "resource") if error.get(k))
        gaps.append(f"{where}: {error.get('code')}: {error.get('message')}")
    gaps += [f"unit {c.get('unit')} incomplete" for c in report.coverage
             if not c.get("complete", True) and c.get("unit") not in errored]
    return gaps


def parameters(report: ScanReport) -> list[dict[str, Any]]:
    """Every rule parameter with the value used and its default."""
    return [{"rule": rule["id"], "name": name, "value": p.get("value"), "default": p.get("default"),
             "overridden": p.get("value") != p.get("default")}
            for rule in report.rules for name, p in sorted((rule.get("params") or {}).items())]


def build_scope(report: ScanReport) -> dict[str, Any]:
    people = identities(report)
    principal = {i["account"]: i for i in people if i.get("source") == "aws" and i.get("account")}
    aws_accounts = _values(report, "account", "aws.")
    organizations = sorted({i["organization_id"] for i in people if i.get("organization_id")})
    return {
        "as_of": format_time(report.as_of),
        "started_at": format_time(report.started_at) if report.started_at else None,
        "finished_at": format_time(report.finished_at) if report.finished_at else None,
        "sources": sorted({str(c["source"]) for c in report.coverage if c.get("source")}),
        "units": len(report.coverage),
        "aws_organizations": organizations,
        "aws_accounts": [{"account": a, "organization_id": principal.get(a, {}).get("organization_id"),
                          "identity": principal.get(a, {}).get("arn")} for a in aws_accounts],
        "regions": _values(report, "region", "aws."),
        "azure_subscriptions": _values(report, "account", "azure."),
        "vaults": _values(report, "vault"),
        "paths": _values(report, "resource", "file"),
        "endpoints": _values(report, "resource", "tls"),
        "identities": people,
        "rule_packs": [{"name": p.get("name"), "version": p.get("version"), "sha256": p.get("sha256"),
                        "path": p.get("display_path") or p.get("path"), "builtin": bool(p.get("builtin"))}
                       for p in report.packs],
        "parameters": parameters(report),
        "frameworks": list(report.frameworks) or "all",
        "gaps": unread(report),
    }
