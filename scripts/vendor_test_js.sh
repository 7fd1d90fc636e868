#!/usr/bin/env bash
# Re-create tests/vendor/ (JavaScript the browser tests inject; never part of the site) from
# pinned npm packages. Needs npm and the package registry; the result is committed, so the
# tests need neither. tests/test_test_vendor.py checks the files against tests/vendor/SHA256SUMS.
set -euo pipefail
AXE_CORE_VERSION=4.14.1

cd "$(dirname "$0")/.."
dest=tests/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "axe-core@${AXE_CORE_VERSION}" >/dev/null && tar xzf axe-core-*.tgz)
rm -rf "$dest/axe-core"
mkdir -p "$dest/axe-core"
cp "$tmp/package/axe.min.js" "$dest/axe-core/"
cp "$tmp/package/LICENSE" "$dest/axe-core/LICENSE"
cat > "$dest/axe-core/VERSION" <<VERSION
axe-core@${AXE_CORE_VERSION} from the npm registry (axe.min.js only), MPL-2.0
VERSION

(cd "$dest" && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)
echo "vendored into $dest: $(du -sh "$dest" | cut -f1)"
