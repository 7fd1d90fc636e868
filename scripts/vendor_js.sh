#!/usr/bin/env bash
# Re-create book/_vendor/ from pinned npm packages, so the site loads nothing from other hosts.
# Needs npm and the package registry; the result is committed, so builds need neither.
# tests/test_vendor.py checks the committed files against book/_vendor/SHA256SUMS.
set -euo pipefail
MATHJAX_VERSION=3.2.2

cd "$(dirname "$0")/.."
dest=book/_vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "mathjax@${MATHJAX_VERSION}" >/dev/null && tar xzf mathjax-*.tgz)
src="$tmp/package/es5"
rm -rf "$dest/mathjax"
mkdir -p "$dest/mathjax/output/chtml/fonts" "$dest/mathjax/input/tex"
cp "$tmp/package/LICENSE" "$dest/mathjax/LICENSE"
cp "$src/tex-chtml.js" "$dest/mathjax/"
# What tex-chtml.js loads on demand: web fonts, TeX extensions, the menu's accessibility pieces.
cp -r "$src/output/chtml/fonts/woff-v2" "$dest/mathjax/output/chtml/fonts/"
cp -r "$src/input/tex/extensions" "$dest/mathjax/input/tex/"
cp -r "$src/a11y" "$src/ui" "$dest/mathjax/"
# The speech-rule engine (a11y/sre.js pulls in 4 MB more) is only for MathJax's explorer,
# which is off by default; it is left out.
rm -f "$dest/mathjax/a11y/sre.js" "$dest/mathjax/a11y/explorer.js"
cat > "$dest/mathjax/VERSION" <<VERSION
mathjax@${MATHJAX_VERSION} from the npm registry (es5 build, subset), Apache-2.0
VERSION

(cd "$dest" && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)
echo "vendored into $dest: $(du -sh "$dest" | cut -f1)"
