"""Vendored front-end files are exactly what scripts/vendor_js.sh produced from npm."""

from __future__ import annotations

import hashlib

import yaml

from course import REPO

VENDOR = REPO / "book" / "_vendor"


def _listed():
    lines = (VENDOR / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return {name.removeprefix("./"): digest for digest, name in (ln.split(None, 1) for ln in lines)}


def test_vendored_files_match_their_hashes():
    listed = _listed()
    assert len(listed) > 10
    for name, digest in listed.items():
        data = (VENDOR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{name} differs from SHA256SUMS"


def test_no_unlisted_vendored_files():
    listed = set(_listed())
    present = {
        p.relative_to(VENDOR).as_posix()
        for p in VENDOR.rglob("*")
        if p.is_file() and p.name != "SHA256SUMS"
    }
    assert present == listed


def test_licences_are_kept_and_the_config_points_at_the_vendored_mathjax():
    assert "Apache License" in (VENDOR / "mathjax" / "LICENSE").read_text(encoding="utf-8")
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    assert (VENDOR / config["sphinx"]["config"]["mathjax_path"]).is_file()
