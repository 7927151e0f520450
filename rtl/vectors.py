"""Test vectors shared by the simulators: packing inputs, the software oracle, comparing results.

Inputs are packed the way the core's ports are laid out: ``bits`` with input bit k at port bit k;
raw ``features`` with feature f at the offset of field ``f<f>`` in two's complement of its width.
Raw features become the port's integers through ``Encoding.to_integers`` (the fixed-point map of a
real feature, ``lgn_hw.fixedpoint``: the host side of the board), while the oracle encodes the raw
values themselves (``Netlist.evaluate_raw``), so a simulation checks the map too.
``counts`` come back as one integer, class c at bits ``[c*w, (c+1)*w)``. The oracle is always the
*unoptimised* netlist's ``evaluate`` / ``evaluate_raw`` (the contract), so a simulation also checks
the optimisation pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .encoder import feature_shape

__all__ = ["Vectors", "make_vectors", "random_inputs", "unpack_counts", "SimResult"]


def _pack_rows(bits: np.ndarray) -> list:
    """One Python int per row; column k becomes bit k."""
    bits = np.asarray(bits, dtype=np.uint8)
    if bits.shape[1] == 0:
        return [0] * bits.shape[0]
    packed = np.packbits(bits, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def _pack_features(x: np.ndarray, encoding) -> tuple[list, int]:
    widths = [feature_shape(f).width for f in encoding.features]
    offsets = np.concatenate([[0], np.cumsum(widths)]).astype(int)
    out = [0] * x.shape[0]
    for f, (w, off) in enumerate(zip(widths, offsets)):
        col = x[:, f].astype(np.int64) & ((1 << w) - 1)
        for n, v in enumerate(col.tolist()):
            out[n] |= v << int(off)
    return out, int(offsets[-1])


@dataclass
class Vectors:
    """Packed inputs and expected outputs for ``len(inputs)`` samples."""

    inputs: list  # Python ints, as driven onto the input port
    input_width: int
    counts: np.ndarray  # int64[N, C], expected
    pred: np.ndarray  # int64[N], expected

    def __len__(self):
        return len(self.inputs)


def make_vectors(netlist, data, *, raw_inputs: bool) -> Vectors:
    """Vectors from input bits ``data[N, n_inputs]`` or, with ``raw_inputs``, raw features
    ``[N, F]`` (ValueError naming the feature if one cannot be a port value)."""
    data = np.asarray(data)
    if raw_inputs:
        q = netlist.encoding.to_integers(data)
        counts, pred = netlist.evaluate_raw(data)
        inputs, width = _pack_features(q, netlist.encoding)
    else:
        counts, pred = netlist.evaluate(data)
        inputs, width = _pack_rows(data), netlist.n_inputs
    return Vectors(inputs, width, np.asarray(counts, np.int64), np.asarray(pred, np.int64))


def random_inputs(netlist, n: int, rng, *, raw_inputs: bool) -> np.ndarray:
    """``n`` random input bit vectors, or random raw features: integers in each range, for a
    real feature the values ``q * 2**-frac_bits`` that map to them (float64 then)."""
    rng = np.random.default_rng(rng)
    if not raw_inputs:
        return rng.integers(0, 2, size=(n, netlist.n_inputs), dtype=np.uint8)
    feats = netlist.encoding.features
    cols = [rng.integers(int(f.range[0]), int(f.range[1]), size=n, endpoint=True) for f in feats]
    if not any(f.frac_bits is not None for f in feats):
        return np.stack(cols, axis=1).astype(np.int64)
    return np.stack([np.ldexp(c.astype(np.float64), -f.frac_bits) if f.frac_bits is not None else c
                     for c, f in zip(cols, feats)], axis=1).astype(np.float64)


def unpack_counts(value: int, width: int, classes: int) -> list:
    mask = (1 << width) - 1
    return [(value >> (c * width)) & mask for c in range(classes)]


@dataclass
class SimResult:
    """Outcome of one simulation run."""

    simulator: str
    n: int
    seconds: float
    mismatches: list = field(default_factory=list)  # (sample, exp counts, got counts, exp, got)
    n_mismatch: int = 0
    cpu_seconds: float = 0.0  # CPU time of the simulation proper (steadier than wall time)

    @property
    def ok(self) -> bool:
        return self.n_mismatch == 0 and self.n > 0

    def summary(self) -> str:
        rate = self.n / self.seconds if self.seconds > 0 else float("inf")
        return (f"{self.n - self.n_mismatch}/{self.n} samples match "
                f"({self.simulator}, {rate:.0f} samples/s)")

    def details(self, limit: int = 5) -> list:
        lines = []
        for i, ec, gc, ep, gp in self.mismatches[:limit]:
            lines.append(f"  sample {i}: expected class {ep} counts {list(ec)}, "
                         f"got class {gp} counts {list(gc)}")
        return lines


def check(result: SimResult, vec: Vectors, index: int, got_counts: list, got_cls: int,
          keep: int = 20):
    """Compare one sample; record it in ``result`` when it differs."""
    exp = vec.counts[index]
    if got_cls != int(vec.pred[index]) or any(int(a) != b for a, b in zip(exp, got_counts)):
        result.n_mismatch += 1
        if len(result.mismatches) < keep:
            result.mismatches.append((index, [int(v) for v in exp], list(got_counts),
                                      int(vec.pred[index]), got_cls))
