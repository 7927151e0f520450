"""Training data: a dataset from lgn_hw.datasets, encoded to input bits with lgn_hw.encoding.

The encoding is fitted on the training split only and travels with the netlist, so the hardware
and ``lgn-hw infer`` apply exactly the same thresholds to raw features.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

#: Seed of the validation split carved from the training data: fixed, so every run (whatever its
#: --seed) holds out the same rows and hyperparameters chosen on it compare like with like.
VALID_SEED = 0
#: Largest --valid-fraction: at least half of the training data is left to train on.
MAX_VALID_FRACTION = 0.5


class DataError(Exception):
    """The dataset cannot be loaded or encoded; the message is one line."""


@dataclass
class EncodedData:
    name: str
    encoding: object  # lgn_hw.encoding.Encoding
    bits_train: torch.Tensor  # uint8[N_train, n_inputs]
    y_train: torch.Tensor  # int64[N_train]
    bits_test: torch.Tensor  # uint8[N_test, n_inputs]
    y_test: torch.Tensor  # int64[N_test]
    x_test: np.ndarray  # raw test features (for checks through Netlist.evaluate_raw)
    n_classes: int
    bits_valid: torch.Tensor = None  # uint8[N_valid, n_inputs]: carved from the training data
    y_valid: torch.Tensor = None  # int64[N_valid]
    valid: dict = field(default_factory=dict)  # how the validation split was made (recorded)
    class_names: list = field(default_factory=list)  # recorded in the netlist's meta
    source: dict = field(default_factory=dict)  # a user's file: its column handling and split (meta)

    @property
    def n_inputs(self) -> int:
        return int(self.bits_train.shape[1])


def valid_split(ds, fraction: float):
    """(training part, validation part) of ``ds``'s training split, as two Datasets.

    A stratified split (``lgn_hw.datasets.stratified_split``) of ``round(fraction * N_train)``
    rows seeded by ``VALID_SEED``; the test split is untouched. ``fraction`` 0 gives an empty
    validation part.
    """
    from lgn_hw.datasets import stratified_split

    if not 0.0 <= fraction <= MAX_VALID_FRACTION:
        raise DataError(f"--valid-fraction must be in [0, {MAX_VALID_FRACTION}], got {fraction}")
    n_valid = int(round(fraction * len(ds.y_train)))
    if fraction > 0 and n_valid < ds.n_classes:
        raise DataError(f"--valid-fraction {fraction}: {n_valid} validation rows of {ds.name}'s "
                        f"{len(ds.y_train)} training rows is fewer than one per class ({ds.n_classes})")
    tr, va = stratified_split(ds.y_train, n_valid, VALID_SEED)
    y = np.asarray(ds.y_train)
    part = dataclasses.replace(ds, x_train=ds.x_train[tr], y_train=y[tr])
    held = dataclasses.replace(ds, x_train=ds.x_train[va], y_train=y[va])
    return part, held


def load_encoded(name: str, data_root=None, thresholds: int = 3, method: str = "uniform",
                 download: bool = False, valid_fraction: float = 0.0,
                 table: dict | None = None) -> EncodedData:
    """Load ``name`` (``download``: fetch missing files, MD5-checked), or a user's file with the
    column options ``table`` (``lgn_hw.datasets.tabular.load_tabular``), hold out
    ``valid_fraction`` of its training rows for validation (``valid_split``) and encode it. The
    encoding is fitted on the remaining training rows only."""
    from lgn_hw import datasets, encoding
    from lgn_hw.datasets.tabular import load_tabular

    try:
        full = (load_tabular(name, **(table or {})) if datasets.is_file_dataset(name)
                else datasets.load(name, data_root, download=download))
    except datasets.DatasetError as exc:
        raise DataError(str(exc)) from None
    ds, held = valid_split(full, valid_fraction)
    try:
        enc = encoding.for_dataset(ds, thresholds=thresholds, method=method)
    except ValueError as exc:
        raise DataError(f"cannot encode {name}: {exc}") from None
    from .limits import check_data
    check_data(name, len(full.y_train) + len(full.y_test), enc.n_bits)

    def bits(x):
        return torch.from_numpy(np.ascontiguousarray(enc.encode(x), dtype=np.uint8))

    return EncodedData(
        name=ds.name, encoding=enc,
        bits_train=bits(ds.x_train), y_train=torch.as_tensor(np.asarray(ds.y_train), dtype=torch.long),
        bits_test=bits(ds.x_test), y_test=torch.as_tensor(np.asarray(ds.y_test), dtype=torch.long),
        x_test=np.asarray(ds.x_test), n_classes=int(ds.n_classes),
        bits_valid=bits(held.x_train),
        y_valid=torch.as_tensor(np.asarray(held.y_train), dtype=torch.long),
        valid={"fraction": float(valid_fraction), "seed": VALID_SEED, "n": int(len(held.y_train)),
               "of": int(len(full.y_train))},
        class_names=list(ds.class_names), source=dict(ds.source),
    )


def load_for(cfg, download: bool = False) -> EncodedData:
    """The dataset of a resolved ``train.config.TrainConfig``, split and encoded as it asks."""
    table = {"label": cfg.label, "test": cfg.test, "test_fraction": cfg.test_fraction,
             "categorical": cfg.categorical, "numeric": cfg.numeric, "ignore": cfg.ignore,
             "missing": cfg.missing}
    return load_encoded(cfg.dataset, cfg.data_root, cfg.thresholds, cfg.encoding, download=download,
                        valid_fraction=cfg.valid_fraction, table=table)
