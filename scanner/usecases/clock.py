"""The wall clock, read only at the edges: when a scan starts and ends (the default as_of,
collected_at, the evidence manifest's times, a report's "generated" time). Evaluation never
reads it. SOURCE_DATE_EPOCH (the reproducible-builds convention) pins it, which is how the
checked-in sample outputs regenerate byte for byte."""

from __future__ import annotations

import os
from datetime import datetime, timezone


def now() -> datetime:
    pinned = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if pinned.isdigit():
        return datetime.fromtimestamp(int(pinned), timezone.utc)
    return datetime.now(timezone.utc)
