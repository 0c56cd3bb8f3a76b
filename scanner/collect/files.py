"""Certificate files: ``--path FILE_OR_DIR`` (repeatable; folders are walked recursively).

Formats: PEM (one or many certificates per file, chains, PKCS#7 blocks), DER, PKCS#7 (DER)
and PKCS#12 (``--pkcs12-password-env VAR``). A unit is one file (``file/<path>``); a folder
expands into its files when units are listed, so shards split a tree file by file.

Which files of a folder are read: names ending in one of CERT_SUFFIXES or KEY_SUFFIXES.
Anything else (a README, a CSR, a config file, OpenSSL's hash links) is not a certificate
file and is skipped without an error. A file with a certificate suffix that cannot be parsed
is a collection error; so is any file named explicitly with ``--path``.

Private keys: their bytes are never decoded, kept, or written anywhere. PEM blocks are told
apart by their labels only; a PKCS#12 bundle is opened with cryptography (which decrypts the
key in memory, unavoidably) and only ``key is not None`` is kept. What is recorded is
``private_key_present`` on certificate records:
  * True when the certificate's own file holds a private key (a PEM private-key block or a
    PKCS#12 key bag), or
  * for files found by walking a folder, when that folder (not its subfolders) also holds a
    key file: a ``*.key`` file or a PEM file with a private-key block (``privkey.pem``).
A key file is therefore reported through the certificates beside it; the rule's message
names the certificate file and says "private key", nothing more.

Identity (pinned): ``id`` is the path as given (walked files: the folder as given joined
with the relative path), plus ``#N`` (1-based, counting certificates in file order) when the
file holds several.
"""

from __future__ import annotations

import os
import re
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from scanner.collect import Option, Source, SourceOptions, Unit, UnitResult
from scanner.collect.x509facts import certificate_facts
from scanner.model import Certificate, CollectionError, Coverage
from scanner.inputs.problems import InputError, Problem

SOURCE = "file"
CERT_SUFFIXES = frozenset({".pem", ".crt", ".cer", ".cert", ".der", ".p7b", ".p7c", ".p12", ".pfx"})
KEY_SUFFIXES = frozenset({".key"})
PKCS12_SUFFIXES = frozenset({".p12", ".pfx"})
# A certificate bundle with the whole Mozilla store is about 250 KB; anything this big is
# not a certificate file, and reading it would only cost memory.
MAX_FILE_BYTES = 4 * 1024 * 1024

_PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
_PEM_END = re.compile(rb"-----END ([A-Z0-9 ]+)-----")
_CERT_LABELS = frozenset({b"CERTIFICATE", b"X509 CERTIFICATE"})
_PKCS7_LABELS = frozenset({b"PKCS7", b"CERTIFICATE CHAIN"})


class FileProblem(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ParsedFile:
    # (position among the file's certificates, 1-based; the certificate). A damaged block
    # keeps its number, so the ones after it keep theirs.
    certificates: list[tuple[int, x509.Certificate]] = field(default_factory=list)
    slots: int = 0  # certificates the file holds, parsed or not
    other_blocks: int = 0  # complete PEM blocks that are neither certificates nor keys (CSR, CRL, ...)
    problems: list[FileProblem] = field(default_factory=list)
    private_key: bool = False


@dataclass(frozen=True)
class FileTarget:
    path: str  # as given, or the walked folder as given joined with the relative path
    walked: bool  # found by walking a folder (then sibling key files count)


def path_text(path: str) -> str:
    """A path as the OS gave it (str, undecodable bytes surrogate-escaped) in the stable,
    reversible text every output carries: each byte that is not UTF-8 becomes ``\\xNN`` and,
    on POSIX, a literal backslash becomes ``\\\\``. A valid UTF-8 name without backslashes is
    unchanged, so ids and fingerprints of ordinary files do not move."""
    raw = os.fsencode(path)
    if os.sep == "/":
        raw = raw.replace(b"\\", b"\\\\")
    return raw.decode("utf-8", "backslashreplace")


def path_from_text(text: str) -> str:
    """The inverse of path_text: the OS path (surrogate-escaped str) an output names."""
    if os.sep != "/":
        return text
    raw = text.encode("utf-8")
    out = re.sub(rb"\\(\\|x[0-9a-f]{2})",
                 lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1)[1:], 16)]), raw)
    return os.fsdecode(out)


def unit_key(path: str) -> str:
    return f"{SOURCE}/{path}"


def is_private_key_label(label: bytes) -> bool:
    return label.endswith(b"PRIVATE KEY")


# --- parsing (pure: bytes in, certificates and problems out) -------------------------------

def _der_length_end(data: bytes) -> int | None:
    """Offset just past the outer DER SEQUENCE header, or None when it is not one."""
    if len(data) < 2 or data[0] != 0x30:
        return None
    first = data[1]
    if first < 0x80:
        return 2
    count = first & 0x7F
    return 2 + count if 0 < count <= 4 and len(data) > 2 + count else None


def looks_like_pkcs12(data: bytes) -> bool:
    """PFX ::= SEQUENCE { version INTEGER (3), ... }; a certificate starts SEQUENCE { SEQUENCE."""
    start = _der_length_end(data)
    return start is not None and data[start:start + 3] == b"\x02\x01\x03"


def pem_blocks(data: bytes) -> list[tuple[bytes, bytes | None]]:
    """(label, block) for each PEM block in file order; block is None for one never closed
    (a BEGIN followed by another BEGIN or the end of the file). One pass over the lines, so
    a hostile file of unclosed BEGIN lines costs linear time, not quadratic."""
    out: list[tuple[bytes, bytes | None]] = []
    label: bytes | None = None
    lines: list[bytes] = []
    for raw in data.splitlines():
        line = raw.strip()
        begin = _PEM_BEGIN.search(line)  # anywhere in the line: a cut-off line may run into the next block
        if begin:
            if label is not None:
                out.append((label, None))
            label, lines = begin.group(1), [begin.group(0)]
            continue
        if label is None:
            continue  # text between blocks (e.g. openssl's "Bag Attributes")
        lines.append(line)
        end = _PEM_END.search(line)
        if end:
            out.append((label, b"\n".join(lines) + b"\n" if end.group(1) == label else None))
            label = None
    if label is not None:
        out.append((label, None))
    return out


def parse_pem(data: bytes) -> ParsedFile:
    parsed = ParsedFile()
    unclosed = 0
    for label, block in pem_blocks(data):
        if block is None:
            unclosed += 1
            # an unclosed certificate block keeps its number, so the others keep theirs
            parsed.slots += label in _CERT_LABELS
        elif label in _CERT_LABELS:
            parsed.slots += 1
            try:
                parsed.certificates.append((parsed.slots, x509.load_pem_x509_certificate(block)))
            except ValueError as exc:
                parsed.problems.append(FileProblem("CertificateParseError", f"certificate #{parsed.slots} "
                                                   f"cannot be parsed: {exc}"))
        elif label in _PKCS7_LABELS:
            try:
                certs = pkcs7.load_pem_pkcs7_certificates(block)
            except ValueError as exc:
                parsed.slots += 1
                parsed.problems.append(FileProblem("CertificateParseError", f"PKCS#7 block cannot be parsed: {exc}"))
                continue
            parsed.certificates.extend((parsed.slots + i, cert) for i, cert in enumerate(certs, start=1))
            parsed.slots += len(certs)
        elif is_private_key_label(label):
            parsed.private_key = True  # noted by its label only: the block is never decoded
        else:
            parsed.other_blocks += 1
    if unclosed:
        parsed.problems.append(FileProblem("PEMTruncated", f"{unclosed} PEM block(s) have no matching END line "
                                                           "(truncated or damaged file)"))
    return parsed


def parse_pkcs12(data: bytes, password: bytes | None) -> ParsedFile:
    attempts = [password, None, b""] if password is not None else [None, b""]
    for attempt in attempts:
        try:
            bundle = pkcs12.load_pkcs12(data, attempt)
        except ValueError:
            continue
        certs = ([bundle.cert.certificate] if bundle.cert else []) + [c.certificate for c in bundle.additional_certs]
        has_key = bundle.key is not None
        del bundle  # the decrypted key goes with it; only its presence is kept
        return _numbered(certs, private_key=has_key)
    if password is None:
        problem = FileProblem("PKCS12PasswordRequired", "PKCS#12 bundle is password-protected: "
                                                        "give its password with --pkcs12-password-env VAR")
    else:
        problem = FileProblem("PKCS12Unreadable", "PKCS#12 bundle cannot be opened: wrong password "
                                                  "(--pkcs12-password-env) or damaged file")
    return ParsedFile(problems=[problem])


def parse_binary(data: bytes, suffix: str, password: bytes | None) -> ParsedFile:
    if suffix in PKCS12_SUFFIXES or looks_like_pkcs12(data):
        return parse_pkcs12(data, password)
    try:
        return _numbered([x509.load_der_x509_certificate(data)])
    except ValueError:
        pass
    try:
        return _numbered(pkcs7.load_der_pkcs7_certificates(data))
    except ValueError:
        pass
    return ParsedFile(problems=[FileProblem("NotACertificate", "not a PEM, DER, PKCS#7 or PKCS#12 certificate")])


def _numbered(certs: list[x509.Certificate], private_key: bool = False) -> ParsedFile:
    return ParsedFile(certificates=list(enumerate(certs, start=1)), slots=len(certs), private_key=private_key)


def parse_certificate_file(data: bytes, suffix: str, password: bytes | None) -> ParsedFile:
    """A PEM file may hold no certificate without being an error when it holds other complete
    blocks (a key, a CSR); a key file (*.key) never has to hold one."""
    if b"-----BEGIN " in data:
        parsed = parse_pem(data)
        if not (parsed.slots or parsed.private_key or parsed.other_blocks or parsed.problems) \
                and suffix not in KEY_SUFFIXES:
            parsed.problems.append(FileProblem("NotACertificate", "no complete PEM block found"))
        return parsed
    if suffix in KEY_SUFFIXES:
        return ParsedFile(private_key=True)  # a DER key: presence noted, content never parsed
    return parse_binary(data, suffix, password)


# --- reading files ---------------------------------------------------------------------------

def read_file(path: str, limit: int) -> bytes:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise FileProblem("FileUnreadable", f"cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise FileProblem("NotARegularFile", "not a regular file (device, FIFO or socket): not read")
    if info.st_size > limit:
        raise FileProblem("FileTooLarge", f"{info.st_size} bytes is over the {limit}-byte limit for a certificate file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise FileProblem("FileUnreadable", f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise FileProblem("FileTooLarge", f"over the {limit}-byte limit for a certificate file")
    return data


def is_candidate(name: str) -> bool:
    suffix = Path(name).suffix.lower()
    return suffix in CERT_SUFFIXES or suffix in KEY_SUFFIXES


def walk(root: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Candidate files under root (sorted, symlinks followed), and (folder, reason) for folders
    that could not be listed. Each real folder is entered once, so symlink loops end."""
    files: list[str] = []
    failures: list[tuple[str, str]] = []
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            failures.append((folder, exc.strerror or str(exc)))
            continue
        subfolders = []
        for entry in listed:
            path = os.path.join(folder, entry.name)
            try:
                is_dir = entry.is_dir()  # follows symlinks: a linked folder is walked (once)
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append(path)
            elif is_candidate(entry.name):
                files.append(path)  # dangling links included: they become errors, not silence
        stack.extend(reversed(subfolders))
    return files, failures


# --- the collector -----------------------------------------------------------------------------

class FileCollector:
    source = SOURCE

    def __init__(self, paths: list[str], password: bytes | None, max_bytes: int = MAX_FILE_BYTES):
        self.paths = paths
        self._password = password
        self.max_bytes = max_bytes
        self._folder_keys: dict[str, bool] = {}
        self._folder_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def units(self) -> tuple[list[Unit], list[CollectionError]]:
        targets: dict[str, FileTarget] = {}
        errors: list[CollectionError] = []
        for given in self.paths:
            if os.path.isdir(given):
                files, failures = walk(given)
                for path in files:
                    targets[path] = FileTarget(path, walked=True)
                errors.extend(CollectionError(source=SOURCE, code="FolderUnreadable", message=f"cannot list: {reason}",
                                              resource=path_text(folder), unit=unit_key(path_text(folder)))
                              for folder, reason in failures)
            elif given not in targets:  # a file also reached through its folder stays "walked"
                targets[given] = FileTarget(given, walked=False)
        units = [Unit(key=unit_key(path_text(path)), label=path_text(path), payload=target)
                 for path, target in sorted(targets.items())]
        return units, errors

    def folder_has_private_key(self, folder: str) -> bool:
        """Whether a folder directly holds a key file; looked at once per folder, however many
        of its files are collected at the same time."""
        with self._lock:
            folder_lock = self._folder_locks.setdefault(folder, threading.Lock())
        with folder_lock:
            if folder not in self._folder_keys:
                self._folder_keys[folder] = self._look_for_key_file(folder)
            return self._folder_keys[folder]

    def _look_for_key_file(self, folder: str) -> bool:
        found = False
        try:
            with os.scandir(folder or ".") as entries:
                names = sorted(e.name for e in entries if is_candidate(e.name))
        except OSError:
            names = []
        for name in names:
            path = os.path.join(folder, name)
            if Path(name).suffix.lower() in KEY_SUFFIXES:
                found = os.path.isfile(path)
            else:
                try:
                    data = read_file(path, self.max_bytes)
                except FileProblem:
                    continue
                found = any(is_private_key_label(m.group(1)) for m in _PEM_BEGIN.finditer(data))
            if found:
                break
        return found

    def collect(self, unit: Unit) -> UnitResult:
        target: FileTarget = unit.payload
        suffix = Path(target.path).suffix.lower()
        try:
            parsed = parse_certificate_file(read_file(target.path, self.max_bytes), suffix, self._password)
        except FileProblem as problem:
            parsed = ParsedFile(problems=[problem])
        key_beside = parsed.private_key or (bool(parsed.certificates) and target.walked
                                            and self.folder_has_private_key(os.path.dirname(target.path)))
        shown = path_text(target.path)  # what outputs carry; target.path is what the OS reads
        records = []
        for index, cert in parsed.certificates:
            try:
                facts = certificate_facts(cert)
            except Exception as exc:  # noqa: BLE001 - e.g. an unsupported key type: an error for this one only
                parsed.problems.append(FileProblem("CertificateParseError", f"certificate #{index} cannot be read: {exc}"))
                continue
            records.append(Certificate(
                id=f"{shown}#{index}" if parsed.slots > 1 else shown, source=SOURCE,
                name=os.path.basename(shown), private_key_present=key_beside, **facts))
        errors = [CollectionError(source=SOURCE, code=p.code, message=f"{shown}: {p.message}",
                                  service=SOURCE, resource=shown, unit=unit.key) for p in parsed.problems]
        coverage = Coverage(unit=unit.key, source=SOURCE, service=SOURCE, resource=shown,
                            count=len(records), complete=not errors)
        return UnitResult(certificates=records, errors=errors, coverage=[coverage])


def build(options: SourceOptions) -> list[FileCollector]:
    problems = [Problem("--path", f"{path!r}: no such file or folder") for path in options.paths
                if not os.path.lexists(path)]
    password = None
    if options.pkcs12_password_env:
        value = os.environ.get(options.pkcs12_password_env)
        if value is None:
            problems.append(Problem("--pkcs12-password-env",
                                    f"environment variable {options.pkcs12_password_env} is not set"))
        else:
            password = value.encode()
    if problems:
        raise InputError(problems)
    max_bytes = int(options.seams.get("files.max_bytes", MAX_FILE_BYTES))
    return [FileCollector(list(dict.fromkeys(options.paths)), password, max_bytes)]


SOURCE_SPEC = Source(
    key="files", names=(SOURCE,), help="Certificate files and folders.", build=build, switch=False, section=False,
    selects=("paths",),
    options=(
        Option("paths", ("--path",), "Certificate file or folder (repeatable; PEM, DER, PKCS#12).", "list",
               config="paths"),
        Option("pkcs12_password_env", ("--pkcs12-password-env",),
               "Environment variable holding the PKCS#12 password.", config="pkcs12_password_env"),
    ),
    units="file", identities={"paths": "resource"},
)
