"""Benchmark of the file, TLS and Key Vault sources (not a test: figures, no assertions).

    python -m bench.bench_sources [--files 2000] [--endpoints 20] [--certs 200]

Files: a tree of PEM files walked and parsed. TLS: real handshakes against TLS servers on
127.0.0.1. Key Vault: the real SDK against the in-memory simulation, counting the REST calls
one scan makes (what a real vault would be asked, and throttles on)."""

from __future__ import annotations

import argparse
import socketserver
import ssl
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scanner.collect import SourceOptions
from scanner.collect.runner import collect

NOW = datetime.now(timezone.utc)


def _cert(key, name: str, days: int) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - timedelta(days=1))
            .not_valid_after(NOW + timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))


def bench_files(count: int, root: Path) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    for n in range(count):
        folder = root / f"team{n % 20:02}"
        folder.mkdir(exist_ok=True)
        (folder / f"c{n:05}.pem").write_bytes(_cert(key, f"c{n}.example.test", 30 + n % 400)
                                              .public_bytes(serialization.Encoding.PEM))
    started = time.perf_counter()
    inventory = collect(SourceOptions(paths=[str(root)], quiet=True), NOW)
    elapsed = time.perf_counter() - started
    assert len(inventory.certificates) == count and not inventory.errors
    return f"files      {count} PEM files in 20 folders: {elapsed:.2f} s ({count / elapsed:.0f} files/s, concurrency 8)"


def bench_tls(count: int, workdir: Path) -> str:
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    chain, key = workdir / "chain.pem", workdir / "key.pem"
    chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, key)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            try:
                with context.wrap_socket(self.request, server_side=True) as tls:
                    tls.recv(1)
            except OSError:
                pass

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True

    servers = [Server(("127.0.0.1", 0), Handler) for _ in range((count + 1) // 2)]
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        endpoints = [f"{host}:{s.server_address[1]}" for s in servers for host in ("127.0.0.1", "localhost")][:count]
        started = time.perf_counter()
        inventory = collect(SourceOptions(endpoints=endpoints, quiet=True), NOW)
        elapsed = time.perf_counter() - started
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert len(inventory.certificates) == count, inventory.errors
    return (f"tls        {count} endpoints on 127.0.0.1: {elapsed:.2f} s "
            f"({elapsed / count * 1000:.1f} ms per endpoint wall, concurrency 8)")


def bench_keyvault(count: int) -> str:
    from azure.keyvault.certificates._shared import http_challenge_cache

    from scanner.simulate.azure_keyvault_fake import FakeKeyVaultService

    http_challenge_cache.clear()
    service = FakeKeyVaultService()
    vault = service.vault("https://bench.vault.azure.net")
    key = ec.generate_private_key(ec.SECP256R1())
    for n in range(count):
        vault.add_certificate(f"cert-{n}", _cert(key, f"c{n}.example.test", 365))
        vault.add_certificate(f"cert-{n}", _cert(key, f"c{n}.example.test", 365))  # a second version
    seams = {"azure.transport": service.transport(), "azure.credential": service.credential()}
    started = time.perf_counter()
    inventory = collect(SourceOptions(azure=True, vault_urls=[vault.url], quiet=True, seams=seams), NOW)
    elapsed = time.perf_counter() - started
    assert len(inventory.certificates) == 2 * count and not inventory.errors
    calls = len(service.requests)
    return (f"keyvault   {count} certificates x 2 versions, one vault: {calls} REST calls "
            f"({calls / count:.2f} per certificate, 25 names a list page), {elapsed:.2f} s against the simulation")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--certs", type=int, default=200)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        files_root = Path(tmp) / "files"
        files_root.mkdir()
        tls_dir = Path(tmp) / "tls"
        tls_dir.mkdir()
        for line in (bench_files(args.files, files_root), bench_tls(args.endpoints, tls_dir),
                     bench_keyvault(args.certs)):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
