"""Notification routes: who is told about which findings, and where.

A routes file (``kind: Routes``, schemas/routes.schema.json) maps findings to destinations.
A route matches a result by the certificate's owner (the tag keys TAG-001 reads, then owner,
team, contact: the ``owner`` of the result's context), account or subscription, source,
domain and rule; every key given must match, any value of a key may (fnmatch globs).
Every route that matches a result gets it; ``default`` gets the results no route matches.
``escalate_to`` adds destinations per expiry bucket (the SOP's escalation matrix).

Destinations are Apprise URLs or plain e-mail addresses (sent through ``email.url``).
Secrets are never in the file: ``${VAR}`` takes a value from the environment, and every such
value is treated as a secret, redacted as ``***`` in anything certscan prints or writes.
Credentials written literally (a password in ``user:password@``, a query parameter named
like a token or password, or a Slack/Teams/SNS-style URL whose tokens are its path) are
refused with exit 2, naming the file, line and JSON path, never echoing the value.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import parse_qsl, quote, urlsplit

from scanner.model import BUCKETS, Result
from scanner.inputs.problems import InputError, Problem, json_path
from scanner.inputs.schema_check import check
from scanner.inputs.yamlfile import line_of, load_yaml

SCHEMA = "routes.schema.json"
REDACTED = "***"
MATCH_KEYS = ("owner", "account", "source", "domain", "rule")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ADDRESS = re.compile(r"^[^@\s<>,;:/?#\"'$]+@[^@\s<>,;:/?#\"'$]+$")
_URL_TEXT = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://[^\s'\"]*")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
# Query parameters that carry credentials in Apprise URLs (and webhooks generally).
_SECRET_PARAMS = re.compile(r"(token|pass|pwd|secret|key|auth|signature|sig|webhook|apikey|access)", re.IGNORECASE)
# Services whose Apprise URL holds its tokens in the host and path (slack://TokenA/TokenB/TokenC,
# msteams://group@tenant/..., sns://AccessKey/Secret/region/...): such a URL with no ${VAR}
# at all has its secret written in the file.
TOKEN_SCHEMES = frozenset({
    "slack", "msteams", "workflow", "workflows", "sns", "discord", "tgram", "telegram", "pover", "pushover",
    "pagerduty", "opsgenie", "gchat", "mmost", "mmosts", "rocket", "rockets", "twilio", "mailgun", "sendgrid",
    "ses", "pbul", "ntfy", "ntfys", "signal", "signals", "matrix", "matrixs", "zulip", "webex", "wxteams",
    "spush", "ifttt", "join", "lametric", "splunk", "victorops", "pagertree", "guilded", "flock", "ryver",
})
# Values shorter than this are not redacted (replacing "25" everywhere would garble the text
# and protects nothing): such a variable cannot hold a secret worth the name.
MIN_SECRET_LENGTH = 4


@dataclass(frozen=True)
class Destination:
    """Where one message goes. ``url`` holds the secrets; only ``shown`` is ever printed."""

    shown: str  # as written, each ${VAR} replaced by ***
    url: str = field(repr=False)  # with the environment's values, ready for Apprise
    where: str = ""  # JSON path in the routes file, e.g. routes[2].notify[0]
    missing: tuple[str, ...] = ()  # variables not set in the environment (only allowed in a dry run)

    @property
    def key(self) -> str:
        return self.url


@dataclass(frozen=True)
class Route:
    name: str
    match: dict[str, tuple[str, ...]]  # empty for the default route
    notify: tuple[Destination, ...] = ()
    escalate_to: dict[str, tuple[Destination, ...]] = field(default_factory=dict)
    is_default: bool = False

    def matches(self, result: Result) -> bool:
        context = result.context or {}
        for key, patterns in self.match.items():
            if key == "rule":
                value = result.rule_id
            else:
                value = context.get(key)
            if value is None or not _any_match(key, patterns, str(value)):
                return False
        return True


@dataclass
class Routes:
    file: str
    routes: list[Route]
    default: Route | None
    secrets: frozenset[str] = field(default=frozenset(), repr=False)

    def routes_for(self, result: Result) -> list[Route]:
        hits = [route for route in self.routes if route.matches(result)]
        if not hits and self.default is not None:
            return [self.default]
        return hits

    def redact(self, text: str) -> str:
        """Every secret value (and its percent-encoded form) replaced by ***, longest first."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    @property
    def missing_variables(self) -> list[str]:
        names: set[str] = set()
        for route in [*self.routes, *([self.default] if self.default else [])]:
            for dest in (*route.notify, *(d for ds in route.escalate_to.values() for d in ds)):
                names.update(dest.missing)
        return sorted(names)


def _any_match(key: str, patterns: tuple[str, ...], value: str) -> bool:
    if key in ("owner", "domain"):  # people and DNS do not agree on case
        value = value.casefold()
        return any(fnmatch.fnmatchcase(value, p.casefold()) for p in patterns)
    return any(p == value or fnmatch.fnmatchcase(value, p) for p in patterns)


def _patterns(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


class _Builder:
    """Turns the validated document into Routes, collecting every problem."""

    def __init__(self, doc: Any, name: str, environ: Mapping[str, str], allow_missing: bool):
        self.doc, self.name, self.environ, self.allow_missing = doc, name, environ, allow_missing
        self.problems: list[Problem] = []
        self.secrets: set[str] = set()
        self.email_base: Destination | None = None

    def problem(self, path: list, message: str) -> None:
        self.problems.append(Problem(self.name, message, line=line_of(self.doc, path), path=json_path(path)))

    def expand(self, text: str, path: list) -> Destination:
        missing: list[str] = []

        def value(match: re.Match[str]) -> str:
            variable = match.group(1)
            raw = self.environ.get(variable)
            if raw is None or raw == "":
                missing.append(variable)
                return REDACTED
            encoded = quote(raw, safe="")  # a secret cannot change the URL's structure
            for form in (raw, encoded):
                if len(form) >= MIN_SECRET_LENGTH:
                    self.secrets.add(form)
            return encoded

        url = _VARIABLE.sub(value, text)
        shown = _VARIABLE.sub(REDACTED, text)
        if missing and not self.allow_missing:
            self.problem(path, f"environment variable(s) {', '.join(sorted(set(missing)))} not set "
                               f"(needed by {shown})")
        return Destination(shown, url, _where(path), tuple(sorted(set(missing))))

    def literal_secret(self, text: str, path: list) -> bool:
        """Refuse credentials written in the file; the message never repeats them."""
        scheme_match = _SCHEME.match(text)
        scheme = scheme_match.group(1).lower() if scheme_match else ""
        try:
            parts = urlsplit(text)
        except ValueError:
            self.problem(path, "not a URL")
            return True
        netloc = parts.netloc
        if "@" in netloc:
            userinfo = netloc.rpartition("@")[0]
            if ":" in userinfo:
                password = userinfo.partition(":")[2]
                if password and not _VARIABLE.fullmatch(password):
                    self.problem(path, "a password is written in the URL; take it from the environment: "
                                       "user:${PASSWORD_VARIABLE}@host")
                    return True
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if _SECRET_PARAMS.search(name) and value and not _VARIABLE.fullmatch(value):
                self.problem(path, f"query parameter {name!r} holds a credential written in the file; "
                                   f"use {name}=${{VARIABLE}} and set it in the environment")
                return True
        if scheme in TOKEN_SCHEMES and not _VARIABLE.search(text.split("?", 1)[0].split("#", 1)[0]):
            redacted = f"{scheme}://{REDACTED}"
            self.problem(path, f"a {scheme}:// URL carries its tokens in the URL itself; take them from the "
                               f"environment, e.g. {scheme}://${{TOKEN}}/... (got {redacted})")
            return True
        return False

    def destination(self, text: str, path: list) -> Destination | None:
        text = text.strip()
        if _ADDRESS.match(text) and not _SCHEME.match(text):
            if self.email_base is None:
                self.problem(path, "a plain e-mail address needs `email: {url: mailto://...}` "
                                   "(the SMTP server that sends it) at the top of the routes file")
                return None
            base = self.email_base
            joiner = "&" if "?" in base.url else "?"
            shown_joiner = "&" if "?" in base.shown else "?"
            to = quote(text, safe="@")
            return Destination(f"{base.shown}{shown_joiner}to={to}", f"{base.url}{joiner}to={to}",
                               _where(path), base.missing)
        if not _SCHEME.match(text):
            self.problem(path, f"{_VARIABLE.sub(REDACTED, text)[:200]!r} is neither an Apprise URL (scheme://...) "
                               "nor an e-mail address")
            return None
        if self.literal_secret(text, path):
            return None
        dest = self.expand(text, path)
        if not dest.missing and not _apprise_accepts(dest.url):
            self.problem(path, f"Apprise cannot use {dest.shown}: unknown scheme or malformed URL")
            return None
        return dest

    def destinations(self, values: list, path: list) -> tuple[Destination, ...]:
        out = []
        for index, text in enumerate(values):
            dest = self.destination(text, [*path, index])
            if dest is not None:
                out.append(dest)
        return tuple(out)

    def route(self, entry: dict, path: list, name: str, is_default: bool) -> Route:
        match: dict[str, tuple[str, ...]] = {}
        for key, value in (entry.get("match") or {}).items():
            target = "account" if key == "subscription" else key
            match[target] = match.get(target, ()) + _patterns(value)
        escalate = {bucket: self.destinations(values, [*path, "escalate_to", bucket])
                    for bucket, values in (entry.get("escalate_to") or {}).items()}
        return Route(name, match, self.destinations(entry.get("notify") or [], [*path, "notify"]),
                     {b: escalate[b] for b in BUCKETS if b in escalate}, is_default)

    def build(self) -> Routes:
        doc = self.doc
        if "email" in doc:
            url = doc["email"]["url"]
            path = ["email", "url"]
            if not re.match(r"^mailtos?://", url, re.IGNORECASE):
                self.problem(path, "must be an Apprise mailto:// or mailtos:// URL of the SMTP server")
            elif not self.literal_secret(url, path):
                self.email_base = self.expand(url, path)
        routes, names = [], set()
        for index, entry in enumerate(doc.get("routes") or []):
            if entry["name"] in names:
                self.problem(["routes", index, "name"], f"duplicate route name {entry['name']!r}")
            names.add(entry["name"])
            routes.append(self.route(entry, ["routes", index], entry["name"], False))
        default = self.route(doc["default"], ["default"], "default", True) if "default" in doc else None
        if self.problems:
            raise InputError(self.problems)
        return Routes(self.name, routes, default, frozenset(self.secrets))


def _where(path: list) -> str:
    return json_path(path)


def apprise_module():
    try:
        import apprise
    except ImportError:
        raise InputError(Problem("--routes", "notifications need the notify extra: pip install 'certscan[notify]'")) from None
    return apprise


def _apprise_accepts(url: str) -> bool:
    import logging

    apprise = apprise_module()
    # Apprise logs the URL it could not parse: keep its log (which may hold a secret) to itself.
    logger = logging.getLogger("apprise")
    saved = logger.propagate, logger.handlers[:], logger.level
    logger.handlers, logger.propagate = [logging.NullHandler()], False
    try:
        return apprise.Apprise.instantiate(url) is not None
    finally:
        logger.propagate, logger.handlers, logger.level = saved[0], saved[1], saved[2]


def load_routes(path: str | Path, environ: Mapping[str, str], allow_missing: bool = False) -> Routes:
    """Validate and build a routes file; every problem at once (exit 2). ``allow_missing``
    (a dry run) lets a destination whose variables are unset be shown, not sent."""
    name = str(path)
    doc = load_yaml(path)
    problems = check(doc, SCHEMA, name)
    if problems:
        # a schema message may quote the offending value: never a URL (it may hold a secret)
        raise InputError([Problem(p.file, _URL_TEXT.sub(lambda m: f"{m.group(1)}://{REDACTED}", p.message),
                                  p.line, p.path, p.rule_id) for p in problems])
    return _Builder(doc, name, environ, allow_missing).build()
