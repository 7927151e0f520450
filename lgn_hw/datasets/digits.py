"""The built-in default dataset: scikit-learn's bundled 8x8 handwritten digits (no download).

1,797 images of 64 pixels with values 0..16, ten classes. There is no official split: a fixed
stratified split (``stratified_split`` with seed 0) keeps 360 images (about 20%, 36 per class)
for test and 1,437 for training; it does not depend on the scikit-learn version.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lgn_hw.datasets import Dataset, DatasetError, stratified_split

N_TEST = 360
SEED = 0


def load_digits(root: Path | None = None, download: bool = False) -> Dataset:
    """Load scikit-learn's digits (``root`` and ``download`` are accepted and unused)."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as exc:  # pragma: no cover - scikit-learn is a dependency
        raise DatasetError(f"digits: needs scikit-learn ({exc})") from None
    bunch = sk_load_digits()
    x = np.asarray(bunch.data).astype(np.int64)
    y = np.asarray(bunch.target).astype(np.int64)
    train, test = stratified_split(y, N_TEST, SEED)
    return Dataset(
        name="digits",
        x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test],
        n_classes=10,
        feature_names=[f"pixel_{r}_{c}" for r in range(8) for c in range(8)],
        feature_kinds=["numeric"] * 64,
        feature_ranges=[(0, 16)] * 64,
        class_names=[str(d) for d in range(10)],
        split=f"fixed stratified split, seed {SEED}: {len(train)} train / {len(test)} test",
    )
