"""Input encodings: how raw integer features become the input bits of a network.

Owns the ``encoding`` object of the Netlist (docs/netlist.md, *Encoding*): per feature a
``thermometer`` (bit j = ``x >= thresholds[j]``), ``onehot`` (bit j = ``x == values[j]``) or
``binary`` (``x != 0``) code, bits in feature-major order. Training, the bit-packed evaluator and the
hardware encoder all use this one definition. Builders make uniform, per-feature quantile and
raw-integer thermometer codes (threshold placement lives in ``lgn_hw.thresholds``) and one-hot
codes; ``for_dataset`` picks one per feature kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Sequence

import numpy as np

from lgn_hw.thresholds import quantile_thresholds, uniform_thresholds

__all__ = [
    "KINDS",
    "Feature",
    "Encoding",
    "thermometer_feature",
    "onehot_feature",
    "binary_feature",
    "uniform_thresholds",
    "quantile_thresholds",
    "thermometer_uniform",
    "thermometer_quantile",
    "thermometer_raw",
    "onehot",
    "for_dataset",
]

KINDS = ("thermometer", "onehot", "binary")
_FIELDS = {"thermometer": {"name", "kind", "thresholds", "range"},
           "onehot": {"name", "kind", "values", "range"},
           "binary": {"name", "kind", "range"}}
_CHUNK_ROWS = 4096  # rows per encode chunk: bounds the temporary [rows, n_bits] arrays


def _is_int(v: Any) -> bool:
    return isinstance(v, (Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_num(v: Any) -> bool:
    return (isinstance(v, (Real, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
            and math.isfinite(float(v)))


def _plain_number(v: float) -> int | float:
    """A threshold as JSON wants it: an int when it is integral, else a float."""
    v = float(v)
    return int(v) if v.is_integer() else v


@dataclass(eq=False)
class Feature:
    """One raw feature and the bits it produces. ``range`` is the raw integer domain [lo, hi]."""

    name: str
    kind: str
    range: tuple[int, int]
    thresholds: np.ndarray | None = None  # float64, thermometer only
    values: np.ndarray | None = None  # int64, onehot only

    @property
    def n_bits(self) -> int:
        if self.kind == "thermometer":
            return len(self.thresholds)
        if self.kind == "onehot":
            return len(self.values)
        return 1

    def validate(self, path: str = "feature") -> None:
        """Raise ValueError naming ``path.<field>`` if this feature is malformed."""
        if not isinstance(self.name, str):
            raise ValueError(f"{path}.name: expected a string, got {type(self.name).__name__}")
        if self.kind not in KINDS:
            raise ValueError(f"{path}.kind: unknown kind {self.kind!r} (expected one of {', '.join(KINDS)})")
        r = self.range
        if (not isinstance(r, (list, tuple)) or len(r) != 2 or not all(_is_int(v) for v in r)
                or r[0] > r[1]):
            raise ValueError(f"{path}.range: expected [lo, hi] integers with lo <= hi, got {r!r}")
        if self.kind == "thermometer":
            t = self.thresholds
            if t is None or len(t) == 0:
                raise ValueError(f"{path}.thresholds: expected a non-empty list of numbers")
            if not np.all(np.isfinite(t)):
                raise ValueError(f"{path}.thresholds: not all finite numbers")
            if np.any(np.diff(t) <= 0):
                raise ValueError(f"{path}.thresholds: not strictly increasing")
        elif self.kind == "onehot":
            v = self.values
            if v is None or len(v) == 0:
                raise ValueError(f"{path}.values: expected a non-empty list of integers")
            if len(np.unique(v)) != len(v):
                raise ValueError(f"{path}.values: duplicate values")

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.kind == "thermometer":
            d["thresholds"] = [_plain_number(t) for t in self.thresholds]
        elif self.kind == "onehot":
            d["values"] = [int(v) for v in self.values]
        d["range"] = [int(self.range[0]), int(self.range[1])]
        return d

    @classmethod
    def from_dict(cls, d: Any, path: str = "feature") -> "Feature":
        if not isinstance(d, dict):
            raise ValueError(f"{path}: expected an object, got {type(d).__name__}")
        for key in ("name", "kind", "range"):
            if key not in d:
                raise ValueError(f"{path}.{key}: missing")
        kind = d["kind"]
        if kind not in KINDS:
            raise ValueError(f"{path}.kind: unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
        extra = sorted(set(d) - _FIELDS[kind])
        if extra:
            raise ValueError(f"{path}.{extra[0]}: unexpected field for a {kind} feature")
        r = d["range"]
        if not isinstance(r, list) or len(r) != 2 or not all(_is_int(v) for v in r):
            raise ValueError(f"{path}.range: expected [lo, hi] integers with lo <= hi, got {r!r}")
        thresholds = values = None
        if kind == "thermometer":
            t = d.get("thresholds")
            if not isinstance(t, list) or not all(_is_num(v) for v in t):
                raise ValueError(f"{path}.thresholds: expected a list of finite numbers")
            thresholds = np.asarray(t, dtype=np.float64).reshape(-1)
        elif kind == "onehot":
            v = d.get("values")
            if not isinstance(v, list) or not all(_is_int(x) for x in v):
                raise ValueError(f"{path}.values: expected a list of integers")
            values = np.asarray(v, dtype=np.int64).reshape(-1)
        feat = cls(d["name"], kind, (int(r[0]), int(r[1])), thresholds, values)
        feat.validate(path)
        return feat


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
        parts = ", ".join(f"{n} {k}" for k, n in kinds.items() if n)
        return f"Encoding({self.n_features} features: {parts}; {self.n_bits} bits)"

    # -- application -------------------------------------------------------------------------
    def _compile(self):
        """Plan the vectorised encode: for each bit rank j (0 .. max bits per feature - 1), the
        features having a j-th bit, grouped by comparison (>=, ==, != 0), with their constants."""
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
            ranks = []
            for j in range(t_max):
                groups = []
                for k in range(3):
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
                    else:
                        r = xs[:, sel] != 0
                    buf[:, sel, j] = r
            flat = buf.reshape(n, F * t_max)
            out[start:start + n] = flat if valid is None else flat[:, valid]
        return out

    def _encode_per_feature(self, xs: np.ndarray, out: np.ndarray, integer: bool) -> None:
        for f, feat in enumerate(self.features):
            col = xs[:, f:f + 1]
            s = self.feature_bits(f)
            if feat.kind == "thermometer":
                t = feat.thresholds
                out[:, s] = col >= (_int_consts(np.ceil(t)) if integer else t)
            elif feat.kind == "onehot":
                out[:, s] = col == feat.values
            else:
                out[:, s] = col != 0


def _int_consts(c: np.ndarray) -> np.ndarray:
    """Integer-valued float constants as int64, saturated so that comparisons keep their meaning."""
    return np.clip(c, -(2.0 ** 62), 2.0 ** 62).astype(np.int64)


# -- feature builders ------------------------------------------------------------------------
def thermometer_feature(name: str, thresholds: Sequence[float], range: tuple[int, int]) -> Feature:
    f = Feature(name, "thermometer", (int(range[0]), int(range[1])),
                thresholds=np.asarray(thresholds, dtype=np.float64).reshape(-1))
    f.validate(f"feature {name!r}")
    return f


def onehot_feature(name: str, values: Sequence[int], range: tuple[int, int] | None = None) -> Feature:
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    if range is None:
        range = (int(values.min()), int(values.max())) if len(values) else (0, 0)
    f = Feature(name, "onehot", (int(range[0]), int(range[1])), values=values)
    f.validate(f"feature {name!r}")
    return f


def binary_feature(name: str, range: tuple[int, int] = (0, 1)) -> Feature:
    f = Feature(name, "binary", (int(range[0]), int(range[1])))
    f.validate(f"feature {name!r}")
    return f


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


def for_dataset(ds: Any, thresholds: int = 3, method: str = "uniform") -> Encoding:
    """An encoding for a ``lgn_hw.datasets.Dataset``: thermometer for numeric features (uniform
    over ``feature_ranges`` or per-feature quantiles of ``x_train``), one-hot for categorical
    features (all codes of the range), ``binary`` for two-valued categorical features."""
    if method not in ("uniform", "quantile"):
        raise ValueError(f"method: expected 'uniform' or 'quantile', got {method!r}")
    feats = []
    for f, (name, kind, (lo, hi)) in enumerate(zip(ds.feature_names, ds.feature_kinds, ds.feature_ranges)):
        if kind == "categorical":
            if hi - lo == 1:
                feats.append(binary_feature(name, (lo, hi)) if lo == 0 else onehot_feature(name, [hi], (lo, hi)))
            else:
                feats.append(onehot_feature(name, np.arange(lo, hi + 1), (lo, hi)))
        elif kind == "numeric":
            t = (uniform_thresholds(lo, hi, thresholds) if method == "uniform"
                 else quantile_thresholds(ds.x_train[:, f], thresholds))
            feats.append(thermometer_feature(name, t, (lo, hi)))
        else:
            raise ValueError(f"feature_kinds[{f}]: unknown kind {kind!r} (expected 'numeric' or 'categorical')")
    return Encoding(feats)
