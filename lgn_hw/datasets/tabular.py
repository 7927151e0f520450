"""A user's own data: a CSV file or NumPy arrays as a ``Dataset`` (docs/data.md).

Readers (the standard library's ``csv`` and NumPy; docs/data.md says why no pandas):

* ``.csv`` / ``.tsv`` (either may be gzip-compressed, ``.csv.gz``): UTF-8 (a byte-order mark is
  skipped), comma-separated (tab for ``.tsv``), ``"``-quoting as Python's ``csv`` module reads it.
  The first non-blank line is the header (column names); blank lines are skipped; every other line
  must have one field per column. Fields are stripped of surrounding spaces.
* ``.npz``: arrays ``x`` (or ``X``) ``[N, F]`` and ``y`` ``[N]``, optionally ``x_test``/``y_test``
  and ``feature_names`` (``F`` strings; default ``x0`` ..). ``X.npy,Y.npy``: a pair of ``.npy``
  files. NumPy files are read with ``allow_pickle=False``: object arrays are refused, never unpickled.
* Parquet is refused with a pointer to CSV: no Parquet reader is a dependency.

``load_tabular`` infers the column handling on the training file (``lgn_hw.columns``), applies it
to that file and to ``test`` (a second file) or, without one, splits off a fixed stratified test
share (``test_fraction``, seed ``TEST_SEED``). The Dataset's ``source`` records the file, its
SHA-256, the columns and the split; training stores it in the netlist's ``meta.dataset``, and
``file_samples`` uses it to read any file the same way and, given the training file itself, to
recover exactly its test (or training) rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

from lgn_hw.columns import ColumnError, Schema, Table, infer_schema
from lgn_hw.datasets import Dataset, DatasetError, stratified_split

__all__ = ["TEST_SEED", "DEFAULT_TEST_FRACTION", "read_table", "load_tabular", "file_samples"]

#: Seed of the stratified test split carved from a file that comes without one (recorded).
TEST_SEED = 0
#: Share of the rows of such a file held out for test.
DEFAULT_TEST_FRACTION = 0.2


def _split_spec(path) -> tuple[str, ...]:
    text = str(path)
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 2 and all(p.lower().endswith(".npy") for p in parts):
        return tuple(parts)
    return (text,)


def _absolute(path) -> str:
    """``path`` as an absolute path (each file of an ``x.npy,y.npy`` pair): what a netlist's meta
    records, so that ``lgn-hw infer`` finds the file from any working directory."""
    return ",".join(os.path.abspath(p) for p in _split_spec(path))


def _read_bytes(path: Path, digest=None) -> bytes:
    """The file's bytes (decompressed for ``.gz``); ``digest`` (a hashlib object) is fed the
    bytes as stored."""
    from lgn_hw.datasets.download import MAX_FILE_BYTES, gunzip_bounded
    from lgn_hw.untrusted import FileRefused, read_regular

    try:  # a regular file of bounded size: a FIFO or a device is refused, never read
        data = read_regular(path, MAX_FILE_BYTES, "file")
    except FileRefused as exc:
        raise DatasetError(str(exc)) from None
    if digest is not None:
        digest.update(data)
    if path.name.lower().endswith(".gz"):
        try:
            data = gunzip_bounded(data, path)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetError(f"{path}: not a valid gzip file ({exc})") from None
    return data


def _read_csv(path: Path, data: bytes) -> Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DatasetError(f"{path}: line {line}: not UTF-8 text ({exc.reason})") from None
    delimiter = "\t" if path.name.lower().endswith((".tsv", ".tsv.gz")) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True,
                        strict=True)
    header, rows, lines = None, [], []
    try:
        for rec in reader:
            if not rec or rec == [""]:
                continue
            if header is None:
                header = [f.strip() for f in rec]
                for j, name in enumerate(header):
                    if not name:
                        raise DatasetError(f"{path}: line {reader.line_num}: column {j + 1} of the "
                                           f"header has no name")
                    if header.index(name) != j:
                        raise DatasetError(f"{path}: line {reader.line_num}: column name {name!r} "
                                           f"appears twice in the header")
                continue
            if len(rec) != len(header):
                raise DatasetError(f"{path}: line {reader.line_num}: {len(rec)} fields, the header "
                                   f"has {len(header)}")
            rows.append(rec)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DatasetError(f"{path}: line {reader.line_num}: {exc}") from None
    if header is None:
        raise DatasetError(f"{path}: empty file (expected a header line and data rows)")
    if not rows:
        raise DatasetError(f"{path}: no data rows after the header")
    cells = np.char.strip(np.array(rows, dtype=str))
    return Table(str(path), header, [cells[:, j] for j in range(len(header))],
                 np.array(lines, dtype=np.int64), "line")


def _array(path: Path, arr, what: str) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype.kind not in "biufUS":
        raise DatasetError(f"{path}: {what} has dtype {arr.dtype}: expected numbers or strings")
    return arr


def _array_table(path: str, x: np.ndarray, y: np.ndarray, names: Sequence[str] | None) -> Table:
    if x.ndim != 2:
        raise DatasetError(f"{path}: features must be a 2-D array [rows, columns], got shape {list(x.shape)}")
    if y.ndim != 1:
        raise DatasetError(f"{path}: labels must be a 1-D array, got shape {list(y.shape)}")
    if len(x) != len(y):
        raise DatasetError(f"{path}: {len(x)} feature rows but {len(y)} labels")
    if len(x) == 0:
        raise DatasetError(f"{path}: no rows")
    names = [f"x{j}" for j in range(x.shape[1])] if names is None else [str(n) for n in names]
    if len(names) != x.shape[1] or len(set(names + ["y"])) != len(names) + 1:
        raise DatasetError(f"{path}: feature_names must be {x.shape[1]} distinct names other than 'y'")
    return Table(path, names + ["y"], [x[:, j] for j in range(x.shape[1])] + [y],
                 np.arange(len(x), dtype=np.int64), "row")


def _numpy(path: Path, what: str, read):
    """``read()`` (a NumPy load or an .npz member access), its failures as one-line DatasetErrors."""
    try:
        return read()
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DatasetError(f"{path}: holds Python objects (a pickle); refusing to unpickle it: save "
                               f"numbers or strings") from None
        raise DatasetError(f"{path}: not a NumPy {what} file ({str(exc).splitlines()[0]})") from None
    except (OSError, EOFError, KeyError) as exc:
        raise DatasetError(f"{path}: not a NumPy {what} file ({exc})") from None


_MAGIC = {".npy": b"\x93NUMPY", ".npz": b"PK\x03\x04"}


def _load_npy(path: Path, data: bytes, what: str):
    if not data.startswith(_MAGIC[what]):  # anything else np.load would try to unpickle
        raise DatasetError(f"{path}: not a NumPy {what} file (it does not start like one)")
    return _numpy(path, what, lambda: np.load(io.BytesIO(data), allow_pickle=False))


def read_table(path) -> tuple[Table, Table | None, str]:
    """The table of a file (``X.npy,Y.npy`` for a pair), its own test table (an ``.npz`` with
    ``x_test``/``y_test``) or None, and the SHA-256 of the file(s) as stored. Raises DatasetError
    with one line."""
    spec = _split_spec(path)
    digest = hashlib.sha256()
    if len(spec) == 2:
        px, py = Path(spec[0]), Path(spec[1])
        x = _array(px, _load_npy(px, _read_bytes(px, digest), ".npy"), "the array")
        y = _array(py, _load_npy(py, _read_bytes(py, digest), ".npy"), "the array")
        return _array_table(str(path), x, y, None), None, digest.hexdigest()
    p = Path(spec[0])
    low = p.name.lower()
    if low.endswith(".parquet"):
        raise DatasetError(f"{p}: Parquet is not read (no Parquet reader is a dependency of lgn-hw); "
                           f"export the table to CSV")
    if low.endswith(".npy"):
        raise DatasetError(f"{p}: a .npy file holds one array: pass features and labels as X.npy,Y.npy")
    data = _read_bytes(p, digest)
    if not low.endswith(".npz"):
        return _read_csv(p, data), None, digest.hexdigest()
    z = _load_npy(p, data, ".npz")
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise DatasetError(f"{p}: not a NumPy .npz archive")
    with z:
        keys = set(z.files)
        xk = "x" if "x" in keys else "X" if "X" in keys else None
        if xk is None or "y" not in keys:
            raise DatasetError(f"{p}: expected arrays 'x' (or 'X') and 'y', found {', '.join(sorted(keys)) or 'none'}")
        if ("x_test" in keys) != ("y_test" in keys):
            raise DatasetError(f"{p}: has one of x_test/y_test but not the other")
        arr = {k: _array(p, _numpy(p, ".npz", lambda k=k: z[k]), k) for k in keys
               if k in (xk, "y", "x_test", "y_test", "feature_names")}
    names = arr["feature_names"].tolist() if "feature_names" in arr else None
    train = _array_table(str(p), arr[xk], arr["y"], names)
    test = _array_table(f"{p} (x_test)", arr["x_test"], arr["y_test"], names) if "x_test" in arr else None
    return train, test, digest.hexdigest()


def _dataset(name, schema: Schema, xy_train, xy_test, split: str, source: dict) -> Dataset:
    (x_tr, y_tr), (x_te, y_te) = xy_train, xy_test
    kinds, ranges, values = [], [], []
    for f, c in enumerate(schema.features):
        kinds.append(c.kind)
        values.append(c.categories)
        if c.kind == "categorical":
            ranges.append((0, len(c.categories) - 1))
        else:
            col = x_tr[:, f]
            ranges.append((int(np.floor(col.min())), int(np.ceil(col.max()))) if col.size else (0, 0))
    return Dataset(name=name, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te,
                   n_classes=len(schema.class_names), feature_names=[c.name for c in schema.features],
                   feature_kinds=kinds, feature_ranges=ranges, class_names=list(schema.class_names),
                   feature_values=values, split=split, source=source)


def load_tabular(path, *, label: str | None = None, test=None,
                 test_fraction: float = DEFAULT_TEST_FRACTION, categorical: Sequence[str] = (),
                 numeric: Sequence[str] = (), ignore: Sequence[str] = (),
                 missing: str = "error") -> Dataset:
    """A user's file as a Dataset (module docstring). Raises DatasetError with one line."""
    try:
        train, own_test, sha = read_table(path)
        schema = infer_schema(train, label, categorical, numeric, ignore, missing)
        x, y, _ = schema.apply(train, need_label=True)
        source = {"name": Path(_split_spec(path)[0]).name, "path": _absolute(path), "sha256": sha,
                  **schema.meta()}
        if test is not None:
            test_table, _, test_sha = read_table(test)
            x_te, y_te, _ = schema.apply(test_table, need_label=True)
            source["test"] = {"path": _absolute(test), "sha256": test_sha}
            split, xy_tr = f"{path} / test file {test}", (x, y)
        elif own_test is not None:
            x_te, y_te, _ = schema.apply(own_test, need_label=True)
            source["test"] = {"arrays": "x_test/y_test"}
            split, xy_tr = f"{path}: x/y and x_test/y_test", (x, y)
        else:
            n_test = _n_test(path, len(y), test_fraction, len(schema.class_names))
            tr, te = stratified_split(y, n_test, TEST_SEED)
            source["test"] = {"fraction": float(test_fraction), "seed": TEST_SEED, "rows": n_test}
            x_te, y_te = x[te], y[te]
            xy_tr = (x[tr], y[tr])
            split = f"fixed stratified split of {path}, seed {TEST_SEED}: {len(tr)} train / {n_test} test"
    except ColumnError as exc:
        raise DatasetError(str(exc)) from None
    return _dataset(source["name"], schema, xy_tr, (x_te, y_te), split, source)


def _n_test(path, n: int, fraction: float, classes: int) -> int:
    if not 0.0 < fraction < 1.0:
        raise DatasetError(f"--test-fraction must be between 0 and 1 (exclusive), got {fraction}")
    n_test = int(round(fraction * n))
    if n_test < 1 or n - n_test < classes:
        raise DatasetError(f"{path}: {n} rows cannot be split {n - n_test} train / {n_test} test "
                           f"(--test-fraction {fraction}, {classes} classes); pass --test FILE")
    return n_test


def _same_file(path, recorded) -> bool:
    """Whether ``path`` names the file(s) ``recorded`` (a netlist's training path) names."""
    if not isinstance(recorded, str):
        return False
    a, b = _split_spec(path), _split_spec(recorded)
    return len(a) == len(b) and all(Path(u).resolve() == Path(v).resolve() for u, v in zip(a, b))


def file_samples(path, net, split: str = "test"):
    """``(x, y or None, table rows, description)``: the rows of ``path`` read with the column
    handling ``net`` was trained with. The training file itself gives its recorded ``split``;
    any other file all its rows (an ``.npz``'s ``x_test`` part for ``split='test'`` if it has one).
    The training file changed since (another SHA-256 at its recorded path) is refused when the
    split was carved from it: its rows of that split are unknown."""
    try:
        schema = Schema.from_netlist(net)
        meta = net.meta["dataset"]
        train, own_test, sha = read_table(path)
        same = meta.get("sha256") == sha
        test = meta.get("test") or {}
        if same and "fraction" in test:
            x, y, rows = schema.apply(train, need_label=True)
            n_test = _n_test(path, len(y), float(test["fraction"]), len(schema.class_names))
            if n_test != test.get("rows", n_test):
                raise DatasetError(f"{path}: the split gives {n_test} test rows, the netlist records "
                                   f"{test['rows']}")
            tr, te = stratified_split(y, n_test, int(test.get("seed", TEST_SEED)))
            keep = te if split == "test" else tr
            return (x[keep], y[keep], rows[keep],
                    f"{len(keep)} {split} rows of {path} (its recorded split, seed {test.get('seed', TEST_SEED)})")
        if not same and "fraction" in test and _same_file(path, meta.get("path")):
            raise DatasetError(f"{path}: changed since this netlist was trained on it (its SHA-256 "
                               f"differs from the recorded one): its recorded {split} rows are unknown")
        if same and "path" in test and split == "test":
            raise DatasetError(f"{path} is this netlist's training file; its test rows are in "
                               f"{test['path']}: pass that file (or --split train)")
        table = own_test if (own_test is not None and split == "test") else train
        x, y, rows = schema.apply(table)
        part = " (x_test)" if table is own_test else ""
        return x, y, rows, f"{len(rows)} rows of {path}{part}"
    except ColumnError as exc:
        raise DatasetError(str(exc)) from None
