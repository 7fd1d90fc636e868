"""CheckResult: what every exercise checker returns, readable as text and as a Jupyter box."""

from __future__ import annotations

import dataclasses
import html

_PASSED_PREFIX = "✓ Passed:"
_NOT_YET_PREFIX = "✗ Not yet:"

# Colours only decorate: the words "Passed" / "Not yet" carry the meaning. Text colour is set
# explicitly so the box stays readable in dark themes (contrast > 10:1 on both backgrounds).
_BOX_STYLE = (
    "border-left: 0.3em solid {border}; background: {background}; color: #1f2937; "
    "padding: 0.5em 0.75em; margin: 0.25em 0; border-radius: 0.2em; "
    "font-family: system-ui, sans-serif; line-height: 1.4"
)
_PASSED_COLOURS = {"border": "#15803d", "background": "#f0fdf4"}
_NOT_YET_COLOURS = {"border": "#b45309", "background": "#fff7ed"}


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The verdict of one exercise checker (every ``check_*`` of lessons 01 to 09).

    ``passed``; ``mistake``: a key of the catalogue (e.g. ``"missing_scale"``) or None;
    ``message``: what went wrong, with the numbers that show it, and how to fix it. ``str`` and
    the Jupyter box (``_repr_html_``) start with "✓ Passed:" or "✗ Not yet:", deterministically.
    """

    passed: bool
    mistake: str | None
    message: str

    def __bool__(self) -> bool:
        return bool(self.passed)

    @property
    def headline(self) -> str:
        """The words that carry the verdict: "✓ Passed:" or "✗ Not yet:"."""
        return _PASSED_PREFIX if self.passed else _NOT_YET_PREFIX

    def __str__(self) -> str:
        return f"{self.headline} {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colours = _PASSED_COLOURS if self.passed else _NOT_YET_COLOURS
        mistake = "" if self.mistake is None else f' data-mistake="{html.escape(self.mistake)}"'
        return (
            f'<div class="mha-check" data-passed="{"true" if self.passed else "false"}"'
            f'{mistake} role="status" style="{_BOX_STYLE.format(**colours)}">'
            f"{html.escape(str(self))}</div>"
        )
