"""Atomic writes: a temporary file in the same folder, then a rename, so a crash never
leaves half a SARIF for an upload step to pick up.

JSON is written with orjson (C): sorted keys, two-space indent, a trailing newline, UTF-8.
Large documents are streamed: a value may be a ``JsonArray``/``JsonObject`` of chunks,
serialized one chunk at a time into the temporary file, so a million results never exist
as dicts all at once. The bytes are the same as serializing the whole document in one go.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import orjson

JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_with(path: str | Path, fill: Callable[[IO[bytes]], None]) -> Path:
    """Write a file through ``fill(handle)`` into a temporary file, then rename it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
        # mkstemp makes the file 0600; a report is an ordinary file (an upload step in
        # another container must be able to read it), so give it the usual umask mode.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    return write_with(path, lambda handle: handle.write(data))


def utf8(text: str) -> bytes:
    """UTF-8 that cannot fail: a lone surrogate (a name that was not UTF-8 and escaped
    nowhere earlier) is written as a visible backslash escape instead of aborting the output."""
    return text.encode("utf-8", "backslashreplace")


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, utf8(text))


class JsonArray:
    """A JSON array given as chunks (lists), serialized one chunk at a time."""

    def __init__(self, chunks: Iterable[list]):
        self.chunks = chunks


class JsonObject:
    """A JSON object given as chunks (dicts) whose keys are already in sorted order across
    chunks (the caller's promise), serialized one chunk at a time."""

    def __init__(self, chunks: Iterable[dict]):
        self.chunks = chunks


def _is_streamed(value: Any) -> bool:
    return isinstance(value, (JsonArray, JsonObject))


def _encode(value: Any, handle: IO[bytes], depth: int) -> None:
    """Write ``value`` as it would appear at ``depth`` in an indented document."""
    pad = b"\n" + b"  " * depth
    if isinstance(value, dict) and any(_is_streamed(v) for v in value.values()):
        if not value:
            handle.write(b"{}")
            return
        handle.write(b"{")
        first = True
        for key in sorted(value):
            handle.write((b"" if first else b",") + pad + b"  " + orjson.dumps(key) + b": ")
            _encode(value[key], handle, depth + 1)
            first = False
        handle.write(pad + b"}")
    elif _is_streamed(value):
        opening, closing = (b"[", b"]") if isinstance(value, JsonArray) else (b"{", b"}")
        wrote = False
        for chunk in value.chunks:
            if not chunk:
                continue
            # "[\n  item,\n  item\n]" -> the items, then indented to this depth
            inner = orjson.dumps(chunk, option=JSON_OPTIONS)[2:-2]
            if depth:
                inner = inner.replace(b"\n", pad)
            handle.write((b"," if wrote else opening) + pad + inner)
            wrote = True
        handle.write(pad + closing if wrote else opening + closing)
    else:
        data = orjson.dumps(value, option=JSON_OPTIONS)
        handle.write(data.replace(b"\n", pad) if depth and b"\n" in data else data)


def dump_json(data: Any, handle: IO[bytes]) -> None:
    """Deterministic JSON (sorted keys, two-space indent, trailing newline) into a file."""
    _encode(data, handle, 0)
    handle.write(b"\n")


def dumps_json_bytes(data: Any) -> bytes:
    """The bytes dump_json writes, for a document held in memory."""
    if isinstance(data, dict) and any(_is_streamed(v) for v in data.values()) or _is_streamed(data):
        from io import BytesIO
        buffer = BytesIO()
        dump_json(data, buffer)
        return buffer.getvalue()
    return orjson.dumps(data, option=JSON_OPTIONS) + b"\n"


def dumps_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline. orjson refuses
    lone surrogates, and inputs refuse NaN and infinities (scanner.inputs), so none reach here."""
    return dumps_json_bytes(data).decode("utf-8")


def write_json(path: str | Path, data: Any) -> Path:
    return write_with(path, lambda handle: dump_json(data, handle))
