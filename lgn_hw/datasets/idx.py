"""MNIST-style IDX files: the parser and the ``mnist`` / ``fashion-mnist`` loaders.

Files keep their upstream names (``train-images-idx3-ubyte`` ...), gzip-compressed (``.gz``) or
not, under ``<root>/mnist/`` and ``<root>/fashion-mnist/``. The parser checks the magic number,
the element type, the dimensions and the exact file length, so a truncated or foreign file gives
a one-line ``DatasetError`` instead of a garbled array; the loaders then check the official split
sizes, the label range and the published checksum (``verify``). Images become int64[N, 784] pixels
0..255 (row-major, ``pixel_<row>_<col>``), the official 60,000 / 10,000 split.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

from lgn_hw.datasets import Dataset, DatasetError
from lgn_hw.datasets import verify
from lgn_hw.datasets.download import find_file, read_maybe_gzip

__all__ = ["parse_idx", "read_idx", "load_mnist", "load_fashion_mnist"]

_UBYTE = 0x08
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
#: Samples in the official split of MNIST and Fashion-MNIST.
SPLIT_SIZES = {"train": 60000, "test": 10000}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]


def parse_idx(data: bytes, what: str, ndim: int) -> np.ndarray:
    """Parse an unsigned-byte IDX file of ``ndim`` dimensions; ``what`` names it in errors."""
    if len(data) < 4:
        raise DatasetError(f"{what}: truncated IDX file ({len(data)} bytes, no header)")
    zero, dtype, nd = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != _UBYTE or nd != ndim:
        raise DatasetError(f"{what}: bad IDX magic 0x{data[:4].hex()} "
                           f"(expected 0x000008{ndim:02x}: unsigned bytes, {ndim} dimensions)")
    head = 4 + 4 * ndim
    if len(data) < head:
        raise DatasetError(f"{what}: truncated IDX file ({len(data)} bytes, header needs {head})")
    dims = struct.unpack(f">{ndim}I", data[4:head])
    expected = head + math.prod(dims)  # exact: a bogus header cannot overflow it
    if len(data) != expected:
        state = "truncated" if len(data) < expected else "oversized"
        raise DatasetError(f"{what}: {state} IDX file: {len(data)} bytes, dimensions {list(dims)} "
                           f"need {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=head).reshape(dims)


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read an IDX file (``.gz`` or not) as a uint8 array."""
    return parse_idx(read_maybe_gzip(path), str(path), ndim)


def _load_idx_dataset(name: str, folder: str, root: Path, download: bool,
                      class_names: list[str]) -> Dataset:
    arrays, files = {}, {}
    for key, base in FILES.items():
        rel = f"{folder}/{base}.gz"
        path = find_file(root, name, rel, (f"{folder}/{base}",), download)
        content = read_maybe_gzip(path)
        arrays[key] = parse_idx(content, str(path), 3 if key.endswith("images") else 1)
        files[key] = (path, rel, content)
    for split in ("train", "test"):
        imgs, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if imgs.shape[0] != labels.shape[0]:
            raise DatasetError(f"{name}: {split} has {imgs.shape[0]} images but {labels.shape[0]} labels")
        if imgs.shape[1:] != (28, 28):
            raise DatasetError(f"{name}: {split} images are {imgs.shape[1]}x{imgs.shape[2]}, expected 28x28")
        if imgs.shape[0] != SPLIT_SIZES[split]:
            raise DatasetError(f"{name}: {split} has {imgs.shape[0]} images, the official split "
                               f"{SPLIT_SIZES[split]}")
        if labels.size and labels.max() >= len(class_names):
            raise DatasetError(f"{name}: {split} label {int(labels.max())} out of range 0..{len(class_names) - 1}")
    for path, rel, content in files.values():
        verify.check(path, rel, content)
    n_pix = 28 * 28
    return Dataset(
        name=name,
        x_train=arrays["train_images"].reshape(-1, n_pix).astype(np.int64),
        y_train=arrays["train_labels"].astype(np.int64),
        x_test=arrays["test_images"].reshape(-1, n_pix).astype(np.int64),
        y_test=arrays["test_labels"].astype(np.int64),
        n_classes=len(class_names),
        feature_names=[f"pixel_{r}_{c}" for r in range(28) for c in range(28)],
        feature_kinds=["numeric"] * n_pix,
        feature_ranges=[(0, 255)] * n_pix,
        class_names=list(class_names),
        split="official train/test files",
    )


def load_mnist(root: Path, download: bool = False) -> Dataset:
    """MNIST from ``<root>/mnist/``."""
    return _load_idx_dataset("mnist", "mnist", root, download, [str(d) for d in range(10)])


def load_fashion_mnist(root: Path, download: bool = False) -> Dataset:
    """Fashion-MNIST from ``<root>/fashion-mnist/``."""
    return _load_idx_dataset("fashion-mnist", "fashion-mnist", root, download, FASHION_CLASSES)
