#!/usr/bin/env bash
# Print a certscan HTML report the way a reader would: headless Chromium renders it at a
# laptop width (screenshot) and prints it to PDF (A4 and Letter), and pdftoppm turns each
# PDF's pages into PNGs to look at. Not part of the test suite (CI has no browser); needs
# Debian's `chromium` and `poppler-utils`.
#
#   scripts/print-report.sh reports/samples/certscan-report.html [OUT_DIR]
#
# Writes OUT_DIR/report-1400.png, report-a4.pdf, report-letter.pdf, a4-N.png, letter-N.png,
# and prints each PDF's page count and page size.
set -euo pipefail
report=${1:?usage: scripts/print-report.sh REPORT.html [OUT_DIR]}
out=${2:-reports/print-check}
command -v chromium >/dev/null || { echo "needs chromium (apt-get install chromium)" >&2; exit 2; }
command -v pdftoppm >/dev/null || { echo "needs pdftoppm (apt-get install poppler-utils)" >&2; exit 2; }
mkdir -p "$out"
url="file://$(realpath "$report")"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-pdf-header-footer)
chromium "${flags[@]}" --window-size=1400,1800 --screenshot="$out/report-1400.png" "$url" 2>/dev/null
# The page's own @page rule sets the margins; the paper size is the printer's: try both.
for paper in a4 letter; do
  html="$out/.print-$paper.html"
  if [ "$paper" = a4 ]; then size="210mm 297mm"; else size="8.5in 11in"; fi
  sed "s|</style>|@page{size:$size}</style>|" "$report" > "$html"
  chromium "${flags[@]}" --print-to-pdf="$out/report-$paper.pdf" "file://$(realpath "$html")" 2>/dev/null
  rm -f "$html"
  rm -f "$out/$paper"-*.png
  pdftoppm -r 60 -png "$out/report-$paper.pdf" "$out/$paper"
  pages=$(pdfinfo "$out/report-$paper.pdf" | awk '/^Pages:/ {print $2}')
  size=$(pdfinfo "$out/report-$paper.pdf" | awk -F': *' '/^Page size:/ {print $2}')
  echo "$paper: $pages page(s), $size -> $out/$paper-*.png"
done
echo "screenshot at 1400 px: $out/report-1400.png"
