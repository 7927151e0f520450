"""train.augment: shifting encoded images equals encoding shifted images, on real data."""
import numpy as np
import pytest
import torch

from lgn_hw import datasets, encoding
from train.augment import AugmentError, ShiftAugment
from train.config import resolve
from train.data import load_encoded
from train.loop import train


def _shift_raw(x, H, W, dy, dx):
    """Reference: move every pixel by (dy, dx), zeros shifted in."""
    out = np.zeros_like(x.reshape(H, W))
    img = x.reshape(H, W)
    for r in range(H):
        for c in range(W):
            if 0 <= r - dy < H and 0 <= c - dx < W:
                out[r, c] = img[r - dy, c - dx]
    return out.reshape(-1)


def _check(ds, H, W, thresholds, shift, n=40, method="uniform"):
    enc = encoding.for_dataset(ds, thresholds=thresholds, method=method)
    aug = ShiftAugment(ds.name, enc, shift, seed=3)
    x = ds.x_train[:n]
    sh = aug.shifts(11, n)
    assert sh.abs().max() <= shift and (sh != 0).any()
    got = aug.apply(torch.from_numpy(enc.encode(x)), sh).numpy()
    ref = enc.encode(np.stack([_shift_raw(xi, H, W, int(dy), int(dx)) for xi, (dy, dx) in zip(x, sh)]))
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("thresholds,shift", [(1, 1), (3, 2), (4, 4)])
def test_digits_shift_equals_encoded_shift(thresholds, shift):
    _check(datasets.load("digits"), 8, 8, thresholds, shift)


def test_mnist_shift_equals_encoded_shift(data_root):
    _check(datasets.load("mnist", data_root), 28, 28, 2, 2, n=20)


@pytest.mark.parametrize("thresholds", [2, 9])  # 9 > the 5-bit port of 0..16: all 5 bits
def test_digits_bit_planes_shift_equals_encoded_shift(thresholds):
    _check(datasets.load("digits"), 8, 8, thresholds, 2, method="bits")


def test_shifts_depend_on_seed_and_step_only():
    ds = datasets.load("digits")
    enc = encoding.for_dataset(ds, thresholds=2)
    a, b = ShiftAugment("digits", enc, 2, seed=1), ShiftAugment("digits", enc, 2, seed=1)
    assert torch.equal(a.shifts(5, 64), b.shifts(5, 64))
    assert not torch.equal(a.shifts(5, 64), a.shifts(6, 64))
    assert not torch.equal(a.shifts(5, 64), ShiftAugment("digits", enc, 2, seed=2).shifts(5, 64))


def test_errors():
    ds = datasets.load("digits")
    enc = encoding.for_dataset(ds, thresholds=2)
    with pytest.raises(AugmentError, match="image dataset"):
        ShiftAugment("adult", enc, 1)
    with pytest.raises(AugmentError, match=r"must be in 1..4"):
        ShiftAugment("digits", enc, 0)
    small = encoding.thermometer_uniform([(0, 16)] * 10, 2)
    with pytest.raises(AugmentError, match="expected 8x8 pixels"):
        ShiftAugment("digits", small, 1)


def test_training_with_shifts_runs_and_discretizes(tmp_path):
    """Augmented training on digits: the batches differ from plain training (so the loss does),
    and the netlist still equals the torch model in eval mode on every test sample."""
    data = load_encoded("digits", thresholds=2, valid_fraction=0.1)
    small = dict(width="60,40", fan_in=4, epochs=2, batch_size=128, seed=4, thresholds=2)
    plain = train(resolve(**small), data, tmp_path / "plain", progress=False)
    shifted = train(resolve(augment_shift=1, **small), data, tmp_path / "shift", progress=False)
    assert shifted["torch_eval_matches_netlist"] is True
    assert shifted["train_loss"] != plain["train_loss"]
