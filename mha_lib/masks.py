"""Boolean attention masks: True = may attend (as in F.scaled_dot_product_attention).

Introduced in notebooks/05_masks.ipynb. ``torch.nn.MultiheadAttention`` uses the
opposite polarity for its bool masks (True = blocked): pass it ``~mask``.
"""

from __future__ import annotations

import numpy as np

from . import _validate


def causal_mask(seq_len: int) -> np.ndarray:
    """Each position may attend to itself and the positions before it, never after.

    Returns a bool array of shape ``(seq_len, seq_len)``, True on and below the diagonal:
    ``mask[i, j]`` is True exactly when ``j <= i``. It broadcasts against weights of shape
    ``(..., seq_len, seq_len)``, with or without batch and head axes.
    Introduced in notebooks/05_masks.ipynb.
    """
    seq_len = _validate.check_positive_int(seq_len, "seq_len")
    return np.tril(np.ones((seq_len, seq_len), dtype=bool))


def sliding_window_mask(seq_len: int, window: int) -> np.ndarray:
    """Causal attention limited to the last ``window`` positions (sliding-window attention).

    Args:
        seq_len: the number of positions, a positive int.
        window: how many positions each query sees, itself included, a positive int. A
            window of ``seq_len`` or more gives :func:`causal_mask`; a window of 1 lets each
            position see only itself.

    Returns:
        bool array ``(seq_len, seq_len)``: ``mask[i, j]`` is True (may attend) exactly when
        ``i - window < j <= i``. Like :func:`causal_mask`, it broadcasts against weights of
        shape ``(..., seq_len, seq_len)``; for torch, ``torch.tensor(mask)``.

    Introduced in notebooks/12_todays_models.ipynb.
    """
    seq_len, window = _validate.sliding_window_args(seq_len, window)
    i = np.arange(seq_len)[:, None]  # (seq_len, 1): the query's position
    j = np.arange(seq_len)[None, :]  # (1, seq_len): the key's position
    return (j <= i) & (j > i - window)  # (seq_len, seq_len)


def padding_mask(lengths, max_len: int) -> np.ndarray:
    """Mark the real tokens of each padded sequence in a batch.

    Args:
        lengths: ``(batch,)`` positive ints, each sequence's true length (≤ ``max_len``).
        max_len: the padded length ``T_k`` of every sequence.

    Returns:
        bool array ``(batch, max_len)``: ``mask[b, j]`` is True when key j of sequence b is a
        real token. Add axes to broadcast against the weights: ``mask[:, None, :]`` for
        ``(batch, T_q, T_k)``, ``mask[:, None, None, :]`` for ``(batch, num_heads, T_q, T_k)``.

    Introduced in notebooks/05_masks.ipynb.
    """
    lengths, max_len = _validate.padding_mask_args(lengths, max_len)
    positions = np.arange(max_len)  # (max_len,)
    return positions[None, :] < lengths[:, None]  # (batch, max_len)
