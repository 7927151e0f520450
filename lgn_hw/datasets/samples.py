"""The rows a command runs a netlist on: a built-in dataset's split, or a user's file.

``netlist_samples(net, dataset, data_root, split)`` is the one place where ``lgn-hw infer``,
``sim``, ``run`` and ``verify`` turn a ``--dataset`` argument into raw features: a built-in name
loads that dataset's split; a file (``is_file_dataset``) is read with the column handling the
netlist records (``tabular.file_samples``: columns by name, in any order, the label optional).
Without ``--dataset`` the netlist's own ``meta.dataset`` is used: the built-in name, or for a
netlist trained on a file that file (its recorded test rows) or its ``--test`` file. The samples
are checked against the netlist (feature count, classes) and carry the class names to show
(``class_names``: the netlist's ``meta.class_names``, else the dataset's, else the indices).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lgn_hw.datasets import DatasetError, is_file_dataset, list_datasets, load

__all__ = ["Samples", "netlist_samples", "default_dataset", "class_names", "prediction_summary"]


@dataclass
class Samples:
    """Raw features ``x[N, F]`` (the encoding's input), labels (None when the file has none),
    a description (``"360 test samples of digits"``), the class names, and for a file the line
    (CSV) or row (arrays) each sample came from."""

    x: np.ndarray
    y: np.ndarray | None
    what: str
    class_names: list[str]
    rows: np.ndarray | None = None

    def __len__(self) -> int:
        return int(len(self.x))

    def head(self, n: int | None) -> "Samples":
        if n is None or n >= len(self):
            return self
        return Samples(self.x[:n], None if self.y is None else self.y[:n], self.what, self.class_names,
                       None if self.rows is None else self.rows[:n])


def default_dataset(meta) -> str | None:
    """The dataset a netlist's ``meta`` records: a built-in name, or the file it was trained on
    (its separate test file when it had one); None if it records none."""
    ds = meta.get("dataset") if isinstance(meta, dict) else None
    if isinstance(ds, dict):
        test = ds.get("test") if isinstance(ds.get("test"), dict) else {}
        ds = test.get("path") or ds.get("path") or ds.get("name")
    return ds if isinstance(ds, str) and ds else None


def class_names(net, fallback=None) -> list[str]:
    """Names of the netlist's classes: ``meta.class_names``, else ``fallback``, else "0", "1", ..."""
    n = net.n_classes
    for names in ((net.meta or {}).get("class_names"), fallback):
        if isinstance(names, list) and len(names) == n and all(isinstance(c, str) for c in names):
            return list(names)
    return [str(c) for c in range(n)]


def prediction_summary(pred: np.ndarray, names: list[str]) -> str:
    """``"<=50K 12,435, >50K 3,846"``: how many samples each class got, by name."""
    counts = np.bincount(np.asarray(pred, dtype=np.int64), minlength=len(names))
    return ", ".join(f"{n} {int(k):,}" for n, k in zip(names, counts))


def _check(net, x: np.ndarray, n_classes: int | None, what: str) -> None:
    if net.encoding is None:
        raise DatasetError("the netlist has no encoding (its inputs are bits): dataset features cannot "
                           "be fed to it")
    if x.shape[1] != net.encoding.n_features:
        raise DatasetError(f"the netlist's encoding expects {net.encoding.n_features} features, "
                           f"{what} has {x.shape[1]}")
    if n_classes is not None and n_classes != net.n_classes:
        raise DatasetError(f"the netlist has {net.n_classes} classes, {what} has {n_classes}")


def netlist_samples(net, dataset: str | None = None, data_root=None, split: str = "test",
                    download: bool = False, limit: int | None = None) -> Samples:
    """The samples ``net`` runs on (module docstring); DatasetError (one line) if there are none."""
    name = dataset or default_dataset(net.meta)
    if name is None:
        raise DatasetError("no dataset: the netlist's meta records none; pass --dataset (a built-in "
                           f"name: {', '.join(list_datasets())}; or a .csv/.npz/.npy file)")
    if is_file_dataset(name):
        from lgn_hw.datasets.tabular import file_samples

        x, y, rows, what = file_samples(name, net, split)
        _check(net, x, None, str(name))
        s = Samples(x, y, what, class_names(net), rows).head(limit)
        if len(s) < len(x):
            s.what = f"the first {len(s)} of the {what}"
        return s
    ds = load(name, data_root, download=download)
    x, y = (ds.x_test, ds.y_test) if split == "test" else (ds.x_train, ds.y_train)
    _check(net, x, ds.n_classes, f"dataset {ds.name}")
    s = Samples(x, np.asarray(y), "", class_names(net, ds.class_names)).head(limit)
    s.what = f"{len(s)} {split} samples of {ds.name}"
    return s
