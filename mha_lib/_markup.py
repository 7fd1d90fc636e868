"""Small helpers the widgets share: JSON embedded in a page, and lazily loaded widget classes.

Torch-free and anywidget-free, so ``mha_lib.quiz`` and ``mha_lib.explorer`` import quickly and
load their widget module (anywidget, traitlets) only when a lesson shows one.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

_JSON_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def json_for_script(data: Any, *, sort_keys: bool = False) -> str:
    """JSON that is safe inside <script>: no '<' (so no '</script>' and no '<!--')."""
    text = json.dumps(
        data, ensure_ascii=False, sort_keys=sort_keys, separators=(",", ":"), allow_nan=False
    )
    for char, escape in _JSON_SCRIPT_ESCAPES.items():
        text = text.replace(char, escape)  # these characters only occur inside JSON strings
    return text


def lazy_attributes(package: str, module: str, names: set[str]) -> tuple[Callable, Callable]:
    """A package's ``__getattr__`` and ``__dir__`` that load ``names`` from ``package.module``
    on first use."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(f"{package}.{module}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(importlib.import_module(package))) | names)

    return __getattr__, __dir__
