"""The bit-packed evaluator's kernels (numpy), used by :meth:`lgn_hw.netlist.Netlist.evaluate`.

Samples are packed 64 to a ``uint64`` word (sample ``i`` is bit ``i % 64`` of word ``i // 64``);
a layer is evaluated for all its gates at once as a mux tree over its truth tables, and a class
count is a popcount over the words of its group's signals.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pack_samples", "eval_layer_packed", "count_packed"]

# Gate-chunk budget of the evaluator's widest temporary, in uint64 words.
_EVAL_BUDGET_WORDS = 1 << 22


def pack_samples(bits) -> np.ndarray:
    """uint64[n_bits, ceil(N/64)]: sample ``i`` is bit ``i % 64`` of word ``i // 64``."""
    bits = np.asarray(bits).astype(bool)
    n, m = bits.shape
    n_words = (n + 63) // 64
    padded = np.zeros((m, n_words * 64), dtype=bool)
    padded[:, :n] = bits.T
    return np.packbits(padded, axis=1, bitorder="little").view("<u8").astype(np.uint64, copy=False)


def eval_layer_packed(layer, values: np.ndarray) -> np.ndarray:
    """Outputs uint64[G, W] of one layer from the packed signal values (a mux tree per gate,
    folding input 0 first: 2**n - 1 word-wide multiplexers)."""
    n = layer.fan_in
    g_total, w = len(layer), values.shape[1]
    out = np.empty((g_total, w), dtype=np.uint64)
    chunk = max(1, _EVAL_BUDGET_WORDS // max(1, (1 << max(0, n - 1)) * w))
    bitpos = np.arange(1 << n, dtype=np.uint64)
    for s in range(0, g_total, chunk):
        e = min(g_total, s + chunk)
        # table bits as all-ones / all-zeros words: [g, 2**n, 1]
        c = (np.uint64(0) - ((layer.tables[s:e, None] >> bitpos) & np.uint64(1)))[:, :, None]
        for k in range(n):
            x = values[layer.inputs[s:e, k]][:, None, :]  # [g, 1, W]
            lo, hi = c[:, 0::2], c[:, 1::2]
            c = lo ^ ((lo ^ hi) & x)
        out[s:e] = np.broadcast_to(c[:, 0], (e - s, w))
    return out


def count_packed(values: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """int64[n]: per-sample number of ones among ``values[group]`` (with multiplicity)."""
    total = np.zeros(values.shape[1] * 64, dtype=np.int64)
    step = max(1, (1 << 24) // max(1, values.shape[1] * 64))
    for s in range(0, len(group), step):
        rows = values[group[s:s + step]]
        total += np.unpackbits(rows.view(np.uint8), axis=1, bitorder="little").sum(
            axis=0, dtype=np.int64)
    return total[:n]
