"""Waivers: time-boxed, approved exceptions. A waived result stays in every output, marked
waived with its justification. A waiver past its expiry stops waiving, and the results it
would have covered say so; every waiver's state is reported (active, expired, unused).
Pure: the waivers file is read by scanner.packs.waivers."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scanner.model import Result, Waiver, format_time

WAIVABLE = frozenset({"fail", "error"})


@dataclass
class WaiverState:
    waiver: Waiver
    state: str  # active | expired | unused
    matched: int = 0

    def to_dict(self) -> dict[str, Any]:
        w = self.waiver
        return {"id": w.id, "rule": w.rule, "resource": w.resource, "justification": w.justification,
                "approved_by": w.approved_by, "expires": format_time(w.expires), "state": self.state,
                "matched": self.matched}


def _matches(pattern: str, value: str) -> bool:
    return pattern == value or fnmatch.fnmatchcase(value, pattern)


def apply_waivers(results: list[Result], waivers: list[Waiver], as_of: datetime) -> tuple[list[Result], list[WaiverState]]:
    """Results with waivers applied (same order), and each waiver's state at as_of."""
    states = [WaiverState(w, "expired" if w.expires <= as_of else "active") for w in waivers]
    if not waivers:
        return results, states
    out = []
    for result in results:
        if result.status not in WAIVABLE:
            out.append(result)
            continue
        hit = None
        for state in states:
            w = state.waiver
            if _matches(w.rule, result.rule_id) and _matches(w.resource, result.resource_id):
                state.matched += 1
                if state.state == "active" and hit is None:
                    hit = state
                elif state.state == "expired" and hit is None and result.waiver is None:
                    result = result._replace(waiver={"id": w.id, "expired": format_time(w.expires),
                                                     "justification": w.justification, "approved_by": w.approved_by,
                                                     "note": "waiver expired; no longer waives this result"})
        if hit is not None:
            w = hit.waiver
            result = result._replace(status="waived", waiver={
                "id": w.id, "justification": w.justification, "approved_by": w.approved_by,
                "expires": format_time(w.expires), "original_status": result.status})
        out.append(result)
    for state in states:
        if state.state == "active" and state.matched == 0:
            state.state = "unused"
    return out, states
