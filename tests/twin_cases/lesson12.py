"""Inputs for lesson 12's inline step (sliding_window_mask, twin of the library's).

Windows of 1 (each position sees itself only), shorter than, equal to and longer than the
sequence (the last two give the causal mask), on lengths from 1 to 33.
"""

from __future__ import annotations


def _window_cases():
    yield from ((1, 1), (10, 3), (10, 1), (7, 7), (5, 8), (33, 4), (12, 11))  # (seq_len, window)


CASES = {
    "mha_lib.sliding_window_mask": _window_cases,
}
