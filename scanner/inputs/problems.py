"""Bad input, reported all at once: each problem names the file, the line or JSON path,
the rule id where there is one, and what was expected. The CLI turns these into exit 2."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str | None
    message: str
    line: int | None = None
    path: str | None = None  # JSON path, e.g. rules[3].assert.op
    rule_id: str | None = None

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        parts = [where]
        if self.rule_id:
            parts.append(f"rule {self.rule_id}")
        if self.path:
            parts.append(self.path)
        return ": ".join(parts) + f": {self.message}"


class InputError(Exception):
    """One or more problems with user input (files, options). Exit code 2."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def json_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"
