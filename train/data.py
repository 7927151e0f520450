"""Training data: a dataset from lgn_hw.datasets, encoded to input bits with lgn_hw.encoding.

The encoding is fitted on the training split only and travels with the netlist, so the hardware
and ``lgn-hw infer`` apply exactly the same thresholds to raw features.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


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

    @property
    def n_inputs(self) -> int:
        return int(self.bits_train.shape[1])


def load_encoded(name: str, data_root=None, thresholds: int = 3, method: str = "uniform",
                 download: bool = False) -> EncodedData:
    """Load ``name`` (``download``: fetch missing files, MD5-checked) and encode it."""
    from lgn_hw import datasets, encoding

    try:
        ds = datasets.load(name, data_root, download=download)
    except datasets.DatasetError as exc:
        raise DataError(str(exc)) from None
    try:
        enc = encoding.for_dataset(ds, thresholds=thresholds, method=method)
    except ValueError as exc:
        raise DataError(f"cannot encode {name}: {exc}") from None

    def bits(x):
        return torch.from_numpy(np.ascontiguousarray(enc.encode(x), dtype=np.uint8))

    return EncodedData(
        name=ds.name, encoding=enc,
        bits_train=bits(ds.x_train), y_train=torch.as_tensor(np.asarray(ds.y_train), dtype=torch.long),
        bits_test=bits(ds.x_test), y_test=torch.as_tensor(np.asarray(ds.y_test), dtype=torch.long),
        x_test=np.asarray(ds.x_test), n_classes=int(ds.n_classes),
    )
