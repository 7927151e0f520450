"""Input encodings: how raw integer features become the input bits of a network.

Owns the ``encoding`` object of the Netlist (docs/netlist.md, *Encoding*): per feature a
``thermometer`` (bit j = ``x >= thresholds[j]``), ``onehot`` (bit j = ``x == values[j]``),
``binary`` (``x != 0``) or ``bits`` (bit j = ``(x >> bits[j]) & 1``, x >= 0) code, bits in
feature-major order. Training, the bit-packed evaluator and the
hardware encoder all use this one definition. A thermometer or bits feature with ``frac_bits`` takes real
values through the fixed-point map of ``lgn_hw.fixedpoint`` (``to_integers`` gives the integers
the hardware sees); a one-hot or binary feature may name its codes (``categories``). Builders make
uniform, per-feature quantile and raw-integer thermometer codes (threshold placement lives in
``lgn_hw.thresholds``), one-hot codes and the top bits of each integer (``bits_top``);
``for_dataset`` picks one per feature kind.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from lgn_hw import fixedpoint
from lgn_hw.feature import (KINDS, Feature, binary_feature, bits_feature, onehot_feature, port_width,
                            real_feature, thermometer_feature)
from lgn_hw.thresholds import quantile_thresholds, uniform_thresholds

__all__ = [
    "KINDS",
    "Feature",
    "Encoding",
    "thermometer_feature",
    "real_feature",
    "onehot_feature",
    "binary_feature",
    "bits_feature",
    "METHODS",
    "uniform_thresholds",
    "quantile_thresholds",
    "thermometer_uniform",
    "thermometer_quantile",
    "thermometer_raw",
    "onehot",
    "bits_top",
    "real_bits_feature",
    "for_dataset",
]

#: The ``method`` choices of ``for_dataset`` (and of ``python -m train --encoding``).
METHODS = ("uniform", "quantile", "bits")

_CHUNK_ROWS = 4096  # rows per encode chunk: bounds the temporary [rows, n_bits] arrays
#: ``Encoding.free_bits`` enumerates a feature's range up to this many integers (16-bit ports).
FREE_BITS_ENUM = 1 << 16


class Encoding:
    """An ordered list of features; ``encode`` maps raw ``x[N, F]`` to bits ``uint8[N, n_bits]``."""

    def __init__(self, features: Sequence[Feature]):
        self.features = list(features)
        if not self.features:
            raise ValueError("encoding.features: expected at least one feature")
        for i, f in enumerate(self.features):
            if not isinstance(f, Feature):
                raise ValueError(f"encoding.features[{i}]: expected a Feature, got {type(f).__name__}")
            f.validate(f"encoding.features[{i}]")
        sizes = [f.n_bits for f in self.features]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self._plan = None
        tops = [f.range[1] for f in self.features if f.kind == "bits"]
        # the narrowest unsigned type holding every bits feature's values: the shifts run on it
        self._plane_dtype = np.min_scalar_type(max(tops)) if tops else None

    # -- shape -------------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        return len(self.features)

    @property
    def n_bits(self) -> int:
        return int(self.offsets[-1])

    def bit_feature(self) -> np.ndarray:
        """int64[n_bits]: the feature index each bit comes from."""
        return np.repeat(np.arange(self.n_features), np.diff(self.offsets))

    def feature_bits(self, f: int) -> slice:
        """The slice of bit positions produced by feature ``f``."""
        return slice(int(self.offsets[f]), int(self.offsets[f + 1]))

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"features": [f.to_dict() for f in self.features]}

    @classmethod
    def from_dict(cls, d: Any) -> "Encoding":
        if not isinstance(d, dict):
            raise ValueError(f"encoding: expected an object, got {type(d).__name__}")
        extra = sorted(set(d) - {"features"})
        if extra:
            raise ValueError(f"encoding.{extra[0]}: unexpected field")
        feats = d.get("features")
        if not isinstance(feats, list) or not feats:
            raise ValueError("encoding.features: expected a non-empty list")
        return cls([Feature.from_dict(fd, f"encoding.features[{i}]") for i, fd in enumerate(feats)])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Encoding) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        kinds = {k: sum(f.kind == k for f in self.features) for k in KINDS}
        parts = ", ".join(f"{n} {'bit-plane' if k == 'bits' else k}" for k, n in kinds.items() if n)
        return f"Encoding({self.n_features} features: {parts}; {self.n_bits} bits)"

    # -- application -------------------------------------------------------------------------
    @property
    def mapped(self) -> list[int]:
        """Indices of the features with a fixed-point map (real raw values)."""
        return [i for i, f in enumerate(self.features) if f.frac_bits is not None]

    def _check_planes(self, x: np.ndarray) -> None:
        """The raw values of the ``bits`` features without a fixed-point map must be integers in
        their ranges (bit planes exist only of those): one vectorised check, and at a bad value
        the message ``Feature.to_integers`` gives for the first feature holding one."""
        idx = [i for i, f in enumerate(self.features) if f.kind == "bits" and f.frac_bits is None]
        if not idx:
            return
        sub = x if len(idx) == self.n_features else x[:, idx]
        lo = np.array([self.features[i].range[0] for i in idx])
        hi = np.array([self.features[i].range[1] for i in idx])
        ok = (sub >= lo) & (sub <= hi)
        if sub.dtype.kind == "f":
            ok &= np.floor(sub) == sub
        if not ok.all():
            i = idx[int(np.flatnonzero(~ok.all(axis=0))[0])]
            self.features[i].to_integers(x[:, i], f"feature {i}")  # raises, naming the value

    def to_integers(self, x: Any) -> np.ndarray:
        """int64[N, F]: the integers the hardware encoder takes for raw features ``x[N, F]``
        (``Feature.to_integers`` per feature; ValueError naming the feature otherwise)."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"to_integers: expected raw input of shape [N, {self.n_features}], "
                             f"got {list(x.shape)}")
        if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
            raise ValueError(f"to_integers: expected a numeric array, got dtype {x.dtype}")
        out = np.empty(x.shape, dtype=np.int64)
        for i, f in enumerate(self.features):
            out[:, i] = f.to_integers(x[:, i], f"feature {i}")
        return out

    def _compile(self):
        """Plan the vectorised encode: for each bit rank j (0 .. max bits per feature - 1), the
        features having a j-th bit, grouped by comparison (>=, ==, != 0, bit), with their constants."""
        if self._plan is None:
            F = self.n_features
            sizes = np.diff(self.offsets)
            t_max = int(sizes.max())
            const = np.zeros((F, t_max), dtype=np.float64)
            op = np.array([KINDS.index(f.kind) for f in self.features], dtype=np.int8)
            for i, f in enumerate(self.features):
                if f.kind == "thermometer":
                    const[i, :len(f.thresholds)] = f.thresholds
                elif f.kind == "onehot":
                    const[i, :len(f.values)] = f.values
                elif f.kind == "bits":
                    const[i, :len(f.bits)] = f.bits
            ranks = []
            for j in range(t_max):
                groups = []
                for k in range(len(KINDS)):
                    feats = np.flatnonzero((op == k) & (sizes > j))
                    if len(feats):
                        sel = slice(None) if len(feats) == F else feats
                        groups.append((k, sel, const[feats, j]))
                ranks.append(groups)
            # columns of the padded [F, t_max] layout that are real bits (None: all of them)
            valid = (np.arange(t_max)[None, :] < sizes[:, None]).reshape(-1)
            self._plan = (t_max, ranks, None if valid.all() else np.flatnonzero(valid))
        return self._plan

    def encode(self, x: Any) -> np.ndarray:
        """Encode raw features ``x[N, F]`` (ints, or floats) into bits ``uint8[N, n_bits]``."""
        x = np.asarray(x)
        if x.ndim == 1 and self.n_features == x.shape[0]:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"encode: expected raw input of shape [N, {self.n_features}], got {list(x.shape)}")
        if x.dtype == np.bool_:
            x = x.astype(np.int64)
        if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
            raise ValueError(f"encode: expected a numeric array, got dtype {x.dtype}")
        if self.mapped:  # real raw values -> the integers the thresholds compare (lgn_hw.fixedpoint)
            x = x.astype(np.float64)
            for i in self.mapped:
                x[:, i] = self.features[i].to_integers(x[:, i], f"feature {i}")
        self._check_planes(x)
        t_max, ranks, valid = self._compile()
        integer = np.issubdtype(x.dtype, np.integer)
        N, F = x.shape
        out = np.empty((N, self.n_bits), dtype=np.uint8)
        for start in range(0, N, _CHUNK_ROWS):
            xs = x[start:start + _CHUNK_ROWS]
            n = xs.shape[0]
            if F <= t_max:  # few, wide features (tabular one-hot): one comparison per feature
                self._encode_per_feature(xs, out[start:start + n], integer)
                continue
            buf = np.zeros((n, F, t_max), dtype=np.bool_)
            for j, groups in enumerate(ranks):
                for k, sel, c in groups:
                    if k == 0:  # thermometer: for an integer x, x >= t exactly when x >= ceil(t)
                        cc = _int_consts(np.ceil(c)) if integer else c
                        r = xs[:, sel] >= cc
                    elif k == 1:
                        r = xs[:, sel] == (c.astype(np.int64) if integer else c)
                    elif k == 2:
                        r = xs[:, sel] != 0
                    else:  # bits: integers here (_check_planes, or the fixed-point map)
                        pd = self._plane_dtype
                        r = (xs[:, sel].astype(pd) >> c.astype(pd)) & pd.type(1)
                    buf[:, sel, j] = r
            flat = buf.reshape(n, F * t_max)
            out[start:start + n] = flat if valid is None else flat[:, valid]
        return out

    def free_bits(self) -> np.ndarray:
        """bool[n_bits]: the bits that cost no logic in the hardware encoder (rtl/encoder.py).

        A bit is free when, over the integers of its feature's range, it is a constant or one
        wire of the feature's port (or that wire inverted, which the LUT reading it absorbs):
        every ``bits`` bit, the thermometer bit ``x >= 128`` of an 8-bit pixel, a threshold
        outside the range. Any other bit is a comparator (``x >= 64`` of a pixel is
        ``x[7] | x[6]``). Ranges of more than ``FREE_BITS_ENUM`` integers are not enumerated:
        there a ``bits`` bit or a constant is free and anything else counts as logic."""
        free = np.zeros(self.n_bits, dtype=bool)
        for f, feat in enumerate(self.features):
            s = self.feature_bits(f)
            lo, hi = (int(v) for v in feat.range)
            if hi - lo + 1 > FREE_BITS_ENUM:
                if feat.kind == "bits":
                    free[s] = True
                elif feat.kind == "thermometer":
                    c = np.ceil(np.asarray(feat.thresholds, dtype=np.float64))
                    free[s] = (c <= lo) | (c > hi)
                continue
            v = np.arange(lo, hi + 1, dtype=np.int64)
            out = np.empty((len(v), feat.n_bits), dtype=np.uint8)
            Encoding([feat])._encode_per_feature(v[:, None], out, integer=True)
            # the port: unsigned when lo >= 0, else two's complement (rtl.encoder.feature_shape)
            width = port_width(lo, hi) if lo >= 0 else 1 + max((-lo - 1).bit_length(), hi.bit_length())
            port = ((v[:, None] >> np.arange(width)) & 1).astype(np.uint8)  # [V, width]
            const = (out == out[:1]).all(axis=0)
            same = (out[:, :, None] == port[:, None, :]).all(axis=0).any(axis=1)
            inverted = (out[:, :, None] != port[:, None, :]).all(axis=0).any(axis=1)
            free[s] = const | same | inverted
        return free

    def _encode_per_feature(self, xs: np.ndarray, out: np.ndarray, integer: bool) -> None:
        for f, feat in enumerate(self.features):
            col = xs[:, f:f + 1]
            s = self.feature_bits(f)
            if feat.kind == "thermometer":
                t = feat.thresholds
                out[:, s] = col >= (_int_consts(np.ceil(t)) if integer else t)
            elif feat.kind == "onehot":
                out[:, s] = col == feat.values
            elif feat.kind == "bits":
                out[:, s] = (col.astype(np.int64) >> feat.bits) & 1  # few features: int64 is fine
            else:
                out[:, s] = col != 0


def _int_consts(c: np.ndarray) -> np.ndarray:
    """Integer-valued float constants as int64, saturated so that comparisons keep their meaning."""
    return np.clip(c, -(2.0 ** 62), 2.0 ** 62).astype(np.int64)




# -- encoding builders -------------------------------------------------------------------------
def _names(names: Sequence[str] | None, n: int) -> list[str]:
    if names is None:
        return [f"x{i}" for i in range(n)]
    if len(names) != n:
        raise ValueError(f"names: expected {n} names, got {len(names)}")
    return list(names)


def thermometer_uniform(ranges: Sequence[tuple[int, int]], n_thresholds: int,
                        names: Sequence[str] | None = None, integer: bool = True) -> Encoding:
    """Thermometer code with ``n_thresholds`` evenly spaced thresholds over each feature's range."""
    names = _names(names, len(ranges))
    return Encoding([thermometer_feature(nm, uniform_thresholds(lo, hi, n_thresholds, integer), (lo, hi))
                     for nm, (lo, hi) in zip(names, ranges)])


def thermometer_quantile(x_train: np.ndarray, n_thresholds: int, names: Sequence[str] | None = None,
                         ranges: Sequence[tuple[int, int]] | None = None) -> Encoding:
    """Thermometer code with per-feature quantile thresholds of ``x_train[N, F]``."""
    x_train = np.asarray(x_train)
    if x_train.ndim != 2 or x_train.shape[0] == 0:
        raise ValueError(f"x_train: expected a non-empty [N, F] array, got shape {list(x_train.shape)}")
    F = x_train.shape[1]
    names = _names(names, F)
    if ranges is None:
        ranges = [(math.floor(x_train[:, f].min()), math.ceil(x_train[:, f].max())) for f in range(F)]
    return Encoding([thermometer_feature(names[f], quantile_thresholds(x_train[:, f], n_thresholds), ranges[f])
                     for f in range(F)])


def thermometer_raw(n_features: int, thresholds: int | Sequence[int] = 3,
                    range: tuple[int, int] = (0, 255), names: Sequence[str] | None = None) -> Encoding:
    """The same integer thresholds in the raw domain for every feature (e.g. 8-bit pixels).

    ``thresholds`` is either a count (evenly spaced integers over ``range``, see
    ``uniform_thresholds``) or the explicit list of thresholds.
    """
    if isinstance(thresholds, (int, np.integer)):
        t = uniform_thresholds(range[0], range[1], int(thresholds), integer=True)
    else:
        t = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    names = _names(names, n_features)
    return Encoding([thermometer_feature(nm, t, range) for nm in names])


def onehot(values: Sequence[Sequence[int]], names: Sequence[str] | None = None,
           ranges: Sequence[tuple[int, int]] | None = None) -> Encoding:
    """One-hot code for categorical features; ``values[f]`` lists the codes of feature ``f``."""
    names = _names(names, len(values))
    if ranges is None:
        ranges = [None] * len(values)
    return Encoding([onehot_feature(nm, v, r) for nm, v, r in zip(names, values, ranges)])


def _top_positions(lo: int, hi: int, k: int) -> list[int]:
    """The ``k`` most significant positions of the port of ``[lo, hi]``, most significant first
    (all of them when the port has fewer than ``k`` bits)."""
    w = port_width(lo, hi)
    return list(range(w - 1, max(-1, w - 1 - int(k)), -1))


def bits_top(ranges: Sequence[tuple[int, int]], k: int, names: Sequence[str] | None = None) -> Encoding:
    """Each integer feature's ``k`` most significant port bits (``bits`` features; a port of
    fewer than ``k`` bits gives all of its bits). The hardware encoder is then wires only."""
    if int(k) < 1:
        raise ValueError(f"bits: expected at least 1 bit per feature, got {k}")
    names = _names(names, len(ranges))
    return Encoding([bits_feature(nm, _top_positions(lo, hi, k), (lo, hi)) for nm, (lo, hi) in zip(names, ranges)])


def real_bits_feature(name: str, column: np.ndarray, k: int) -> Feature:
    """The ``k`` most significant bits of a real, non-negative feature's fixed-point integer.

    ``frac_bits`` is the smallest ``s >= 0`` giving the training maximum a ``k``-bit integer
    (``s = 0`` for a column of integers, which then gives all its bits when it has fewer than
    ``k``; at most 53 bits): one more fractional bit would only append a bit below the ones taken.
    A negative value is refused (bit planes are of non-negative integers)."""
    col = np.asarray(column, dtype=np.float64).reshape(-1)
    if col.size == 0 or not np.isfinite(col).all():
        raise ValueError(f"feature {name!r}: the bits encoding needs finite training values")
    if col.min() < 0:
        raise ValueError(f"feature {name!r}: the bits encoding takes non-negative values, its minimum "
                         f"is {col.min():g} (use the uniform or quantile encoding)")
    target = min(int(k), 53)
    top = float(col.max())
    if top > fixedpoint.LIMIT:
        raise ValueError(f"feature {name!r}: values up to {top:g} exceed the 2**53 a fixed-point "
                         f"integer holds; rescale the column")
    s = 0 if top == 0 or np.all(np.floor(col) == col) else max(0, target - math.frexp(top)[1])
    if s > fixedpoint.MAX_FRAC_BITS:
        raise ValueError(f"feature {name!r}: values up to {top:g} need more than "
                         f"{fixedpoint.MAX_FRAC_BITS} fractional bits; rescale the column")
    q = fixedpoint.quantize(col, s, -fixedpoint.LIMIT, fixedpoint.LIMIT)
    lo, hi = int(q.min()), int(q.max())
    return bits_feature(name, _top_positions(lo, hi, k), (lo, hi), s)


def _categories(ds: Any, f: int, lo: int, hi: int) -> list[str] | None:
    """The dataset's names of the codes lo..hi of feature ``f``, when it has one per code."""
    vocab = ds.feature_values[f] if f < len(ds.feature_values) else None
    return list(vocab) if vocab is not None and lo == 0 and len(vocab) == hi - lo + 1 else None


def for_dataset(ds: Any, thresholds: int = 3, method: str = "uniform") -> Encoding:
    """An encoding for a ``lgn_hw.datasets.Dataset``: thermometer for numeric features (uniform
    over ``feature_ranges`` or per-feature quantiles of ``x_train``), thermometer with a fixed-point
    map for ``real`` features (thresholds uniform over, or at quantiles of, the training column;
    ``real_feature``), one-hot for categorical features (all codes of the range, named by the
    dataset's vocabulary), ``binary`` for two-valued categorical features.

    ``method="bits"`` gives each numeric feature instead its ``thresholds`` most significant port
    bits (``bits`` features, all the port's bits when it has fewer; a negative range is refused)
    and each real feature the same of its fixed-point integer (``real_bits_feature``);
    categorical features keep their codes."""
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(map(repr, METHODS))}, got {method!r}")
    feats = []
    for f, (name, kind, (lo, hi)) in enumerate(zip(ds.feature_names, ds.feature_kinds, ds.feature_ranges)):
        if kind == "categorical":
            names = _categories(ds, f, lo, hi)
            if hi - lo == 1:
                feats.append(binary_feature(name, (lo, hi), names) if lo == 0
                             else onehot_feature(name, [hi], (lo, hi), names))
            else:
                feats.append(onehot_feature(name, np.arange(lo, hi + 1), (lo, hi), names))
        elif kind == "numeric" and method == "bits":
            if lo < 0:
                raise ValueError(f"feature {name!r}: the bits encoding takes non-negative integers, its "
                                 f"range is [{lo}, {hi}] (use the uniform or quantile encoding)")
            feats.append(bits_feature(name, _top_positions(lo, hi, thresholds), (lo, hi)))
        elif kind == "real" and method == "bits":
            feats.append(real_bits_feature(name, ds.x_train[:, f], thresholds))
        elif kind == "numeric":
            t = (uniform_thresholds(lo, hi, thresholds) if method == "uniform"
                 else quantile_thresholds(ds.x_train[:, f], thresholds))
            feats.append(thermometer_feature(name, t, (lo, hi)))
        elif kind == "real":
            col = np.asarray(ds.x_train[:, f], dtype=np.float64)
            if col.size == 0:
                raise ValueError(f"feature {name!r}: no training values")
            integral = bool(np.all(np.floor(col) == col))
            t = (uniform_thresholds(col.min(), col.max(), thresholds, integer=integral)
                 if method == "uniform" else quantile_thresholds(col, thresholds))
            feats.append(real_feature(name, col, t))
        else:
            raise ValueError(f"feature_kinds[{f}]: unknown kind {kind!r} "
                             f"(expected 'numeric', 'real' or 'categorical')")
    return Encoding(feats)
