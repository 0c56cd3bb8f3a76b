"""Sending the triage report by e-mail (smtplib + email.message.EmailMessage).

Settings come from the command line or the environment (CERTSCAN_SMTP_HOST, _PORT, _USER,
_PASSWORD, _FROM, _TLS, _CA_FILE); an option wins over the environment. TLS is one of
starttls (the default), tls (implicit TLS, "SMTPS") or none. Credentials are never sent
without TLS, and the password never appears in a message, a log line or an exception text
(``SmtpSettings`` does not even show it in its repr).
"""

from __future__ import annotations

import base64
import os
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Mapping

from scanner.inputs.problems import InputError, Problem

ENV_PREFIX = "CERTSCAN_SMTP_"
TLS_MODES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_SENDER = "certscan@localhost"
TIMEOUT_SECONDS = 30.0
_ADDRESS = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+$")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: str
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    timeout: float = TIMEOUT_SECONDS


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str = "text"
    subtype: str = "csv"


def _pick(option, environ: Mapping[str, str], name: str):
    if option not in (None, ""):
        return option
    value = environ.get(ENV_PREFIX + name)
    return value if value not in (None, "") else None


def smtp_settings(host: str | None = None, port: int | None = None, tls: str | None = None,
                  user: str | None = None, password: str | None = None, sender: str | None = None,
                  ca_file: str | None = None, environ: Mapping[str, str] | None = None) -> SmtpSettings:
    environ = os.environ if environ is None else environ
    host = _pick(host, environ, "HOST")
    if not host:
        raise InputError(Problem("--smtp-host", f"--email needs an SMTP server: give --smtp-host or set {ENV_PREFIX}HOST"))
    mode = str(_pick(tls, environ, "TLS") or "starttls").lower()
    if mode not in TLS_MODES:
        raise InputError(Problem("--smtp-tls", f"{mode!r} is not one of {', '.join(TLS_MODES)}"))
    raw_port = _pick(port, environ, "PORT")
    try:
        port_number = int(raw_port) if raw_port is not None else DEFAULT_PORTS[mode]
    except ValueError:
        raise InputError(Problem("--smtp-port", f"{raw_port!r} is not a port number")) from None
    if not 0 < port_number < 65536:
        raise InputError(Problem("--smtp-port", f"{port_number} is not a port number (1-65535)"))
    user = _pick(user, environ, "USER")
    secret = _pick(password, environ, "PASSWORD")
    if bool(user) != bool(secret):
        missing = "password" if user else "user"
        raise InputError(Problem("--smtp-user", f"SMTP credentials need both a user and a password; the {missing} is "
                                                f"missing (--smtp-{missing} or {ENV_PREFIX}{missing.upper()})"))
    if user and mode == "none":
        raise InputError(Problem("--smtp-tls", "refusing to send SMTP credentials without TLS; "
                                               "use --smtp-tls starttls or tls"))
    sender = _pick(sender, environ, "FROM") or DEFAULT_SENDER
    check_addresses([sender], "--smtp-from")
    ca_file = _pick(ca_file, environ, "CA_FILE")
    return SmtpSettings(host, port_number, mode, sender, user, secret, ca_file)


def check_addresses(addresses: list[str], option: str = "--email") -> list[str]:
    bad = [a for a in addresses if not _ADDRESS.match(a)]
    if bad:
        raise InputError(Problem(option, f"not an e-mail address: {', '.join(repr(a) for a in bad)}"))
    return addresses


def build_message(sender: str, recipients: list[str], subject: str, text: str, html: str | None = None,
                  attachments: list[Attachment] = ()) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for item in attachments:
        message.add_attachment(item.data, maintype=item.maintype, subtype=item.subtype, filename=item.filename)
    return message


def _scrub(text: str, settings: SmtpSettings) -> str:
    """Remove the password (and the base64 forms AUTH uses) from text meant for a user."""
    if not settings.password:
        return text
    secrets = {settings.password,
               base64.b64encode(settings.password.encode()).decode(),
               base64.b64encode(f"\0{settings.user}\0{settings.password}".encode()).decode()}
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def send(settings: SmtpSettings, recipients: list[str], message: EmailMessage) -> None:
    """Deliver or raise InputError naming the server (never the password)."""
    context = ssl.create_default_context(cafile=settings.ca_file) if settings.tls != "none" else None
    where = f"{settings.host}:{settings.port} ({settings.tls})"
    try:
        if settings.tls == "tls":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            client.ehlo()
            if settings.tls == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if settings.user:
                client.login(settings.user, settings.password or "")
            refused = client.send_message(message, from_addr=settings.sender, to_addrs=recipients)
    except smtplib.SMTPAuthenticationError as exc:
        raise InputError(Problem("--email", f"SMTP server {where} refused the credentials of user "
                                            f"{settings.user!r} (code {exc.smtp_code})")) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise InputError(Problem("--email", _scrub(f"SMTP server {where}: {exc}", settings))) from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        detail = _scrub(f"{type(exc).__name__}: {exc}", settings)
        raise InputError(Problem("--email", f"could not send the report through {where}: {detail}")) from None
    if refused:
        raise InputError(Problem("--email", f"SMTP server {where} refused recipient(s): {', '.join(sorted(refused))}"))
