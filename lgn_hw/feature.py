"""One raw feature of an encoding and the bits it produces (docs/netlist.md, *Encoding*).

Owns the ``Feature`` record: its kinds (``thermometer``: bit j = ``x >= thresholds[j]``;
``onehot``: bit j = ``x == values[j]``; ``binary``: ``x != 0``; ``bits``: bit j =
``(x >> bits[j]) & 1`` of a non-negative integer, bit planes of the port), its fields and their
validation, JSON (de)serialisation, and ``to_integers``: the integers the hardware takes for raw
values (the fixed-point map of ``lgn_hw.fixedpoint`` for a thermometer or bits feature with
``frac_bits``). The feature builders live here too; ``lgn_hw.encoding`` combines features into an
``Encoding``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Sequence

import numpy as np

from lgn_hw import fixedpoint

__all__ = ["KINDS", "MAPPED_KINDS", "Feature", "port_width", "thermometer_feature", "real_feature",
           "onehot_feature", "binary_feature", "bits_feature"]

KINDS = ("thermometer", "onehot", "binary", "bits")
_FIELDS = {"thermometer": {"name", "kind", "thresholds", "range", "frac_bits"},
           "onehot": {"name", "kind", "values", "range", "categories"},
           "binary": {"name", "kind", "range", "categories"},
           "bits": {"name", "kind", "bits", "range", "frac_bits"}}
#: Kinds that may carry a fixed-point map (``frac_bits``).
MAPPED_KINDS = ("thermometer", "bits")


def port_width(lo: int, hi: int) -> int:
    """Bits of the unsigned hardware port of a range ``[lo, hi]`` with ``lo >= 0`` (at least one):
    the positions a ``bits`` feature may take are ``0 .. port_width - 1``."""
    return max(1, int(hi).bit_length())


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
    frac_bits: int | None = None  # thermometer/bits only: real raw values, lgn_hw.fixedpoint map
    categories: list[str] | None = None  # onehot/binary only: names of the codes lo..hi
    bits: np.ndarray | None = None  # int64, bits only: the port bit positions taken, in order

    @property
    def n_bits(self) -> int:
        if self.kind == "thermometer":
            return len(self.thresholds)
        if self.kind == "onehot":
            return len(self.values)
        if self.kind == "bits":
            return len(self.bits)
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
        elif self.kind == "bits":
            b = self.bits
            if r[0] < 0:
                raise ValueError(f"{path}.range: a bits feature takes non-negative integers, got {list(r)}")
            if b is None or len(b) == 0:
                raise ValueError(f"{path}.bits: expected a non-empty list of bit positions")
            w = port_width(*r)
            bad = [int(p) for p in b if not 0 <= p < w]
            if bad:
                raise ValueError(f"{path}.bits: position {bad[0]} is outside the {w}-bit port of the "
                                 f"range {list(r)} (positions 0..{w - 1})")
            if len(np.unique(b)) != len(b):
                raise ValueError(f"{path}.bits: duplicate positions")
        if self.frac_bits is not None:
            if self.kind not in MAPPED_KINDS:
                raise ValueError(f"{path}.frac_bits: only a thermometer or bits feature has a "
                                 f"fixed-point map")
            if not _is_int(self.frac_bits) or not 0 <= self.frac_bits <= fixedpoint.MAX_FRAC_BITS:
                raise ValueError(f"{path}.frac_bits: expected an integer in 0..{fixedpoint.MAX_FRAC_BITS}, "
                                 f"got {self.frac_bits!r}")
            if max(abs(r[0]), abs(r[1])) > fixedpoint.LIMIT:
                raise ValueError(f"{path}.range: a fixed-point range must lie within +-2**53, got {list(r)}")
        if self.categories is not None:
            c = self.categories
            if self.kind in MAPPED_KINDS:
                raise ValueError(f"{path}.categories: a {self.kind} feature has no categories")
            if not isinstance(c, (list, tuple)) or not all(isinstance(v, str) for v in c):
                raise ValueError(f"{path}.categories: expected a list of strings")
            if len(c) != r[1] - r[0] + 1:
                raise ValueError(f"{path}.categories: {len(c)} names for the {r[1] - r[0] + 1} codes "
                                 f"{r[0]}..{r[1]} of the range")
            if len(set(c)) != len(c):
                raise ValueError(f"{path}.categories: duplicate names")

    def to_integers(self, col: np.ndarray, path: str = "feature") -> np.ndarray:
        """The integers the hardware takes for raw values ``col``: the fixed-point map when the
        feature has ``frac_bits``, else the values themselves, which must be integers in ``range``."""
        lo, hi = self.range
        if self.frac_bits is not None:
            try:
                return fixedpoint.quantize(col, self.frac_bits, lo, hi)
            except ValueError as exc:
                raise ValueError(f"{path} ({self.name}): {exc}") from None
        col = np.asarray(col)
        if col.dtype.kind == "f":
            bad = np.flatnonzero(~(np.isfinite(col) & (np.floor(col) == col)))
            if bad.size:
                raise ValueError(f"{path} ({self.name}): value {float(col[bad[0]])!r} of sample {bad[0]} "
                                 f"is not an integer (the hardware takes integers)")
        col = col.astype(np.int64)
        bad = np.flatnonzero((col < lo) | (col > hi))
        if bad.size:
            raise ValueError(f"{path} ({self.name}): value {col[bad[0]]} of sample {bad[0]} is outside its "
                             f"range [{lo}, {hi}]")
        return col

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.kind == "thermometer":
            d["thresholds"] = [_plain_number(t) for t in self.thresholds]
        elif self.kind == "onehot":
            d["values"] = [int(v) for v in self.values]
        elif self.kind == "bits":
            d["bits"] = [int(v) for v in self.bits]
        d["range"] = [int(self.range[0]), int(self.range[1])]
        if self.frac_bits is not None:
            d["frac_bits"] = int(self.frac_bits)
        if self.categories is not None:
            d["categories"] = list(self.categories)
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
        thresholds = values = bits = None
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
        elif kind == "bits":
            v = d.get("bits")
            if not isinstance(v, list) or not all(_is_int(x) for x in v):
                raise ValueError(f"{path}.bits: expected a list of integer bit positions")
            if any(not 0 <= x < 2 ** 62 for x in v):  # int64 before the port check in validate
                bad = next(x for x in v if not 0 <= x < 2 ** 62)
                raise ValueError(f"{path}.bits: position {bad} is not a bit of the port")
            bits = np.asarray(v, dtype=np.int64).reshape(-1)
        frac_bits = d.get("frac_bits")
        if frac_bits is not None and not _is_int(frac_bits):
            raise ValueError(f"{path}.frac_bits: expected an integer, got {frac_bits!r}")
        categories = d.get("categories")
        if categories is not None and not (isinstance(categories, list)
                                           and all(isinstance(c, str) for c in categories)):
            raise ValueError(f"{path}.categories: expected a list of strings")
        feat = cls(d["name"], kind, (int(r[0]), int(r[1])), thresholds, values,
                   None if frac_bits is None else int(frac_bits), categories, bits)
        feat.validate(path)
        return feat



# -- feature builders ------------------------------------------------------------------------
def thermometer_feature(name: str, thresholds: Sequence[float], range: tuple[int, int],
                        frac_bits: int | None = None) -> Feature:
    f = Feature(name, "thermometer", (int(range[0]), int(range[1])),
                thresholds=np.asarray(thresholds, dtype=np.float64).reshape(-1), frac_bits=frac_bits)
    f.validate(f"feature {name!r}")
    return f


def real_feature(name: str, column: np.ndarray, thresholds: Sequence[float]) -> Feature:
    """A thermometer feature over real values: the fixed-point map ``lgn_hw.fixedpoint.fit``
    chooses for the training ``column`` and the real ``thresholds``, integer thresholds deduplicated."""
    fp = fixedpoint.fit(column, thresholds, f"feature {name!r}")
    return thermometer_feature(name, np.unique(fp.thresholds), fp.range, fp.frac_bits)


def onehot_feature(name: str, values: Sequence[int], range: tuple[int, int] | None = None,
                   categories: Sequence[str] | None = None) -> Feature:
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    if range is None:
        range = (int(values.min()), int(values.max())) if len(values) else (0, 0)
    f = Feature(name, "onehot", (int(range[0]), int(range[1])), values=values,
                categories=None if categories is None else list(categories))
    f.validate(f"feature {name!r}")
    return f


def binary_feature(name: str, range: tuple[int, int] = (0, 1),
                   categories: Sequence[str] | None = None) -> Feature:
    f = Feature(name, "binary", (int(range[0]), int(range[1])),
                categories=None if categories is None else list(categories))
    f.validate(f"feature {name!r}")
    return f


def bits_feature(name: str, bits: Sequence[int], range: tuple[int, int],
                 frac_bits: int | None = None) -> Feature:
    """Bit planes of a non-negative integer feature: bit j is ``(x >> bits[j]) & 1``."""
    f = Feature(name, "bits", (int(range[0]), int(range[1])), frac_bits=frac_bits,
                bits=np.asarray(bits, dtype=np.int64).reshape(-1))
    f.validate(f"feature {name!r}")
    return f
