"""Tests for lgn_hw.datasets.tabular and lgn_hw.datasets.samples: the CSV / .npz / .npy readers,
the recorded test split, reading any file the way a netlist was trained, and the one-line errors
for bad files (naming file, row and column)."""

import gzip
import json

import numpy as np
import pytest

from lgn_hw.datasets import DatasetError, is_file_dataset, load, stratified_split
from lgn_hw.datasets.samples import default_dataset, netlist_samples
from lgn_hw.datasets.tabular import TEST_SEED, file_samples, load_tabular, read_table
from lgn_hw.encoding import for_dataset
from lgn_hw.netlist import Netlist, random_netlist

CSV = """temp, city ,"note, quoted",ok
21.5,Oslo,"a, b",yes

19.25,Rome,c,no
"30",Oslo,d,yes
25.75 , Lima ,e,no
18.0,Rome,f,yes
22.125,Lima,g,no
"""


def write(path, text):
    path.write_text(text)
    return path


def test_csv_reader_quotes_blank_lines_spaces_bom_gzip_tsv(tmp_path):
    t, test, sha = read_table(write(tmp_path / "a.csv", CSV))
    assert t.names == ["temp", "city", "note, quoted", "ok"] and test is None and len(sha) == 64
    assert t.column("city").tolist() == ["Oslo", "Rome", "Oslo", "Lima", "Rome", "Lima"]
    assert t.column("note, quoted")[0] == "a, b" and t.rows.tolist() == [2, 4, 5, 6, 7, 8]
    (tmp_path / "b.csv").write_bytes(b"\xef\xbb\xbf" + CSV.encode())
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(CSV.encode()))
    write(tmp_path / "d.tsv", "temp\t city \tnote, quoted\tok\n21.5\tOslo\ta, b\tyes\n")
    for name in ("b.csv", "c.csv.gz"):
        u = read_table(tmp_path / name)[0]
        assert u.names == t.names and all(np.array_equal(a, b) for a, b in zip(u.columns, t.columns))
    u = read_table(tmp_path / "d.tsv")[0]
    assert u.names == t.names and [c[0] for c in u.columns] == ["21.5", "Oslo", "a, b", "yes"]


def test_npz_and_npy_pair(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), np.array(["cat", "dog"] * 20)
    np.savez(tmp_path / "d.npz", X=x, y=y, x_test=x[:5], y_test=y[:5], feature_names=np.array(["a", "b", "c"]))
    ds = load_tabular(tmp_path / "d.npz")
    assert ds.feature_names == ["a", "b", "c"] and ds.class_names == ["cat", "dog"]
    assert np.array_equal(ds.x_train, x) and np.array_equal(ds.x_test, x[:5]) and ds.source["test"] == {
        "arrays": "x_test/y_test"}
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(40) % 3)
    ds = load_tabular(f"{tmp_path / 'x.npy'},{tmp_path / 'y.npy'}")
    assert ds.feature_names == ["x0", "x1", "x2"] and ds.class_names == ["0", "1", "2"]
    assert len(ds.y_train) + len(ds.y_test) == 40 and ds.feature_kinds == ["real"] * 3
    assert is_file_dataset("x.npy,y.npy") and is_file_dataset("a.CSV") and not is_file_dataset("adult")


def test_fixed_stratified_split_is_recorded_and_reproducible(tmp_path):
    rows = "\n".join(f"{i * 0.37:.2f},{'abc'[i % 3]},{'yn'[i % 4 == 0]}" for i in range(100))
    p = write(tmp_path / "s.csv", "v,k,label\n" + rows + "\n")
    ds = load_tabular(p, test_fraction=0.25)
    assert ds.source["test"] == {"fraction": 0.25, "seed": TEST_SEED, "rows": 25}
    assert len(ds.y_test) == 25 and len(ds.y_train) == 75
    y_all = np.array([int(i % 4 != 0) for i in range(100)])  # classes sorted: n < y
    tr, te = stratified_split(y_all, 25, TEST_SEED)
    assert np.array_equal(ds.y_test, y_all[te])
    assert ds.x_test[:, 0].tolist() == [float(f"{i * 0.37:.2f}") for i in te]
    default = load(p)  # lgn_hw.datasets.load takes a file too, with the default handling (20% test)
    assert default.source["test"]["fraction"] == 0.2 and len(default.y_test) == 20


def _trained_netlist(ds):
    enc = for_dataset(ds, thresholds=3, method="quantile")
    base = random_netlist(3, enc.n_bits, [8], 2, ds.n_classes)
    meta = {"dataset": dict(ds.source), "class_names": ds.class_names}
    return Netlist.from_dict({**base.to_dict(), "encoding": enc.to_dict(), "meta": meta})


def test_file_samples_recovers_the_test_rows_in_any_column_order(tmp_path):
    rows = [f"{i * 1.5:.1f},{'abc'[i % 3]},{'pq'[i % 2]}" for i in range(60)]
    p = write(tmp_path / "f.csv", "v,k,y\n" + "\n".join(rows) + "\n")
    ds = load_tabular(p)
    net = _trained_netlist(ds)
    assert default_dataset(net.meta) == str(p)
    x, y, lines, what = file_samples(p, net, "test")
    assert np.array_equal(x, ds.x_test) and np.array_equal(y, ds.y_test)
    assert what == f"12 test rows of {p} (its recorded split, seed 0)"
    x_tr, _, _, _ = file_samples(p, net, "train")
    assert np.array_equal(x_tr, ds.x_train)
    # the same rows, columns shuffled, without the label: every row, same features
    q = write(tmp_path / "g.csv", "k,v\n" + "\n".join(f"{r.split(',')[1]},{r.split(',')[0]}" for r in rows) + "\n")
    s = netlist_samples(net, str(q))
    assert s.y is None and np.array_equal(s.x[lines - 2], ds.x_test) and s.class_names == ["p", "q"]
    assert s.what == f"60 rows of {q}" and netlist_samples(net, str(q), limit=5).what.startswith("the first 5")
    # a netlist trained with --test: the training file's "test" rows are elsewhere
    t = write(tmp_path / "t.csv", "v,k,y\n1.5,a,p\n3.0,b,q\n")
    ds2 = load_tabular(p, test=t)
    net2 = _trained_netlist(ds2)
    assert default_dataset(net2.meta) == str(t)
    assert np.array_equal(netlist_samples(net2).x, ds2.x_test)
    with pytest.raises(DatasetError, match=r"its test rows are in .*t.csv: pass that file"):
        file_samples(p, net2, "test")


def test_a_changed_training_file_is_refused_not_evaluated_whole(tmp_path, monkeypatch):
    """The recorded split names rows of the file as it was: once the file has changed, its test
    rows are unknown, and all its rows would mix training rows into the test figure."""
    rows = [f"{i * 1.5:.1f},{'abc'[i % 3]},{'pq'[i % 2]}" for i in range(60)]
    p = write(tmp_path / "f.csv", "v,k,y\n" + "\n".join(rows) + "\n")
    net = _trained_netlist(load_tabular(p))
    write(p, "v,k,y\n" + "\n".join(rows + ["0.5,a,p"]) + "\n")
    msg = (rf"^{p}: changed since this netlist was trained on it \(its SHA-256 differs from the "
           rf"recorded one\): its recorded test rows are unknown$")
    with pytest.raises(DatasetError, match=msg):
        file_samples(p, net, "test")
    with pytest.raises(DatasetError, match=msg.replace("test rows", "train rows")):
        file_samples(p, net, "train")
    with pytest.raises(DatasetError, match=msg):
        netlist_samples(net)  # the recorded file, by default
    monkeypatch.chdir(tmp_path)  # the same file by another spelling of its path
    with pytest.raises(DatasetError, match=r"^f.csv: changed since"):
        file_samples("f.csv", net, "test")
    other = write(tmp_path / "g.csv", p.read_text())  # another file: all its rows
    assert file_samples(other, net, "test")[3] == f"61 rows of {other}"


def _err(tmp_path, text, name="e.csv", **kw):
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    with pytest.raises(DatasetError) as err:
        load_tabular(p, **kw)
    msg = str(err.value)
    assert "\n" not in msg
    return msg.replace(str(tmp_path) + "/", "")


def test_bad_files_give_one_line_naming_file_row_and_column(tmp_path):
    assert _err(tmp_path, "") == "e.csv: empty file (expected a header line and data rows)"
    assert _err(tmp_path, "a,b\n\n") == "e.csv: no data rows after the header"
    assert _err(tmp_path, "a,b\n1,x\n2\n") == "e.csv: line 3: 1 fields, the header has 2"
    assert _err(tmp_path, "a,a\n1,x\n") == "e.csv: line 1: column name 'a' appears twice in the header"
    assert _err(tmp_path, "a,,b\n1,2,3\n") == "e.csv: line 1: column 2 of the header has no name"
    assert _err(tmp_path, b"a,b\n1,\xff\n") == "e.csv: line 2: not UTF-8 text (invalid start byte)"
    assert _err(tmp_path, "a,b\n1,x\n2,x\n") == "e.csv: the label column 'b' has a single class ('x'): nothing to learn"
    assert _err(tmp_path, "a,b\n1,x\n2,y\n", label="c") == "e.csv: --label c: no such column (columns: a, b)"
    assert _err(tmp_path, "a,b\n1,x\n,y\n") == ("e.csv: line 3, column 'a': missing value (empty or NaN; "
                                              "--missing drop skips such rows)")
    good = write(tmp_path / "good.csv", "a,c,b\n1.5,u,x\n2.5,v,y\n3.5,u,x\n4.5,v,y\n")
    t = write(tmp_path / "t.csv", "c,a,b\nw,1.5,x\n")
    with pytest.raises(DatasetError, match=r"t.csv: line 2, column 'c': category 'w' never seen in training"):
        load_tabular(good, test=t)
    t = write(tmp_path / "t.csv", "c,a,b\nu,1.5,x.\n")
    with pytest.raises(DatasetError, match=r"t.csv: line 2, column 'b': class 'x.' never seen in training \(known: x, y\)"):
        load_tabular(good, test=t)
    t = write(tmp_path / "t.csv", "c,a,b,zz\nu,1.5,x,1\n")
    with pytest.raises(DatasetError, match=r"t.csv: unknown column 'zz'"):
        load_tabular(good, test=t)
    with pytest.raises(DatasetError, match="--test-fraction must be between 0 and 1"):
        load_tabular(good, test_fraction=1.0)
    with pytest.raises(DatasetError, match=r"4 rows cannot be split 1 train / 3 test"):
        load_tabular(good, test_fraction=0.7)


def test_bad_arrays_and_formats(tmp_path):
    np.savez(tmp_path / "m.npz", x=np.zeros((5, 2)), y=np.zeros(4))
    with pytest.raises(DatasetError, match=r"m.npz: 5 feature rows but 4 labels$"):
        load_tabular(tmp_path / "m.npz")
    np.savez(tmp_path / "o.npz", x=np.array([[{"a": 1}]], dtype=object), y=np.zeros(1))
    with pytest.raises(DatasetError, match=r"o.npz: holds Python objects \(a pickle\); refusing to unpickle"):
        load_tabular(tmp_path / "o.npz")
    np.savez(tmp_path / "k.npz", features=np.zeros((5, 2)), y=np.zeros(5))
    with pytest.raises(DatasetError, match=r"k.npz: expected arrays 'x' \(or 'X'\) and 'y', found features, y"):
        load_tabular(tmp_path / "k.npz")
    np.savez(tmp_path / "n.npz", x=np.array([[1.0, np.nan], [2.0, 3.0]]), y=np.array([0, 1]))
    with pytest.raises(DatasetError, match=r"n.npz: row 0, column 'x1': missing value"):
        load_tabular(tmp_path / "n.npz")
    np.savez(tmp_path / "v.npz", x=np.zeros(5), y=np.zeros(5))
    with pytest.raises(DatasetError, match=r"features must be a 2-D array"):
        load_tabular(tmp_path / "v.npz")
    write(tmp_path / "z.npz", "not a zip")
    with pytest.raises(DatasetError, match=r"z.npz: not a NumPy .npz file"):
        load_tabular(tmp_path / "z.npz")
    with pytest.raises(DatasetError, match=r"p.parquet: Parquet is not read .*export the table to CSV"):
        load_tabular(tmp_path / "p.parquet")
    np.save(tmp_path / "x.npy", np.zeros((3, 2)))
    with pytest.raises(DatasetError, match=r"a .npy file holds one array: pass features and labels as X.npy,Y.npy"):
        load_tabular(tmp_path / "x.npy")
    with pytest.raises(DatasetError, match=r"missing.csv: no such file"):
        load_tabular(tmp_path / "missing.csv")


def test_netlist_meta_records_the_source(tmp_path):
    p = write(tmp_path / "f.csv", "v,y\n" + "\n".join(f"{i / 7:.3f},{'ab'[i % 2]}" for i in range(30)) + "\n")
    ds = load_tabular(p)
    net = _trained_netlist(ds)
    back = Netlist.from_dict(json.loads(json.dumps(net.to_dict())))
    assert back.meta["dataset"]["label"] == "y" and back.meta["dataset"]["sha256"] == ds.source["sha256"]
    assert back.encoding.features[0].frac_bits is not None


def test_a_relative_training_path_is_recorded_absolute_and_found_from_elsewhere(tmp_path, monkeypatch):
    """``python -m train --dataset data/f.csv`` run in one folder, ``lgn-hw infer NET`` in
    another: the netlist records the file's absolute path (both files of an x.npy,y.npy pair, and
    a --test file), so the default dataset is found and its recorded test rows recovered."""
    rows = [f"{i * 1.5:.1f},{'abc'[i % 3]},{'pq'[i % 2]}" for i in range(60)]
    (tmp_path / "data").mkdir()
    p = write(tmp_path / "data" / "f.csv", "v,k,y\n" + "\n".join(rows) + "\n")
    t = write(tmp_path / "data" / "t.csv", "v,k,y\n1.5,a,p\n3.0,b,q\n")
    np.save(tmp_path / "data" / "x.npy", np.arange(40.0).reshape(20, 2))
    np.save(tmp_path / "data" / "y.npy", np.arange(20) % 2)
    monkeypatch.chdir(tmp_path)
    ds = load_tabular("data/f.csv")
    net = _trained_netlist(ds)
    assert ds.source["path"] == str(p) and default_dataset(net.meta) == str(p)
    assert load_tabular("data/f.csv", test="data/t.csv").source["test"]["path"] == str(t)
    pair = load_tabular("data/x.npy,data/y.npy").source["path"]
    assert pair == f"{tmp_path / 'data' / 'x.npy'},{tmp_path / 'data' / 'y.npy'}"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    s = netlist_samples(net)
    assert np.array_equal(s.x, ds.x_test) and np.array_equal(s.y, ds.y_test)
    assert "its recorded split" in s.what
