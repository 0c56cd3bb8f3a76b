"""The HTML report for auditors (issue 15.2, 15.6): scope, verdicts and worst risks on the
first page, long lists folded, waivers with their justification, a print stylesheet; and,
where Chromium is installed, the printed PDF checked page by page (scripts/print-report.sh)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from scanner.packs.frameworks import framework_names
from scanner.report import html, markdown, results_json
from tests.outputs.outputs_support import REPO


@pytest.fixture(scope="module")
def page(full_scan) -> str:
    return (full_scan.dir / "certscan-report.html").read_text(encoding="utf-8")


def test_first_page_holds_scope_verdicts_and_worst_risks(page):
    first = page[page.index('<section class="first-page">'):page.index("</section>")]
    for heading in ("<h2>Scope</h2>", "<h2>Verdict per framework</h2>", "Risk level", "Worst risks"):
        assert heading in first, heading
    assert "PCI DSS 4.0 (pci-dss-4.0)" in first and "111111111111" in page


def test_print_stylesheet_and_wrapping(page):
    assert "@media print" in page and "@page{margin:12mm}" in page
    assert "break-before:page" in page and "break-inside:avoid" in page
    assert "td.id{overflow-wrap:anywhere" in page  # long ids wrap instead of widening the table
    assert re.search(r'<td class="id">arn:aws:acm:', page)


def test_long_lists_fold_into_details_with_a_count(full_scan):
    report = results_json.read(full_scan.dir / "certscan-results.json")
    # a long owner list: 40 resources for one owner
    many = [r._replace(resource_id=f"arn:aws:acm:eu-west-1:111111111111:certificate/x{i:02d}",
                       context=dict(r.context, owner="one-owner")) for i, r in
            enumerate([next(r for r in report.results if r.status == "fail")] * 40)]
    report.results = report.results + many
    page = html.render(report)
    assert re.search(r"<details><summary>4\d resources</summary>[^<]*certificate/x39", page)


def test_controls_section_and_waiver_justification(page, full_scan):
    assert "<h2>Controls</h2>" in page and "<h3>PCI DSS 4.0 (pci-dss-4.0):" in page
    assert 'class="v-not-satisfied"' in page
    assert "Shared CDN edge certificate; split planned for Q3." in page  # waiver justification
    text = (full_scan.dir / "certscan-report.md").read_text(encoding="utf-8")
    assert "## Scope" in text and "## Verdict per framework" in text and "## Controls" in text
    assert "### PCI DSS 4\\.0 (pci-dss-4\\.0)" in text or "### PCI DSS 4.0 (pci-dss-4.0)" in text
    assert "Justification" in text and "split planned for Q3" in text


def test_framework_selection_limits_the_controls_shown(full_scan, tmp_path):
    report = results_json.read(full_scan.dir / "certscan-results.json")
    report.frameworks, report.framework_names = ["soc2"], framework_names()
    text = markdown.render(report)
    assert "SOC 2" in text and "PCI DSS 4.0 (pci-dss-4.0)" not in text


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("pdftoppm")),
                    reason="needs Debian's chromium and poppler-utils (not installed in CI): run "
                           "scripts/print-report.sh by hand")
def test_printed_report_fits_a4_and_letter(full_scan, tmp_path):
    done = subprocess.run(["bash", str(REPO / "scripts" / "print-report.sh"),
                           str(full_scan.dir / "certscan-report.html"), str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "a4:" in done.stdout and "(A4)" in done.stdout and "(letter)" in done.stdout
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(tmp_path / "report-a4.pdf"), "-"],
                           capture_output=True, text=True).stdout
    for words in ("Scope", "Verdict per framework", "Risk level", "Worst risks"):
        assert words in first, words
    # nothing runs off the page: every word of every page lies within the paper's width
    for paper in ("a4", "letter"):
        boxes = subprocess.run(["pdftotext", "-bbox", str(tmp_path / f"report-{paper}.pdf"), "-"],
                               capture_output=True, text=True).stdout
        width = float(re.search(r'<page width="([\d.]+)"', boxes).group(1))
        right = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes))
        assert right <= width - 20, (paper, right, width)  # inside the 12 mm (34 pt) margin, give or take
