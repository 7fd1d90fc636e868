"""Input cases for the lessons' inline steps, one module per lesson (``lessonNN.py``).

Each module defines ``CASES``: a dict from a library twin's dotted name (as written in the
lesson's ``# library twin:`` comment) to either
- a function yielding argument tuples: the lesson's function and the library's are called with
  each tuple and must agree (arrays to 1e-12, anything else exactly); or
- ``Compare(fn)``, for twins that are classes or need their own comparison:
  ``fn(inline, library)`` asserts agreement itself and returns how many cases it compared.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Compare:
    """A twin compared by ``fn(inline, library) -> number of cases compared``."""

    fn: Callable[[object, object], int]


def all_cases() -> dict:
    cases: dict = {}
    for module in pkgutil.iter_modules(__path__):
        cases.update(importlib.import_module(f"{__name__}.{module.name}").CASES)
    return cases
