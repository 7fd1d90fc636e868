"""JavaScript vendored for the browser tests (tests/vendor/) is exactly what
scripts/vendor_test_js.sh produced from npm: hashes, licence and pinned version agree."""

from __future__ import annotations

import hashlib
import re

from course import REPO, VENDOR

SCRIPT = REPO / "scripts" / "vendor_test_js.sh"


def _listed():
    lines = (VENDOR / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return {name.removeprefix("./"): digest for digest, name in (ln.split(None, 1) for ln in lines)}


def test_vendored_test_files_match_their_hashes():
    listed = _listed()
    assert "axe-core/axe.min.js" in listed
    for name, digest in listed.items():
        data = (VENDOR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{name} differs from SHA256SUMS"


def test_no_unlisted_vendored_test_files():
    present = {
        p.relative_to(VENDOR).as_posix()
        for p in VENDOR.rglob("*")
        if p.is_file() and p.name != "SHA256SUMS"
    }
    assert present == set(_listed())


def test_axe_core_version_and_licence_agree_with_the_script():
    script = SCRIPT.read_text(encoding="utf-8")
    pinned = re.search(r"^AXE_CORE_VERSION=(\S+)$", script, re.MULTILINE)
    assert pinned, "scripts/vendor_test_js.sh pins axe-core"
    version = pinned[1]
    axe = VENDOR / "axe-core"
    assert (axe / "VERSION").read_text(encoding="utf-8").startswith(f"axe-core@{version} ")
    assert (axe / "axe.min.js").read_text(encoding="utf-8").startswith(f"/*! axe v{version}")
    assert "Mozilla Public License" in (axe / "LICENSE").read_text(encoding="utf-8")
