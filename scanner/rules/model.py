"""Compiled rules and rule packs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scanner.rules.conditions import Condition
from scanner.rules.template import Template


@dataclass(frozen=True)
class ControlRef:
    """One rule -> control mapping and its basis: 'stated' by a named public source, or our
    'judgment'. The control's title is resolved from its framework catalog when the pack loads,
    so reports carry it and never read a catalog."""

    framework: str
    id: str
    basis: str
    source: str | None = None
    title: str = ""


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    path: str  # as given on the command line (or the shipped file)
    display_path: str  # repository-relative path for SARIF locations
    sha256: str
    builtin: bool


@dataclass
class Rule:
    id: str
    title: str
    description: str
    severity: str
    resources: frozenset[str] | None  # None: every source
    defaults: dict[str, Any]
    params: dict[str, Any]  # defaults with overrides applied
    applies: Condition | None  # each takes a list of certificate records: see rules.conditions
    check: Condition
    inconclusive: tuple[Condition, Template] | None
    escalate: list[tuple[Condition, str]]
    message: Template
    pass_message: Template
    remediation: str
    help_uri: str | None
    tags: list[str]
    controls: dict[str, list[ControlRef]]
    pack: PackInfo
    line: int
    control_ids: dict[str, list[str]] = field(default_factory=dict)  # shared by every result

    def to_dict(self) -> dict[str, Any]:
        """The rule as tools see it (`rules show --json`)."""
        return {
            "id": self.id, "title": self.title, "description": self.description,
            "severity": self.severity,
            "resource": sorted(self.resources) if self.resources else ["*"],
            "params": {name: {"default": self.defaults[name], "value": self.params[name]}
                       for name in sorted(self.defaults)},
            "controls": {fw: [{"id": r.id, "basis": r.basis, **({"source": r.source} if r.source else {}),
                               **({"title": r.title} if r.title else {})}
                              for r in refs] for fw, refs in sorted(self.controls.items())},
            "remediation": self.remediation, "help_uri": self.help_uri, "tags": self.tags,
            "pack": {"name": self.pack.name, "version": self.pack.version, "file": self.pack.display_path,
                     "line": self.line},
        }
