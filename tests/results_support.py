"""Saved results files as tests read them: through scanner.report.results_json.read (the one
reader), each result whole (rule_id, resource_id, status, severity, message, controls,
fingerprint, context, waiver) as Result.to_dict() gives it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scanner.report.results_json import read


def load_results(path: str | Path) -> dict[str, Any]:
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    document["results"] = [result.to_dict() for result in read(path).results]
    return document
