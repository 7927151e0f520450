"""Dataset files already on disk are checked on every load: published checksums (cached while the
file is unchanged), official split sizes, bounded reads (FIFOs, gzip bombs) and IDX headers whose
dimensions overflow."""

from __future__ import annotations

import gzip
import os
import shutil
import struct

import pytest

from lgn_hw.datasets import DatasetError, load
from lgn_hw.datasets import download as dl
from lgn_hw.datasets import verify
from lgn_hw.datasets.idx import parse_idx

MNIST = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache" / "verified.json"
    monkeypatch.setattr(verify, "CACHE", path)
    return path


def _mnist_copy(data_root, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in MNIST:
        shutil.copy(data_root / "mnist" / f"{name}.gz", folder / f"{name}.gz")
    return folder


def test_a_tampered_mnist_is_refused(data_root, tmp_path, cache):
    """One test label changed (still in range), the file re-compressed: it parses, but its content
    is not the published one."""
    folder = _mnist_copy(data_root, tmp_path)
    p = folder / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(p.read_bytes()))
    content[8] = (content[8] + 1) % 10
    p.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte\.gz: MD5 of its uncompressed "
                                           r"content is [0-9a-f]{32}, the published file's is "
                                           r"27ae3e4e09519cfbb04c329615203637: the file is corrupt"):
        load("mnist", tmp_path)


def test_checksums_are_cached_while_the_file_is_unchanged(data_root, tmp_path, cache, monkeypatch):
    (tmp_path / "uci").mkdir()
    for part in ("train", "test"):
        shutil.copy(data_root / "uci" / f"monks-1.{part}", tmp_path / "uci")
    calls = []
    real = verify.md5_hex
    monkeypatch.setattr(verify, "md5_hex", lambda data: calls.append(len(data)) or real(data))
    first = load("monk1", tmp_path)
    assert len(calls) == 2 and cache.is_file()
    load("monk1", tmp_path)
    assert len(calls) == 2  # nothing hashed again
    # same size and modification time, other content: the change time gives it away
    p = tmp_path / "uci" / "monks-1.train"
    st = p.stat()
    lines = p.read_text().splitlines(keepends=True)
    lines[3], lines[4] = lines[4], lines[3]  # two rows swapped: still parses
    p.write_text("".join(lines))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert p.stat().st_size == st.st_size and p.stat().st_mtime_ns == st.st_mtime_ns
    with pytest.raises(DatasetError, match=r"monks-1\.train: MD5 of its uncompressed content is "):
        load("monk1", tmp_path)
    assert len(calls) == 3
    lines[3], lines[4] = lines[4], lines[3]
    p.write_text("".join(lines))
    assert load("monk1", tmp_path).y_train.tolist() == first.y_train.tolist()


def test_an_unwritable_cache_only_costs_time(data_root, tmp_path, monkeypatch):
    monkeypatch.setattr(verify, "CACHE", tmp_path / "file" / "verified.json")
    (tmp_path / "file").write_text("a file where the cache folder would be")
    assert len(load("monk2", data_root).y_test) == 432


def test_split_sizes_are_checked_without_a_checksum(data_root, tmp_path, cache):
    """Uncompressed Fashion-MNIST files have no published sum (it covers the .gz): a test split
    cut down consistently is still refused."""
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for name in MNIST:
        content = gzip.decompress((data_root / "mnist" / f"{name}.gz").read_bytes())
        if name.startswith("t10k"):
            per = 784 if "images" in name else 1
            head = 16 if "images" in name else 8
            content = content[:4] + struct.pack(">I", 9999) + content[8:head] + content[head:head + 9999 * per]
        (folder / name).write_bytes(content)
    with pytest.raises(DatasetError, match=r"^fashion-mnist: test has 9999 images, the official split 10000$"):
        load("fashion-mnist", tmp_path)


def test_label_ranges_are_checked_without_a_checksum(data_root, tmp_path, cache):
    """An uncompressed Fashion-MNIST (no published sum) whose one test label is 10 is refused."""
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for name in MNIST:
        content = gzip.decompress((data_root / "mnist" / f"{name}.gz").read_bytes())
        if name == "t10k-labels-idx1-ubyte":
            content = content[:8 + 4321] + bytes([10]) + content[8 + 4322:]
        (folder / name).write_bytes(content)
    with pytest.raises(DatasetError, match=r"^fashion-mnist: test label 10 out of range 0\.\.9$"):
        load("fashion-mnist", tmp_path)


def test_idx_dimensions_that_overflow_int64():
    """(2^32 - 65535) * (2^31 + 32768) * 2 is 2^64 + 65536: in int64 it wrapped to 65536 and the
    65,536 data bytes below passed the size check, then failed in reshape with a traceback."""
    dims = (4294901761, 2147516416, 2)
    data = bytes([0, 0, 8, 3]) + struct.pack(">3I", *dims) + bytes(65536)
    with pytest.raises(DatasetError, match=r"^f: truncated IDX file: 65552 bytes, dimensions "
                                           r"\[4294901761, 2147516416, 2\] need 18446744073709617168$"):
        parse_idx(data, "f", 3)


@pytest.mark.timeout(60)
def test_a_fifo_is_refused_without_hanging(data_root, tmp_path, cache):
    (tmp_path / "uci").mkdir()
    os.mkfifo(tmp_path / "uci" / "monks-1.train")
    shutil.copy(data_root / "uci" / "monks-1.test", tmp_path / "uci")
    with pytest.raises(DatasetError, match=r"monks-1\.train: a FIFO, not a dataset file$"):
        load("monk1", tmp_path)


def test_reads_are_bounded(data_root, monkeypatch):
    """28,881 bytes of gzip that decompress to 60,008: refused at a limit of 40,000 (as a gzip
    bomb would be at the real one) without decompressing further."""
    p = data_root / "mnist" / "train-labels-idx1-ubyte.gz"
    monkeypatch.setattr(dl, "MAX_FILE_BYTES", 40_000)
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte\.gz: decompresses to more than "
                                           r"40,000 bytes: not a dataset file$"):
        dl.read_maybe_gzip(p)
    monkeypatch.setattr(dl, "MAX_FILE_BYTES", 20_000)
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte\.gz: 28,881 bytes, more than the "
                                           r"20,000 a dataset file may have$"):
        dl.read_maybe_gzip(p)


@pytest.mark.timeout(60)
def test_a_users_data_file_that_is_a_fifo_or_a_gzip_bomb(tmp_path, monkeypatch):
    """`--dataset PATH` reads regular files of bounded size only (a FIFO used to hang the read)."""
    from lgn_hw.datasets.tabular import read_table

    os.mkfifo(tmp_path / "rows.csv")
    with pytest.raises(DatasetError, match=r"rows\.csv: a FIFO, not a file$"):
        read_table(tmp_path / "rows.csv")
    (tmp_path / "big.csv.gz").write_bytes(gzip.compress(b"x,y\n" + b"1,0\n" * 20_000))
    monkeypatch.setattr(dl, "MAX_FILE_BYTES", 40_000)
    with pytest.raises(DatasetError, match=r"big\.csv\.gz: decompresses to more than 40,000 bytes"):
        read_table(tmp_path / "big.csv.gz")
