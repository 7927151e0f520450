"""Datasets: the ``Dataset`` record, the data root, and ``load(name)`` over every known loader.

Owns the registry of dataset names (``digits``, ``mnist``, ``fashion-mnist``, ``adult``,
``breast-cancer``, ``monk1``..``monk3``) and where their files are looked for: the ``data_root``
argument, else the environment variable ``LGN_HW_DATA``, else ``~/.cache/lgn-hw/datasets``.
Raw features are int64 arrays in their natural integer domain (pixels 0..255, ages in years,
categorical codes 0..k-1), so the encoder's thresholds live in that domain too.
The file formats live in ``idx`` (MNIST-style) and ``uci`` (CSV-like UCI files); downloads and
checksums in ``download``; the built-in scikit-learn digits in ``digits``. A user's own CSV or
NumPy file (``is_file_dataset``) is read by ``tabular``; ``samples`` picks the rows a command runs
a netlist on, from a built-in split or a file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from lgn_hw import DATA_ENV

#: Image datasets and their (height, width): their features are the pixels in row-major order
#: (what 2-D wiring and shift augmentation in ``train`` rely on).
IMAGE_SHAPES = {"digits": (8, 8), "mnist": (28, 28), "fashion-mnist": (28, 28)}

__all__ = ["IMAGE_SHAPES", "Dataset", "DatasetError", "load", "list_datasets", "resolve_root", "stratified_split",
           "DEFAULT_ROOT", "FILE_SUFFIXES", "is_file_dataset"]

#: where datasets live when neither ``data_root`` nor ``LGN_HW_DATA`` is given
DEFAULT_ROOT = Path("~/.cache/lgn-hw/datasets")


class DatasetError(Exception):
    """A dataset cannot be loaded: missing or corrupt file, unknown name. The message is one line."""


@dataclass
class Dataset:
    """A classification dataset with an official (or documented fixed) train/test split."""

    name: str
    x_train: np.ndarray  # int64[N_train, F] (float64 for a user's file: real values, category codes)
    y_train: np.ndarray  # int64[N_train]
    x_test: np.ndarray  # int64[N_test, F] (float64 for a user's file)
    y_test: np.ndarray  # int64[N_test]
    n_classes: int
    feature_names: list[str]
    # per feature: "numeric" (integers in feature_ranges), "categorical" (codes) or "real" (any
    # finite number: the encoding maps it to integers with lgn_hw.fixedpoint)
    feature_kinds: list[str]
    feature_ranges: list[tuple[int, int]]  # raw integer domain [lo, hi] per feature
    class_names: list[str]
    feature_values: list[list[str] | None] = field(default_factory=list)  # vocabularies (categorical)
    split: str = ""  # how train/test were obtained
    source: dict = field(default_factory=dict)  # a user's file: path, digest, columns, split (meta)

    def __post_init__(self):
        F = self.x_train.shape[1]
        for attr in ("feature_names", "feature_kinds", "feature_ranges"):
            if len(getattr(self, attr)) != F:
                raise ValueError(f"{self.name}: {attr} has {len(getattr(self, attr))} entries for {F} features")
        if not self.feature_values:
            self.feature_values = [None] * F
        if len(self.class_names) != self.n_classes:
            raise ValueError(f"{self.name}: {len(self.class_names)} class names for {self.n_classes} classes")

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}: {len(self.y_train)} train / {len(self.y_test)} test, "
                f"{self.n_features} features, {self.n_classes} classes)")


def resolve_root(data_root: str | os.PathLike | None = None) -> Path:
    """The data root: ``data_root`` if given, else ``$LGN_HW_DATA``, else ``~/.cache/lgn-hw/datasets``."""
    if data_root is None or str(data_root) == "":
        data_root = os.environ.get(DATA_ENV) or DEFAULT_ROOT
    return Path(data_root).expanduser()


def stratified_split(y: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed, seeded stratified split: (train indices, test indices), both sorted.

    Each class gets a share of the ``n_test`` test rows proportional to its size (largest
    remainder rounding, ties to the lower class), the rows chosen by ``numpy.random.default_rng(seed)``.
    """
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    exact = counts * n_test / len(y)
    quota = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - quota), kind="stable")
    quota[order[: n_test - int(quota.sum())]] += 1
    rng = np.random.default_rng(seed)
    test = []
    for c, q in zip(classes, quota):
        rows = np.flatnonzero(y == c)
        test.append(rng.permutation(rows)[:q])
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(len(y)), test)
    return train, test


#: Endings of the files ``tabular`` reads (a pair of ``.npy`` files is written ``X.npy,Y.npy``).
FILE_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".npz", ".npy", ".parquet")


def is_file_dataset(name) -> bool:
    """Whether a ``--dataset`` argument names a user's file rather than a built-in dataset."""
    text = str(name)
    return text.lower().endswith(FILE_SUFFIXES) or (text not in _registry() and Path(text).is_file())


def _registry() -> dict[str, Callable[..., Dataset]]:
    from lgn_hw.datasets import digits, idx, uci

    return {
        "digits": digits.load_digits,
        "mnist": idx.load_mnist,
        "fashion-mnist": idx.load_fashion_mnist,
        "adult": uci.load_adult,
        "breast-cancer": uci.load_breast_cancer,
        "monk1": lambda root, download: uci.load_monk(1, root, download),
        "monk2": lambda root, download: uci.load_monk(2, root, download),
        "monk3": lambda root, download: uci.load_monk(3, root, download),
    }


def list_datasets() -> list[str]:
    """The names ``load`` accepts."""
    return list(_registry())


def load(name: str, data_root: str | os.PathLike | None = None, download: bool = False) -> Dataset:
    """Load dataset ``name`` from the data root (see ``resolve_root``).

    With ``download=True`` missing files are fetched from their upstream location and checked
    against known MD5 sums first. Raises ``DatasetError`` (one line) for an unknown name or a
    missing/corrupt file.
    """
    reg = _registry()
    if is_file_dataset(name):  # a user's file, with the default column handling
        from lgn_hw.datasets.tabular import load_tabular

        return load_tabular(name)
    key = str(name).strip().lower().replace("_", "-")
    if key not in reg:
        raise DatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(reg)} (or a "
                           f".csv/.npz/.npy file)")
    return reg[key](resolve_root(data_root), download)
