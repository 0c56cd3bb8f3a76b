"""Where outside text becomes output text: one function per kind of output.

Certificate fields, file names, tags, provider error messages and waiver text come from
people certscan does not trust. Before any of it reaches a terminal or a report it passes
through one of these functions:

- ``visible``   control characters (C0, DEL, C1, ESC, BEL), Unicode bidi overrides and
                surrogate escapes of undecodable bytes become visible ``\\xNN`` / ``\\uNNNN``
                text; printable Unicode is kept. The base of every other escaper.
- ``console``   ``visible`` plus Rich markup escaped, for ``Console.print`` and table cells.
- ``markdown``  ``visible``, HTML-escaped and markdown punctuation backslash-escaped, one line
                (the one markdown escaper: reports, job summary, SARIF help).
- ``html``      ``visible`` plus HTML-escaped (quotes too).
- ``csv_cell``  ``visible`` plus a leading ``= + - @`` (or tab/CR) neutralized, so a
                spreadsheet does not run a formula.
"""

from __future__ import annotations

import html as _html
import re

from rich.markup import escape as _rich_escape

# C0 controls, DEL, C1 controls; bidi embeddings/overrides/isolates (Trojan Source); lone
# surrogates (what os.fsdecode gives for bytes that are not UTF-8).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a surrogate-escaped byte: show the byte itself
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object) -> str:
    """Text with every control character, bidi override and undecodable byte made visible."""
    text = "" if value is None else str(value)
    return _UNSAFE.sub(_show, text)


def console(value: object) -> str:
    """Safe for Rich: no markup, no links, no escape sequences reach the terminal."""
    return _rich_escape(visible(value))


# What can start markup inside a line: emphasis, code, links and images, table cells,
# strikethrough, and the backslash itself. "<" and "&" are HTML-escaped instead.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# What can start a block when the text begins a line or a list item: a heading, a quote,
# a list item, a setext underline.
_MARKDOWN_BLOCK_START = re.compile(r"^(\d*)(#(?=#{0,5}(\s|$))|>|[-+=](?=\s)|(?<=\d)[.)](?=\s|$))")


def markdown(value: object) -> str:
    """Inert in a markdown table cell or line: HTML-escaped, punctuation escaped, one line."""
    text = visible(" ".join(("" if value is None else str(value)).split()))
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", _html.escape(text, quote=False))
    return _MARKDOWN_BLOCK_START.sub(r"\1\\\2", text)


def html(value: object) -> str:
    return _html.escape(visible(value), quote=True)


def csv_cell(value: object) -> str:
    text = visible(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text
