"""Tests for lgn_hw.datasets: the real files (official split sizes and label counts), the IDX
parser (.gz vs plain, truncation, magic), UCI parsing details, errors and checksummed downloads."""

import gzip
import shutil

import numpy as np
import pytest

from lgn_hw.datasets import DatasetError, list_datasets, load, resolve_root, stratified_split
from lgn_hw.datasets import download as dl
from lgn_hw.datasets.idx import parse_idx

MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte"]


def _check_common(ds):
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        assert x.dtype == np.int64 and y.dtype == np.int64
        assert x.ndim == 2 and x.shape[0] == y.shape[0] and x.shape[1] == ds.n_features
        assert y.min() >= 0 and y.max() < ds.n_classes
        lo = np.array([r[0] for r in ds.feature_ranges])
        hi = np.array([r[1] for r in ds.feature_ranges])
        assert np.all(x >= lo) and np.all(x <= hi), "raw values outside the declared feature ranges"
    assert set(ds.feature_kinds) <= {"numeric", "categorical"}
    for kind, vocab, (lo, hi) in zip(ds.feature_kinds, ds.feature_values, ds.feature_ranges):
        if vocab is not None:
            assert (lo, hi) == (0, len(vocab) - 1)


def test_list_datasets():
    assert list_datasets() == ["digits", "mnist", "fashion-mnist", "adult", "breast-cancer",
                               "monk1", "monk2", "monk3"]


def test_mnist_official_split(data_root):
    ds = load("mnist", data_root)
    _check_common(ds)
    assert ds.x_train.shape == (60000, 784) and ds.x_test.shape == (10000, 784)
    assert ds.feature_ranges[0] == (0, 255) and ds.x_train.max() == 255 and ds.x_train.min() == 0
    assert list(np.bincount(ds.y_test)) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert list(np.bincount(ds.y_train)) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_mnist_gz_and_uncompressed_give_the_same_arrays(data_root, tmp_path):
    (tmp_path / "mnist").mkdir()
    for name in MNIST_FILES:
        with gzip.open(data_root / "mnist" / f"{name}.gz") as src:
            (tmp_path / "mnist" / name).write_bytes(src.read())
    plain, packed = load("mnist", tmp_path), load("mnist", data_root)
    for attr in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(plain, attr), getattr(packed, attr))
    # the uncompressed content is the upstream content (README's MD5 sums)
    for name in MNIST_FILES:
        _, md5, _ = dl.SOURCES[f"mnist/{name}.gz"]
        assert dl.md5_hex((tmp_path / "mnist" / name).read_bytes()) == md5


def _copy_labels_only(data_root, tmp_path):
    (tmp_path / "mnist").mkdir()
    for name in MNIST_FILES:
        shutil.copy(data_root / "mnist" / f"{name}.gz", tmp_path / "mnist" / f"{name}.gz")
    return tmp_path / "mnist"


def test_truncated_gzip_is_a_clear_error(data_root, tmp_path):
    folder = _copy_labels_only(data_root, tmp_path)
    p = folder / "t10k-labels-idx1-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte\.gz: corrupt or truncated gzip file"):
        load("mnist", tmp_path)


def test_truncated_uncompressed_idx_is_a_clear_error(data_root, tmp_path):
    folder = _copy_labels_only(data_root, tmp_path)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with gzip.open(data_root / "mnist" / "t10k-images-idx3-ubyte.gz") as src:
        (folder / "t10k-images-idx3-ubyte").write_bytes(src.read()[:-784])
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte: truncated IDX file: 7839232 bytes, "
                                           r"dimensions \[10000, 28, 28\] need 7840016"):
        load("mnist", tmp_path)


def test_parse_idx_checks():
    good = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([1, 2, 3])
    np.testing.assert_array_equal(parse_idx(good, "f", 1), [1, 2, 3])
    with pytest.raises(DatasetError, match=r"^f: bad IDX magic 0x00000803 \(expected 0x00000801"):
        parse_idx(bytes([0, 0, 8, 3]) + bytes(12), "f", 1)
    with pytest.raises(DatasetError, match=r"^f: bad IDX magic"):
        parse_idx(bytes([0, 0, 0x0D, 1]) + (3).to_bytes(4, "big") + bytes(12), "f", 1)  # float data
    with pytest.raises(DatasetError, match=r"^f: truncated IDX file \(2 bytes, no header\)"):
        parse_idx(b"\x00\x00", "f", 1)
    with pytest.raises(DatasetError, match=r"^f: truncated IDX file \(6 bytes, header needs 8\)"):
        parse_idx(good[:6], "f", 1)
    with pytest.raises(DatasetError, match=r"^f: oversized IDX file"):
        parse_idx(good + b"\x00", "f", 1)


def test_image_label_count_mismatch(data_root, tmp_path):
    folder = _copy_labels_only(data_root, tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    (folder / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + (2).to_bytes(4, "big") + b"\x01\x02")
    with pytest.raises(DatasetError, match=r"^mnist: test has 10000 images but 2 labels$"):
        load("mnist", tmp_path)


def test_adult_official_split(data_root):
    ds = load("adult", data_root)
    _check_common(ds)
    assert len(ds.y_train) == 32561 and len(ds.y_test) == 16281
    assert ds.class_names == ["<=50K", ">50K"]
    # test labels carry a trailing '.': stripped, so both classes appear with the official counts
    assert list(np.bincount(ds.y_train)) == [24720, 7841]
    assert list(np.bincount(ds.y_test)) == [12435, 3846]
    assert ds.n_features == 14 and ds.feature_kinds.count("categorical") == 8
    # '?' is its own category, the last code
    for name, train_missing, test_missing in (("workclass", 1836, 963), ("occupation", 1843, 966),
                                              ("native-country", 583, 274)):
        f = ds.feature_names.index(name)
        assert ds.feature_values[f][-1] == "?"
        q = len(ds.feature_values[f]) - 1
        assert (ds.x_train[:, f] == q).sum() == train_missing and (ds.x_test[:, f] == q).sum() == test_missing
    # first row of adult.data: 39, State-gov, 77516, Bachelors, 13, ..., 2174, 0, 40, United-States
    first = ds.x_train[0]
    assert first[ds.feature_names.index("age")] == 39 and first[ds.feature_names.index("fnlwgt")] == 77516
    assert ds.feature_values[1][first[1]] == "State-gov" and first[10] == 2174 and first[12] == 40
    assert ds.y_train[0] == 0


def test_breast_cancer(data_root):
    ds = load("breast-cancer", data_root)
    _check_common(ds)
    y = np.concatenate([ds.y_train, ds.y_test])
    assert len(y) == 286 and list(np.bincount(y)) == [201, 85]
    assert len(ds.y_test) == 57 and list(np.bincount(ds.y_test)) == [40, 17]
    # first file row: no-recurrence-events,30-39,premeno,30-34,0-2,no,3,left,left_low,no
    row = np.array([2, 2, 6, 0, 0, 2, 0, 1, 0])
    both = np.concatenate([ds.x_train, ds.x_test])
    assert (both == row).all(axis=1).any()
    assert ds.feature_values[ds.feature_names.index("inv-nodes")][-1] == "36-39"
    assert ds.feature_kinds[ds.feature_names.index("age")] == "numeric"
    assert ds.feature_kinds[ds.feature_names.index("menopause")] == "categorical"
    again = load("breast-cancer", data_root)
    np.testing.assert_array_equal(again.y_test, ds.y_test)  # the split is fixed


@pytest.mark.parametrize("problem, n_train", [(1, 124), (2, 169), (3, 122)])
def test_monk_official_splits(data_root, problem, n_train):
    ds = load(f"monk{problem}", data_root)
    _check_common(ds)
    assert len(ds.y_train) == n_train and len(ds.y_test) == 432
    assert ds.feature_names == ["a1", "a2", "a3", "a4", "a5", "a6"]
    assert ds.feature_ranges == [(0, 2), (0, 2), (0, 1), (0, 2), (0, 3), (0, 1)]
    if problem == 1:  # monks-1.train line 1: " 1 1 1 1 1 3 1 data_5"; the concept a1 == a2 or a5 == 1
        np.testing.assert_array_equal(ds.x_train[0], [0, 0, 0, 0, 2, 0])
        assert ds.y_train[0] == 1
        x = np.concatenate([ds.x_train, ds.x_test])
        y = np.concatenate([ds.y_train, ds.y_test])
        np.testing.assert_array_equal(y, (x[:, 0] == x[:, 1]) | (x[:, 4] == 0))


def test_digits_fixed_stratified_split():
    ds = load("digits")
    _check_common(ds)
    assert ds.x_train.shape == (1437, 64) and ds.x_test.shape == (360, 64)
    counts = np.bincount(ds.y_test)
    assert counts.sum() == 360 and counts.min() >= 35 and counts.max() <= 37
    np.testing.assert_array_equal(load("digits").x_test, ds.x_test)


def test_stratified_split_properties():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    train, test = stratified_split(y, 25, seed=3)
    assert len(test) == 25 and len(np.intersect1d(train, test)) == 0
    assert len(train) + len(test) == 100
    assert list(np.bincount(y[test])) == [13, 7, 5]  # 12.5, 7.5, 5: largest remainder, ties to class 0
    np.testing.assert_array_equal(stratified_split(y, 25, seed=3)[1], test)
    assert not np.array_equal(stratified_split(y, 25, seed=4)[1], test)


def test_missing_file_message(tmp_path):
    with pytest.raises(DatasetError) as info:
        load("adult", tmp_path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("adult: missing file uci/adult.data (looked in ")
    assert str(tmp_path / "uci" / "adult.data") in msg
    assert "--download" in msg and "LGN_HW_DATA" in msg
    with pytest.raises(DatasetError, match=r"mnist/train-images-idx3-ubyte\.gz.*looked in .*"
                                           r"train-images-idx3-ubyte\.gz, .*mnist/train-images-idx3-ubyte\)"):
        load("mnist", tmp_path)


def test_unknown_name_lists_known():
    with pytest.raises(DatasetError, match=r"^unknown dataset 'cifar'; known datasets: digits, mnist, "
                                           r"fashion-mnist, adult, breast-cancer, monk1, monk2, monk3 "
                                           r"\(or a .csv/.npz/.npy file\)$"):
        load("cifar")


def test_data_root_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("LGN_HW_DATA", str(tmp_path))
    assert resolve_root() == tmp_path
    assert resolve_root("/x/y") == type(tmp_path)("/x/y")
    monkeypatch.delenv("LGN_HW_DATA")
    assert str(resolve_root()).endswith(".cache/lgn-hw/datasets")
    assert "~" not in str(resolve_root())


def test_bad_uci_value_names_file_and_line(tmp_path, data_root):
    (tmp_path / "uci").mkdir()
    lines = (data_root / "uci" / "monks-2.train").read_text().splitlines()
    lines[4] = lines[4].replace(" 1 ", " 7 ", 1) if " 1 " in lines[4] else " 1 7 1 1 1 1 1 data_x"
    (tmp_path / "uci" / "monks-2.train").write_text("\n".join(lines) + "\n")
    shutil.copy(data_root / "uci" / "monks-2.test", tmp_path / "uci")
    with pytest.raises(DatasetError, match=r"monks-2\.train:5: unexpected a\d value '7'$"):
        load("monk2", tmp_path)


def test_download_via_file_urls(tmp_path, data_root, monkeypatch):
    """download=True fetches, verifies the MD5 and writes atomically (upstream replaced by file:// URLs)."""
    for problem_file in ("monks-3.train", "monks-3.test"):
        url, md5, covers = dl.SOURCES[f"uci/{problem_file}"]
        monkeypatch.setitem(dl.SOURCES, f"uci/{problem_file}",
                            ((data_root / "uci" / problem_file).as_uri(), md5, covers))
    root = tmp_path / "root"
    with pytest.raises(DatasetError, match="missing file"):
        load("monk3", root)
    ds = load("monk3", root, download=True)
    assert len(ds.y_train) == 122 and len(ds.y_test) == 432
    assert sorted(p.name for p in (root / "uci").iterdir()) == ["monks-3.test", "monks-3.train"]
    assert load("monk3", root).y_train.tolist() == ds.y_train.tolist()  # now present, no download


def test_download_checksum_mismatch_saves_nothing(tmp_path, data_root, monkeypatch):
    url, md5, covers = dl.SOURCES["uci/monks-1.train"]
    monkeypatch.setitem(dl.SOURCES, "uci/monks-1.train",
                        ((data_root / "uci" / "monks-2.train").as_uri(), md5, covers))  # wrong file
    with pytest.raises(DatasetError, match=r"MD5 f109ee3f95805745af6cdff06d6fbc94 does not match the "
                                           r"expected fc1fc3a673e00908325c67cf16283335; nothing was saved"):
        load("monk1", tmp_path, download=True)
    assert not (tmp_path / "uci" / "monks-1.train").exists()


def test_download_gz_content_checksum(tmp_path, data_root):
    """MNIST sums cover the uncompressed content: the shared (re-compressed) .gz passes."""
    url, md5, covers = dl.SOURCES["mnist/t10k-labels-idx1-ubyte.gz"]
    src = (data_root / "mnist" / "t10k-labels-idx1-ubyte.gz").as_uri()
    out = dl.fetch(src, tmp_path / "l.gz", md5, covers)
    assert out.read_bytes() == (data_root / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    with pytest.raises(DatasetError, match="does not match"):
        dl.fetch(src, tmp_path / "m.gz", md5, "file")  # the compressed bytes differ from upstream's
    with pytest.raises(DatasetError, match=r"^download of file:///nonexistent/x failed: "):
        dl.fetch("file:///nonexistent/x", tmp_path / "x", md5)


def test_fashion_mnist_layout_and_classes(data_root, tmp_path, monkeypatch):
    """Fashion-MNIST has MNIST's file format under fashion-mnist/ (MNIST's files stand in here,
    with MNIST's checksums)."""
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for name in MNIST_FILES:
        shutil.copy(data_root / "mnist" / f"{name}.gz", folder / f"{name}.gz")
        monkeypatch.setitem(dl.SOURCES, f"fashion-mnist/{name}.gz", dl.SOURCES[f"mnist/{name}.gz"])
    ds = load("fashion_mnist", tmp_path)
    assert ds.name == "fashion-mnist" and ds.x_train.shape == (60000, 784) and len(ds.y_test) == 10000
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    with pytest.raises(DatasetError, match=r"^mnist: missing file mnist/"):
        load("mnist", tmp_path)
