"""Ed25519 keys for signing the evidence manifest (cryptography). Keys are read from files
given on the command line; a private key never leaves this module except as a signature,
and no message here ever quotes key bytes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from scanner.inputs.problems import InputError, Problem

ALGORITHM = "Ed25519"
PASSWORD_ENV = "CERTSCAN_SIGN_KEY_PASSWORD"  # for an encrypted PEM private key


def _read(path: str | Path, option: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(Problem(option, f"{path}: cannot read key file: {exc.strerror or exc}")) from None


def load_private_key(path: str | Path, option: str = "--sign-key") -> Ed25519PrivateKey:
    data = _read(path, option)
    password = os.environ.get(PASSWORD_ENV)
    try:
        key = serialization.load_pem_private_key(data, password=password.encode() if password else None)
    except TypeError:
        raise InputError(Problem(option, f"{path}: the private key is encrypted; put its password in "
                                         f"the {PASSWORD_ENV} environment variable")) from None
    except (ValueError, UnsupportedAlgorithm):
        raise InputError(Problem(option, f"{path}: not a PEM private key (or wrong password); "
                                         "expected an Ed25519 private key, e.g. from "
                                         "`openssl genpkey -algorithm ed25519`")) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(Problem(option, f"{path}: the key is {type(key).__name__.replace('_', '')}; "
                                         "expected an Ed25519 private key"))
    return key


def load_public_key(path: str | Path, option: str = "--public-key") -> Ed25519PublicKey:
    data = _read(path, option)
    key = None
    for loader in (serialization.load_pem_public_key, serialization.load_der_public_key,
                   serialization.load_ssh_public_key):
        try:
            key = loader(data)
            break
        except (ValueError, UnsupportedAlgorithm):
            continue
    if key is None:
        hint = " (this is a private key: give the public half)" if b"PRIVATE KEY" in data else ""
        raise InputError(Problem(option, f"{path}: not a PEM, DER or OpenSSH public key{hint}"))
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(Problem(option, f"{path}: expected an Ed25519 public key, got {type(key).__name__}"))
    return key


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_key_from_pem(text: str) -> Ed25519PublicKey | None:
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm):
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


def key_id(key: Ed25519PublicKey) -> str:
    """sha256 of the raw public key: names the signer without quoting the key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def verify(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
