"""Options shared by several commands, and their parsing."""

from __future__ import annotations

import functools
import inspect
from datetime import datetime
from typing import Annotated, Any, Optional

import typer

from scanner.collect import SourceOptions
from scanner.model import NaiveDatetimeError, parse_time
from scanner.problems import InputError, Problem

_PANEL = "Sources"

# name -> (annotation, default). Each becomes a keyword option of every command decorated
# with @with_sources, and is gathered into one SourceOptions.
SOURCE_PARAMS: dict[str, tuple[Any, Any]] = {
    "inventory": (Annotated[Optional[str], typer.Option("--inventory", help="A saved inventory JSON (offline).", rich_help_panel=_PANEL)], None),
    "aws": (Annotated[bool, typer.Option("--aws", help="Collect from AWS (ACM, IAM, Route 53).", rich_help_panel=_PANEL)], False),
    "profile": (Annotated[Optional[str], typer.Option("--profile", help="AWS profile for a single-account scan.", rich_help_panel=_PANEL)], None),
    "regions": (Annotated[Optional[str], typer.Option("--regions", help="r1,r2 or 'all' (enabled regions).", rich_help_panel=_PANEL)], None),
    "all_accounts": (Annotated[bool, typer.Option("--all-accounts", help="Every ACTIVE account of the Organization.", rich_help_panel=_PANEL)], False),
    "management_profile": (Annotated[Optional[str], typer.Option("--management-profile", "--ops-profile", help="Profile that can list the Organization's accounts.", rich_help_panel=_PANEL)], None),
    "role_name": (Annotated[str, typer.Option("--role-name", help="Role assumed in each member account.", rich_help_panel=_PANEL)], "OrganizationAccountAccessRole"),
    "dns_resolver": (Annotated[Optional[str], typer.Option("--dns-resolver", help="IP[:PORT] of the DNS resolver for validation records outside Route 53.", rich_help_panel=_PANEL)], None),
    "azure": (Annotated[bool, typer.Option("--azure", help="Collect from Azure Key Vault.", rich_help_panel=_PANEL)], False),
    "vault_url": (Annotated[Optional[list[str]], typer.Option("--vault-url", help="Key Vault URL (repeatable).", rich_help_panel=_PANEL)], None),
    "subscription": (Annotated[Optional[list[str]], typer.Option("--subscription", help="Azure subscription id: scan all its vaults (repeatable).", rich_help_panel=_PANEL)], None),
    "path": (Annotated[Optional[list[str]], typer.Option("--path", help="Certificate file or folder (repeatable; PEM, DER, PKCS#12).", rich_help_panel=_PANEL)], None),
    "pkcs12_password_env": (Annotated[Optional[str], typer.Option("--pkcs12-password-env", help="Environment variable holding the PKCS#12 password.", rich_help_panel=_PANEL)], None),
    "endpoint": (Annotated[Optional[list[str]], typer.Option("--endpoint", help="Live TLS endpoint HOST:PORT (repeatable).", rich_help_panel=_PANEL)], None),
    "endpoints_file": (Annotated[Optional[str], typer.Option("--endpoints-file", help="File with one HOST:PORT per line.", rich_help_panel=_PANEL)], None),
    "shard": (Annotated[Optional[str], typer.Option("--shard", help="I/N: collect the I-th of N stable partitions of the units.", rich_help_panel=_PANEL)], None),
    "concurrency": (Annotated[int, typer.Option("--concurrency", min=1, max=256, help="Units collected at once.", rich_help_panel=_PANEL)], 8),
    "quiet": (Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.", rich_help_panel=_PANEL)], False),
}


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise InputError(Problem("--shard", f"{text!r}: expected I/N, e.g. 2/4")) from None
    if not (count >= 1 and 1 <= index <= count):
        raise InputError(Problem("--shard", f"{text!r}: I must be between 1 and N"))
    return index, count


def parse_as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except NaiveDatetimeError:
        raise InputError(Problem("--as-of", f"{text!r} has no time zone: add 'Z' or an offset such as +02:00, "
                                            "or give a date (midnight UTC)")) from None
    except ValueError:
        raise InputError(Problem("--as-of", f"{text!r} is not a date like 2026-06-01 or an ISO 8601 "
                                            "timestamp with a zone like 2026-06-01T00:00:00Z")) from None


def split_list(values: list[str] | None) -> list[str]:
    """Repeated options and comma lists alike: --format sarif,junit --format json."""
    out: list[str] = []
    for value in values or []:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def build_sources(config: dict[str, Any] | None = None, **raw: Any) -> SourceOptions:
    config = config or {}
    if raw.get("inventory"):
        if raw.get("shard"):
            raise InputError(Problem("--shard", "partitions the units a live collection reads; a saved "
                                                "--inventory is evaluated whole (merge shards with certscan merge)"))
        # The command line wins: --inventory replaces the config file's live sources.
        config = {key: value for key, value in config.items()
                  if key not in ("aws", "azure", "paths", "endpoints", "pkcs12_password_env")}
    aws_cfg = config.get("aws") or {}
    azure_cfg = config.get("azure") or {}
    regions = split_list([raw["regions"]] if raw.get("regions") else aws_cfg.get("regions"))
    return SourceOptions(
        inventory=raw.get("inventory"),
        aws=raw.get("aws") or bool(aws_cfg),
        profile=raw.get("profile") or aws_cfg.get("profile"),
        regions=regions,
        all_accounts=raw.get("all_accounts") or aws_cfg.get("all_accounts", False),
        management_profile=raw.get("management_profile") or aws_cfg.get("management_profile"),
        role_name=(raw.get("role_name") if raw.get("role_name") != "OrganizationAccountAccessRole" else None)
        or aws_cfg.get("role_name", "OrganizationAccountAccessRole"),
        dns_resolver=raw.get("dns_resolver") or aws_cfg.get("dns_resolver"),
        azure=raw.get("azure") or bool(azure_cfg),
        vault_urls=list(raw.get("vault_url") or azure_cfg.get("vault_urls") or []),
        subscriptions=list(raw.get("subscription") or azure_cfg.get("subscriptions") or []),
        paths=list(raw.get("path") or config.get("paths") or []),
        pkcs12_password_env=raw.get("pkcs12_password_env") or config.get("pkcs12_password_env"),
        endpoints=list(raw.get("endpoint") or config.get("endpoints") or []),
        endpoints_file=raw.get("endpoints_file"),
        shard=parse_shard(raw.get("shard")),
        concurrency=raw.get("concurrency") or config.get("concurrency", 8),
        quiet=bool(raw.get("quiet")),
    )


def with_sources(func):
    """Adds the SOURCES options to a command; the command receives them as ``source_args``
    (a dict) so it can combine them with a config file through ``build_sources``."""
    signature = inspect.signature(func)
    own = [p for p in signature.parameters.values() if p.name != "source_args"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
             for name, (annotation, default) in SOURCE_PARAMS.items()]

    @functools.wraps(func)
    def wrapper(**kwargs: Any):
        source_args = {name: kwargs.pop(name) for name in SOURCE_PARAMS}
        return func(source_args=source_args, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *added])
    annotations = dict(getattr(func, "__annotations__", {}))
    annotations.pop("source_args", None)
    annotations.update({name: annotation for name, (annotation, _) in SOURCE_PARAMS.items()})
    wrapper.__annotations__ = annotations
    del wrapper.__wrapped__  # typer must read the merged signature, not the original
    return wrapper
