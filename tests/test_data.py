"""train.data: datasets encoded to bits with the lgn_hw encoding; one-line errors."""
import numpy as np
import pytest

from train.data import DataError, load_encoded


def test_digits_encoded_with_recorded_encoding():
    d = load_encoded("digits", thresholds=4)
    assert d.n_inputs == 64 * 4 and d.n_classes == 10
    assert d.bits_train.dtype.is_floating_point is False and int(d.bits_train.max()) == 1
    np.testing.assert_array_equal(d.encoding.encode(d.x_test), d.bits_test.numpy())
    assert len(d.y_train) + len(d.y_test) == 1797


def test_mnist_from_data_root(data_root):
    d = load_encoded("mnist", data_root, thresholds=1)
    assert d.n_inputs == 784 and len(d.y_train) == 60000 and len(d.y_test) == 10000


def test_unknown_dataset():
    with pytest.raises(DataError, match="unknown dataset 'cifar'"):
        load_encoded("cifar")


def test_missing_files(tmp_path):
    with pytest.raises(DataError) as e:
        load_encoded("mnist", tmp_path)
    assert "\n" not in str(e.value) and "mnist" in str(e.value).lower()
