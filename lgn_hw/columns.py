"""Column handling of a user's table: which columns are features, how each one is encoded, and
how raw cells become the numbers an encoding takes (docs/data.md, *Columns*).

Owns the inference rules and the ``Schema`` they produce: per feature column its name and kind,
``real`` (a thermometer through a fixed-point map, ``lgn_hw.fixedpoint``) or ``categorical``
(one-hot over its categories; two categories make one bit), the label column and its class names,
the ignored columns and the missing-value policy. ``infer_schema`` decides them on a training
table; ``Schema.from_netlist`` rebuilds them from a trained netlist (encoding + ``meta.dataset``),
so inference handles columns exactly as training did. ``Schema.apply`` turns a table with those
columns (matched by name, in any order; the label optional) into raw features and class indices;
bad cells raise ``ColumnError`` with one line naming the file, row and column.

Inference, on the training table's non-missing cells: a column whose every cell is a finite
number is ``real``, unless it has at most two distinct values, or only integers and at most
``MAX_INT_CATEGORIES`` distinct values: then it is categorical. Any other column is categorical
on its text (at most ``MAX_CATEGORIES`` distinct values unless forced with ``categorical``),
except a column whose cells are mostly numbers that alone would make it real: its other cells are
refused as typos or missing-value markers (forcing ``categorical`` keeps them as categories).
Categories and classes are sorted: by value when all are numbers (named by ``number_text``), else
by text. A label column of more than ``MAX_INT_CATEGORIES`` classes, more than half of them with a
single row, is refused (a feature, as the default last column of a file without its label is).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from lgn_hw.feature import MAPPED_KINDS

__all__ = ["MAX_INT_CATEGORIES", "MAX_CATEGORIES", "MISSING", "ColumnError", "Table", "Column",
           "Schema", "infer_schema", "number_text"]

#: An integer column with at most this many distinct values is categorical (one-hot).
MAX_INT_CATEGORIES = 10
#: A text column with more distinct values than this is refused (an identifier?) unless forced.
MAX_CATEGORIES = 256
#: Missing-value policies: a missing cell is an error, or its row is dropped.
MISSING = ("error", "drop")


class ColumnError(ValueError):
    """A table that does not fit its schema (one line naming the file, row and column)."""


@dataclass
class Table:
    """Raw cells, one array per column: ``str`` arrays from a CSV, numeric (or ``str``) arrays
    from NumPy files. ``rows[i]`` names row ``i`` in messages (``row_word`` ``line`` for a CSV's
    physical line number, ``row`` for a 0-based array index)."""

    path: str
    names: list[str]
    columns: list[np.ndarray]
    rows: np.ndarray
    row_word: str = "line"

    @property
    def n_rows(self) -> int:
        return int(self.rows.size)

    def where(self, i: int, column: str) -> str:
        return f"{self.path}: {self.row_word} {int(self.rows[i])}, column {column!r}"

    def take(self, keep: np.ndarray) -> "Table":
        return Table(self.path, self.names, [c[keep] for c in self.columns], self.rows[keep],
                     self.row_word)

    def column(self, name: str) -> np.ndarray:
        return self.columns[self.names.index(name)]


def number_text(v: float) -> str:
    """The name of a numeric category or class: ``3`` for an integral value, else ``repr``."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 2 ** 53 else repr(v)


def _missing(col: np.ndarray) -> np.ndarray:
    if col.dtype.kind in "US":
        low = np.char.lower(np.char.strip(col.astype(str)))
        return (low == "") | (low == "nan")
    if col.dtype.kind == "f":
        return np.isnan(col)
    return np.zeros(col.shape, dtype=bool)


def _numbers(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values, mask of cells that are finite numbers) of a column."""
    if col.dtype.kind in "biuf":
        v = col.astype(np.float64)
        return v, np.isfinite(v)
    try:
        v = col.astype(np.float64)
    except ValueError:  # some cell is not a number: find them one by one
        v = np.full(col.shape, np.nan)
        for i, s in enumerate(col.tolist()):
            try:
                v[i] = float(s)
            except ValueError:
                pass
    return v, np.isfinite(v)


def _texts(col: np.ndarray) -> np.ndarray:
    """The category name of every cell: text as written, numbers by ``number_text``."""
    if col.dtype.kind in "US":
        return np.char.strip(col.astype(str))
    return np.array([number_text(v) for v in col.astype(np.float64).tolist()], dtype=str)


def _sorted_names(texts: np.ndarray) -> list[str]:
    names = sorted(set(texts.tolist()))
    values = []
    for s in names:
        try:
            values.append(float(s))
        except ValueError:
            return names
    if not all(math.isfinite(v) for v in values):
        return names
    by_value = sorted(zip(values, names))
    return [number_text(v) for v, _ in by_value] if len({v for v, _ in by_value}) == len(names) else names


def _codes(names: list[str], texts: np.ndarray, table: Table, column: str, what: str) -> np.ndarray:
    """Index of every cell's text in ``names`` (numbers matched by value); unseen -> ColumnError."""
    index = {n: i for i, n in enumerate(names)}
    numeric = _numeric_names(names)
    uniq, inverse = np.unique(texts, return_inverse=True)
    codes = np.full(uniq.size, -1, dtype=np.int64)
    for u, s in enumerate(uniq.tolist()):
        c = index.get(s)
        if c is None and numeric:
            try:
                c = index.get(number_text(float(s)))
            except ValueError:
                c = None
        codes[u] = -1 if c is None else c
    out = codes[inverse.reshape(-1)]
    if (out < 0).any():
        i = int(np.flatnonzero(out < 0)[0])
        known = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise ColumnError(f"{table.where(i, column)}: {what} {str(texts[i])!r} never seen in training "
                          f"(known: {known})")
    return out


def _numeric_names(names: list[str]) -> bool:
    try:
        return all(number_text(float(n)) == n for n in names)
    except ValueError:
        return False


@dataclass
class Column:
    """One feature column: ``real`` or ``categorical`` (with its category names, code = index)."""

    name: str
    kind: str
    categories: list[str] | None = None


@dataclass
class Schema:
    """How a table's columns become features (in ``features`` order) and classes."""

    features: list[Column]
    label: str
    class_names: list[str]
    ignored: list[str] = field(default_factory=list)
    missing: str = "error"

    def meta(self) -> dict:
        """What the netlist's ``meta.dataset`` records (the features live in its encoding)."""
        return {"label": self.label, "class_names": list(self.class_names),
                "ignored": list(self.ignored), "missing": self.missing}

    @classmethod
    def from_netlist(cls, net) -> "Schema":
        """The schema a netlist trained on a file was trained with; ColumnError if it has none."""
        meta = (net.meta or {}).get("dataset")
        enc = net.encoding
        if not isinstance(meta, dict) or "label" not in meta or enc is None:
            raise ColumnError("this netlist was not trained on a table (its meta records no label "
                              "column): pass one of the built-in dataset names")
        cols = []
        for f in enc.features:
            if f.kind in MAPPED_KINDS and f.frac_bits is not None:
                cols.append(Column(f.name, "real"))
            elif f.kind not in MAPPED_KINDS and f.categories is not None:
                cols.append(Column(f.name, "categorical", list(f.categories)))
            else:
                raise ColumnError(f"feature {f.name!r} of this netlist has no column handling "
                                  f"(no frac_bits or categories)")
        return cls(cols, str(meta["label"]), [str(c) for c in meta.get("class_names", [])],
                   [str(c) for c in meta.get("ignored", [])], str(meta.get("missing", "error")))

    def _check_columns(self, table: Table) -> None:
        known = {c.name for c in self.features} | set(self.ignored) | {self.label}
        for name in table.names:
            if name not in known:
                raise ColumnError(f"{table.path}: unknown column {name!r} (not a feature, the label "
                                  f"or an ignored column of the training data)")
        for c in self.features:
            if c.name not in table.names:
                raise ColumnError(f"{table.path}: no column {c.name!r} (a feature of the training data)")

    def drop_missing(self, table: Table, use_label: bool) -> Table:
        """``table`` without its rows with a missing cell (policy ``drop``), or ColumnError at
        the first missing cell (policy ``error``)."""
        used = [c.name for c in self.features] + ([self.label] if use_label else [])
        miss = np.zeros(table.n_rows, dtype=bool)
        for name in used:
            m = _missing(table.column(name))
            if self.missing == "error" and m.any():
                i = int(np.flatnonzero(m)[0])
                raise ColumnError(f"{table.where(i, name)}: missing value (empty or NaN; "
                                  f"--missing drop skips such rows)")
            miss |= m
        return table.take(~miss) if miss.any() else table

    def apply(self, table: Table, need_label: bool = False):
        """``(x float64[N, F], y int64[N] or None, table rows kept)``: the raw features in
        feature order (categorical columns as codes) and the class indices, if the label is there."""
        self._check_columns(table)
        has_label = self.label in table.names
        if need_label and not has_label:
            raise ColumnError(f"{table.path}: no label column {self.label!r}")
        table = self.drop_missing(table, has_label)
        x = np.empty((table.n_rows, len(self.features)), dtype=np.float64)
        for f, c in enumerate(self.features):
            col = table.column(c.name)
            if c.kind == "real":
                v, ok = _numbers(col)
                if not ok.all():
                    i = int(np.flatnonzero(~ok)[0])
                    raise ColumnError(f"{table.where(i, c.name)}: {col[i].item()!r} is not a finite number "
                                      f"(the column is numeric)")
                x[:, f] = v
            else:
                x[:, f] = _codes(c.categories, _texts(col), table, c.name, "category")
        y = (_codes(self.class_names, _texts(table.column(self.label)), table, self.label, "class")
             if has_label else None)
        return x, y, table.rows


def _real_numbers(values: np.ndarray) -> bool:
    """Whether finite ``values`` make a real column: more than two distinct values, and not only
    integers with at most ``MAX_INT_CATEGORIES`` distinct values."""
    distinct = np.unique(values)
    integral = bool(np.all(np.floor(distinct) == distinct))
    return not (distinct.size <= 2 or (integral and distinct.size <= MAX_INT_CATEGORIES))


def _infer_column(table: Table, name: str, force: str | None) -> Column:
    col = table.column(name)
    values, ok = _numbers(col)
    texts = None
    if force == "real" or (force is None and ok.all()):
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise ColumnError(f"{table.where(i, name)}: {col[i].item()!r} is not a finite number "
                              f"(--numeric {name})")
        if force == "real" or _real_numbers(values):
            return Column(name, "real")
        texts = _texts(values)
    if texts is None:
        texts = _texts(col)
    names = _sorted_names(texts)
    if force is None and ok.mean() > 0.5 and (len(names) > MAX_CATEGORIES or _real_numbers(values[ok])):
        # mostly numbers that alone would make a real column: the other cells are typos or
        # missing-value markers, not categories
        bad = sorted(set(texts[~ok].tolist()))
        i = int(np.flatnonzero(~ok)[0])
        raise ColumnError(f"{table.where(i, name)}: a numeric column except for the values "
                          f"{', '.join(map(repr, bad[:3]))}: leave missing cells empty, or pass "
                          f"--categorical {name}")
    if force is None and len(names) > MAX_CATEGORIES:
        raise ColumnError(f"{table.path}: column {name!r} has {len(names)} distinct non-numeric values "
                          f"(an identifier?): --ignore {name}, or --categorical {name} to one-hot it")
    return Column(name, "categorical", names)


def infer_schema(table: Table, label: str | None = None, categorical: Sequence[str] = (),
                 numeric: Sequence[str] = (), ignore: Sequence[str] = (),
                 missing: str = "error") -> Schema:
    """The schema of a training table: ``label`` (default: the last column), the kinds inferred
    per column (module docstring) unless forced by ``categorical``/``numeric``; ``ignore``d
    columns are skipped. Missing cells follow ``missing`` before anything is inferred."""
    if missing not in MISSING:
        raise ColumnError(f"--missing must be one of {', '.join(MISSING)}, got {missing!r}")
    label = table.names[-1] if label is None else label
    opts = {"--label": [label], "--categorical": list(categorical), "--numeric": list(numeric),
            "--ignore": list(ignore)}
    for opt, names in opts.items():
        for n in names:
            if n not in table.names:
                raise ColumnError(f"{table.path}: {opt} {n}: no such column (columns: "
                                  f"{', '.join(table.names[:12])}{', ...' if len(table.names) > 12 else ''})")
    seen: dict[str, str] = {}
    for opt, names in opts.items():
        for n in names:
            if n in seen and seen[n] != opt:
                raise ColumnError(f"column {n!r} is given to both {seen[n]} and {opt}")
            seen[n] = opt
    used = [n for n in table.names if n != label and n not in ignore]
    if not used:
        raise ColumnError(f"{table.path}: no feature columns (only the label {label!r}"
                          f"{' and ignored columns' if ignore else ''})")
    schema = Schema([Column(n, "real") for n in used], label, [], list(ignore), missing)
    table = schema.drop_missing(table, True)
    if table.n_rows == 0:
        raise ColumnError(f"{table.path}: no rows left without missing values")
    force = {**{n: "categorical" for n in categorical}, **{n: "real" for n in numeric}}
    schema.features = [_infer_column(table, n, force.get(n)) for n in used]
    schema.class_names = _sorted_names(_texts(table.column(label)))
    if len(schema.class_names) < 2:
        raise ColumnError(f"{table.path}: the label column {label!r} has a single class "
                          f"({schema.class_names[0]!r}): nothing to learn")
    texts = _texts(table.column(label))
    codes = _codes(schema.class_names, texts, table, label, "class")
    counts = np.bincount(codes, minlength=len(schema.class_names))
    single = int((counts == 1).sum())
    if len(schema.class_names) > MAX_INT_CATEGORIES and 2 * single > len(schema.class_names):
        # a feature (the last column of a file without its label?), not classes
        i = int(np.flatnonzero(counts[codes] == 1)[0])
        raise ColumnError(f"{table.where(i, label)}: {single} of the {len(schema.class_names)} classes of "
                          f"the label column have a single row (as {str(texts[i])!r} here): not a column "
                          f"of classes; pass --label NAME (the default is the last column)")
    return schema
