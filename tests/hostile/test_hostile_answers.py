"""A provider answer that cannot be understood is an error for its unit, never "no
certificates". A loopback proxy in front of a real moto_server answers chosen calls with
status 200 and an HTML page, truncated JSON or a document of the wrong shape; certscan runs as
a user would (AWS_ENDPOINT_URL) and must record a MalformedResponse error with its service,
account and region, exit 3 without --allow-partial, and still report every other certificate.
Key Vault is faked in-process at the HTTP level (its client only speaks HTTPS to
*.vault.azure.net), with the real SDK."""

from __future__ import annotations

import http.client
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import boto3
import pytest
import trustme

from hostile_support import certscan, check_outputs
from tests.aws.aws_helpers import running_moto_server

ACCOUNT = "123456789012"  # moto's default account
HTML = b"<html><head><title>Gateway</title></head><body>Sign in to continue</body></html>"


@pytest.fixture(scope="module")
def moto_url():
    with running_moto_server() as (url, _process):
        yield url


class Proxy(ThreadingHTTPServer):
    """Forwards to moto, except calls that a rule answers itself with a 200 of its choosing."""

    daemon_threads = True

    def __init__(self, upstream: str):
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream.removeprefix("http://")
        self.rules: list[tuple[str, str | None, bytes, str]] = []  # (operation, region, body, content type)
        self.answered: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, operation: str, body: bytes, *, region: str | None = None,
               content_type: str = "application/x-amz-json-1.1") -> None:
        self.rules.append((operation, region, body, content_type))


class _ProxyHandler(BaseHTTPRequestHandler):
    server: Proxy

    def log_message(self, *args) -> None:  # quiet
        pass

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        operation = target.rpartition(".")[2] or (parse_qs(body.decode("utf-8", "replace")).get("Action") or [""])[0]
        scope = self.headers.get("Authorization", "").partition("Credential=")[2].split("/")
        region = scope[2] if len(scope) > 2 else None
        for wanted, wanted_region, answer, content_type in self.server.rules:
            if operation == wanted and wanted_region in (None, region):
                self.server.answered.append(f"{operation} {region}")
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                return
        upstream = http.client.HTTPConnection(self.server.upstream, timeout=30)
        try:
            upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
            reply = upstream.getresponse()
            data = reply.read()
            self.send_response(reply.status)
            for key, value in reply.getheaders():
                if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = _relay


@pytest.fixture
def proxy(moto_url):
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10).read()
    server = Proxy(moto_url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def estate(moto_url, tmp_path):
    """One ACM certificate in each of two regions and one IAM server certificate, in moto."""
    ca = trustme.CA()
    arns = {}
    for region in ("us-east-1", "eu-west-1"):
        leaf = ca.issue_cert(f"{region}.example")
        acm = boto3.client("acm", region_name=region, endpoint_url=moto_url, aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        arns[region] = acm.import_certificate(Certificate=leaf.cert_chain_pems[0].bytes(),
                                              PrivateKey=leaf.private_key_pem.bytes(),
                                              Tags=[{"Key": "owner", "Value": "team"}])["CertificateArn"]
    leaf = ca.issue_cert("iam.example")
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=moto_url, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    iam_arn = iam.upload_server_certificate(ServerCertificateName="web", CertificateBody=leaf.cert_chain_pems[0].bytes().decode(),
                                            PrivateKey=leaf.private_key_pem.bytes().decode())["ServerCertificateMetadata"]["Arn"]
    arns["iam"] = iam_arn
    return arns


def aws_env(proxy: Proxy, tmp_path: Path) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": proxy.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_MAX_ATTEMPTS": "2"}


def scan(proxy: Proxy, tmp_path: Path, *extra: str):
    out = tmp_path / "out"
    ran = certscan("scan", "--aws", "--regions", "us-east-1,eu-west-1", "--format", "json", "--output-dir", out,
                   "--quiet", *extra, cwd=tmp_path, env=aws_env(proxy, tmp_path))
    outputs = check_outputs(out)
    return ran, outputs["certscan-inventory.json"]


LIST_ACM = [
    pytest.param(HTML, id="html"),
    pytest.param(b'{"CertificateSummaryList": [{"CertificateArn": "arn:aws:acm:eu-west-1:1', id="truncated"),
    pytest.param(b"{}", id="empty-object"),
    pytest.param(b'{"CertificateSummaryList": "none"}', id="wrong-type"),
    pytest.param(b'{"CertificateSummaryList": [{"Domain": "x"}]}', id="item-without-arn"),
    pytest.param(b"[]", id="array"),
]


@pytest.mark.parametrize("body", LIST_ACM)
def test_an_unreadable_acm_listing_is_an_error_for_that_region_only(proxy, estate, tmp_path, body):
    proxy.answer("ListCertificates", body, region="eu-west-1")
    ran, inventory = scan(proxy, tmp_path)
    assert ran.code == 3, ran
    assert proxy.answered, "the proxy never answered: the test would prove nothing"
    errors = inventory["errors"]
    assert [(e["source"], e["service"], e["account"], e["region"], e["code"]) for e in errors] == [
        ("aws.acm", "acm", ACCOUNT, "eu-west-1", "MalformedResponse")], errors
    assert "ListCertificates" in errors[0]["message"]
    coverage = {c["unit"]: c for c in inventory["coverage"]}
    assert coverage[f"aws.acm/{ACCOUNT}/eu-west-1"]["complete"] is False
    # nothing else lost
    assert {c["id"] for c in inventory["certificates"]} == {estate["us-east-1"], estate["iam"]}


def test_allow_partial_still_names_the_unreadable_unit(proxy, estate, tmp_path):
    proxy.answer("ListCertificates", HTML, region="eu-west-1")
    ran, inventory = scan(proxy, tmp_path, "--allow-partial")
    assert ran.code in (0, 1), ran
    assert [e["code"] for e in inventory["errors"]] == ["MalformedResponse"]
    assert "eu-west-1" in ran.out + ran.err  # the console says the scan was partial, and where


@pytest.mark.parametrize("body", [
    pytest.param(HTML, id="html"),
    pytest.param(b"<ListServerCertificatesResponse><ListServerCertificatesResult><ServerCertificateMeta", id="truncated"),
    pytest.param(b"<OtherResponse xmlns='https://iam.amazonaws.com/doc/2010-05-08/'/>", id="other-document"),
])
def test_an_unreadable_iam_listing_is_an_error_with_its_place(proxy, estate, tmp_path, body):
    proxy.answer("ListServerCertificates", body, content_type="text/xml")
    ran, inventory = scan(proxy, tmp_path)
    assert ran.code == 3, ran
    errors = inventory["errors"]
    assert [(e["source"], e["service"], e["account"], e["region"], e["code"]) for e in errors] == [
        ("aws.iam", "iam", ACCOUNT, "us-east-1", "MalformedResponse")], errors
    assert {c["id"] for c in inventory["certificates"]} == {estate["us-east-1"], estate["eu-west-1"]}


def test_an_unreadable_certificate_detail_keeps_the_certificate_and_marks_the_unit(proxy, estate, tmp_path):
    proxy.answer("DescribeCertificate", b'{"Certificate": ', region="us-east-1")
    ran, inventory = scan(proxy, tmp_path)
    assert ran.code == 3, ran
    errors = [(e["service"], e["region"], e["code"], e["resource"]) for e in inventory["errors"]]
    assert errors == [("acm", "us-east-1", "MalformedResponse", estate["us-east-1"])], errors
    assert {c["id"] for c in inventory["certificates"]} == {estate["us-east-1"], estate["eu-west-1"], estate["iam"]}


# -- Key Vault ------------------------------------------------------------------------------------
def test_an_unreadable_key_vault_page_is_an_error_for_that_vault_only():
    from azure.keyvault.certificates._shared import http_challenge_cache
    from sources_support import NOW, azure_seams, make_cert

    from scanner.collect import SourceOptions
    from scanner.collect.runner import collect
    from scanner.simulate.azure_keyvault_fake import FakeKeyVaultService

    class Hostile(FakeKeyVaultService):
        def handle(self, method, url, headers):
            answer = super().handle(method, url, headers)
            if answer and answer[0] == 200 and url.startswith("https://broken.vault.azure.net/certificates?"):
                return 200, {"Content-Type": "text/html"}, HTML
            if answer and answer[0] == 200 and url.startswith("https://shapeless.vault.azure.net/certificates?"):
                return 200, {"Content-Type": "application/json"}, b'{"items": []}'
            return answer

    http_challenge_cache.clear()  # process-wide: another test's challenge must not answer here
    service = Hostile()
    for name in ("good", "broken", "shapeless"):
        service.vault(f"https://{name}.vault.azure.net").add_certificate("web", make_cert(f"{name}.example").cert)
    urls = [f"https://{name}.vault.azure.net" for name in ("good", "broken", "shapeless")]
    inventory = collect(SourceOptions(azure=True, vault_urls=urls, quiet=True, seams=azure_seams(service)), NOW)
    assert {c.vault for c in inventory.certificates} == {"https://good.vault.azure.net"}
    bad = sorted((e.resource, e.code, e.service) for e in inventory.errors)
    assert bad == [("https://broken.vault.azure.net", "MalformedResponse", "keyvault"),
                   ("https://shapeless.vault.azure.net", "MalformedResponse", "keyvault")], inventory.errors
    assert not inventory.complete
    http_challenge_cache.clear()
