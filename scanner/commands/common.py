"""Options shared by several commands, and their parsing."""

from __future__ import annotations

import functools
import inspect
from datetime import datetime
from typing import Annotated, Any, Optional

import typer

from scanner.collect import Option, SourceOptions, registry
from scanner.model import NaiveDatetimeError, parse_time
from scanner.inputs.problems import InputError, Problem

_PANEL = "Sources"


def _annotation(option: Option) -> Any:
    extra = {"metavar": option.metavar} if option.metavar else {}
    typ = {"switch": bool, "text": Optional[str], "csv": Optional[str], "list": Optional[list[str]]}[option.kind]
    text = f"{option.help} [default: {option.default}]" if option.default and option.kind == "text" else option.help
    return Annotated[typ, typer.Option(*option.flags, help=text, rich_help_panel=_PANEL, **extra)]


def _source_params() -> dict[str, tuple[Any, Any]]:
    """name -> (annotation, default). Each becomes a keyword option of every command decorated
    with @with_sources, and is gathered into one SourceOptions: the shared ones, and each
    registered source's own (a default is applied after the configuration file is read, so
    an option left out on the command line does not hide the file's value)."""
    params: dict[str, tuple[Any, Any]] = {
        "inventory": (Annotated[Optional[str], typer.Option("--inventory", help="A saved inventory JSON (offline).", rich_help_panel=_PANEL)], None),
    }
    for source in registry.sources():
        for option in source.all_options:
            params[option.param] = (_annotation(option), False if option.kind == "switch" else None)
    params.update({
        "shard": (Annotated[Optional[str], typer.Option("--shard", help="I/N: collect the I-th of N stable partitions of the units.", rich_help_panel=_PANEL)], None),
        "concurrency": (Annotated[int, typer.Option("--concurrency", min=1, max=256, help="Units collected at once.", rich_help_panel=_PANEL)], 8),
        "quiet": (Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.", rich_help_panel=_PANEL)], False),
    })
    return params


SOURCE_PARAMS = _source_params()


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


# --as-of leaves room for the date arithmetic a scan does (days within +-100 years, see the
# rule pack schema), so no later step can overflow datetime's years 1..9999.
AS_OF_YEARS = (101, 9899)


def parse_as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = parse_time(text)
    except NaiveDatetimeError:
        raise InputError(Problem("--as-of", f"{text!r} has no time zone: add 'Z' or an offset such as +02:00, "
                                            "or give a date (midnight UTC)")) from None
    except ValueError:
        raise InputError(Problem("--as-of", f"{text!r} is not an ISO 8601 date or timestamp "
                                            "(e.g. 2026-06-01 or 2026-06-01T00:00:00Z) within the years "
                                            f"{AS_OF_YEARS[0]} to {AS_OF_YEARS[1]} in UTC")) from None
    if not AS_OF_YEARS[0] <= moment.year <= AS_OF_YEARS[1]:
        raise InputError(Problem("--as-of", f"{text!r} is outside the years {AS_OF_YEARS[0]} to {AS_OF_YEARS[1]} "
                                            "(a scan adds and subtracts up to 100 years of days)"))
    return moment


def split_list(values: list[str] | None) -> list[str]:
    """Repeated options and comma lists alike: --format sarif,junit --format json."""
    out: list[str] = []
    for value in values or []:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def _given(value: Any) -> bool:
    return value is not None and value is not False and value != []


def build_sources(config: dict[str, Any] | None = None, **raw: Any) -> SourceOptions:
    """The command line's SOURCES options over the configuration file's, over the defaults."""
    config = config or {}
    values: dict[str, Any] = {}
    for source in registry.sources():
        part = (config.get(source.key) or {}) if source.section else config
        for option in source.all_options:
            value = raw.get(option.param)
            if option.kind == "csv" and _given(value):
                value = split_list([value])
            elif option.kind == "list" and _given(value):
                value = list(value)
            if not _given(value) and option.config and option.config in part:
                value = part[option.config]
                value = list(value) if option.kind in ("list", "csv") else value
            if option.field == source.key and source.switch and source.section and part:
                value = value or True  # a section in the file selects its source
            if _given(value):
                values[option.field] = value
    return SourceOptions(
        inventory=raw.get("inventory"),
        shard=parse_shard(raw.get("shard")),
        concurrency=raw.get("concurrency") or config.get("concurrency", 8),
        quiet=bool(raw.get("quiet")),
        **values,
    )


def sources_phrase() -> str:
    """The options that name something to scan, for messages: '--inventory, --aws, ...'."""
    return ", ".join(["--inventory", *(source.flag for source in registry.sources())])


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
