"""Zip a folder reproducibly for AWS Lambda (``make lambda-package``): entries sorted, every
timestamp fixed, permissions normalized, no __pycache__, so the same inputs give the same bytes.

    python deploy/lambda_zip.py SOURCE_DIR OUTPUT_ZIP
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


def build(source: Path, output: Path) -> None:
    files = sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            entry = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
            archive.writestr(entry, path.read_bytes())


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]))
