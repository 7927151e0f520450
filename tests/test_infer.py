"""Tests for lgn_hw.infer (``lgn-hw infer``): the printed accuracy equals a pure-Python,
sample-by-sample evaluation of a hand-built netlist on real data; options and one-line errors."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from lgn_hw.cli import main
from lgn_hw.datasets import load
from lgn_hw.encoding import Encoding, for_dataset, thermometer_raw
from lgn_hw.gates import TWO_INPUT_TABLES, passthrough_table
from lgn_hw.infer import dataset_from_meta, run_infer
from lgn_hw.netlist import Head, Layer, Netlist


def brute_predict(net: Netlist, x: np.ndarray) -> list[int]:
    """docs/netlist.md, literally: encode, evaluate gate by gate, GroupSum, first argmax."""
    enc = net.encoding
    bit_src = []
    for f, feat in enumerate(enc.features):
        if feat.kind == "thermometer":
            bit_src += [(f, ">=", float(t)) for t in feat.thresholds]
        elif feat.kind == "onehot":
            bit_src += [(f, "==", int(v)) for v in feat.values]
        else:
            bit_src.append((f, "!=", 0))
    preds = []
    for row in x.tolist():
        sig = {}

        def value(s):
            if s not in sig:
                f, op, c = bit_src[s]
                sig[s] = int(row[f] >= c) if op == ">=" else int(row[f] == c) if op == "==" else int(row[f] != 0)
            return sig[s]

        base = net.n_inputs
        for layer in net.layers:
            for g in range(len(layer)):
                addr = sum(value(int(i)) << k for k, i in enumerate(layer.inputs[g]))
                sig[base + g] = (int(layer.tables[g]) >> addr) & 1
            base += len(layer)
        counts = [int(o) + sum(value(int(s)) for s in grp) for grp, o in zip(net.head.groups, net.head.offsets)]
        preds.append(counts.index(max(counts)))
    return preds


def template_netlist(ds, per_class=12, seed=0) -> Netlist:
    """A hand-built digit classifier: per class, gates 'pixel p is on AND pixel q is off' for the
    most class-typical p and atypical q, routed through a fan-in-3 pass-through layer."""
    enc = for_dataset(ds, thresholds=3)  # thresholds 4, 9, 13 per pixel: bit 3p+1 is "pixel p >= 9"
    on = ds.x_train >= 9
    rng = np.random.default_rng(seed)
    inputs0 = []
    for c in range(ds.n_classes):
        score = on[ds.y_train == c].mean(0) - on[ds.y_train != c].mean(0)
        order = np.argsort(score)
        for k in range(per_class):
            inputs0.append([3 * order[-1 - k] + 1, 3 * order[k] + 1])
    g0 = len(inputs0)
    layer0 = Layer(2, np.array(inputs0), np.full(g0, TWO_INPUT_TABLES[2], dtype=np.uint64))  # A & ~B
    first0 = enc.n_bits
    inputs1 = [[first0 + g, first0 + rng.integers(g0), first0 + rng.integers(g0)] for g in range(g0)]
    layer1 = Layer(3, np.array(inputs1), np.full(g0, passthrough_table(3, 0), dtype=np.uint64))
    first1 = first0 + g0
    groups = [np.arange(first1 + c * per_class, first1 + (c + 1) * per_class) for c in range(ds.n_classes)]
    head = Head(ds.n_classes, groups, offsets=np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0]), tau=1.0)
    return Netlist(enc.n_bits, [layer0, layer1], head, enc, {"dataset": "digits"})


@pytest.fixture(scope="module")
def digits():
    return load("digits")


@pytest.fixture
def net_path(tmp_path, digits):
    path = tmp_path / "net.json"
    template_netlist(digits).save(path)
    return path


def _accuracy_line(output):
    m = re.search(r"^accuracy: (\d\.\d{4}) \((\d+)/(\d+)\)$", output, flags=re.M)
    assert m, output
    return float(m.group(1)), int(m.group(2)), int(m.group(3))


def test_printed_accuracy_equals_brute_force(net_path, digits):
    net = Netlist.load(net_path)
    expected = brute_predict(net, digits.x_test)
    correct = int(np.sum(np.array(expected) == digits.y_test))
    assert correct / 360 > 0.5  # a real classifier, not chance (0.1)
    res = CliRunner().invoke(main, ["infer", str(net_path), "--dataset", "digits"])
    assert res.exit_code == 0, res.output
    acc, k, n = _accuracy_line(res.output)
    assert (k, n) == (correct, 360) and acc == round(correct / 360, 4)
    assert f"netlist: {net_path} (2 layers, {net.n_gates} gates, 192 input bits, 10 classes)" in res.output
    assert "dataset: 360 test samples of digits" in res.output
    assert re.search(r"^evaluate: [\d,]+ samples/s \(", res.output, flags=re.M)
    assert re.search(r"^encode: [\d.]+ m?s \(192 bits/sample", res.output, flags=re.M)


def test_run_infer_predictions_match_brute_force_on_train_split(net_path, digits):
    net = Netlist.load(net_path)
    res = run_infer(net, digits.x_train[:300], digits.y_train[:300], batch=64)  # 5 batches, last partial
    assert res.pred.tolist() == brute_predict(net, digits.x_train[:300])
    assert res.counts.shape == (300, 10) and res.n_samples == 300


def test_split_limit_and_meta_dataset(net_path, digits):
    net = Netlist.load(net_path)
    res = CliRunner().invoke(main, ["infer", str(net_path), "--split", "train", "--limit", "200"])
    assert res.exit_code == 0, res.output
    assert "dataset: 200 train samples of digits" in res.output
    _, k, n = _accuracy_line(res.output)
    assert n == 200 and k == int(np.sum(np.array(brute_predict(net, digits.x_train[:200])) == digits.y_train[:200]))


def test_meta_dataset_forms():
    assert dataset_from_meta({"dataset": "mnist"}) == "mnist"
    assert dataset_from_meta({"dataset": {"name": "adult", "thresholds": 3}}) == "adult"
    assert dataset_from_meta({}) is None and dataset_from_meta(None) is None
    assert dataset_from_meta({"dataset": 3}) is None


def _save(net, path):
    net.save(path)
    return str(path)


def test_errors_are_one_line(tmp_path, digits):
    net = template_netlist(digits)
    runner = CliRunner()
    no_meta = _save(Netlist(net.n_inputs, net.layers, net.head, net.encoding, {}), tmp_path / "a.json")
    res = runner.invoke(main, ["infer", no_meta])
    assert res.exit_code == 2 and "--dataset is required: the netlist's meta records no dataset" in res.output

    no_enc = _save(Netlist(net.n_inputs, net.layers, net.head, None, {"dataset": "digits"}), tmp_path / "b.json")
    res = runner.invoke(main, ["infer", no_enc])
    assert res.exit_code == 1 and res.output.startswith("Error: the netlist has no encoding")

    two = Head(2, [net.head.groups[0], net.head.groups[1]], None, 1.0)
    res = runner.invoke(main, ["infer", _save(Netlist(net.n_inputs, net.layers, two, net.encoding, {}),
                                              tmp_path / "c.json"), "--dataset", "digits"])
    assert res.exit_code == 1 and res.output == "Error: the netlist has 2 classes, dataset digits has 10\n"

    small = thermometer_raw(10, 3)
    grp = [np.arange(c * 3, c * 3 + 3) for c in range(10)]
    res = runner.invoke(main, ["infer", _save(Netlist(30, [], Head(10, grp), small, {}), tmp_path / "d.json"),
                               "--dataset", "digits"])
    assert res.exit_code == 1 and res.output == ("Error: the netlist's encoding expects 10 features, "
                                                 "dataset digits has 64\n")

    bad = tmp_path / "e.json"
    bad.write_text(json.dumps(net.to_dict())[:-40])
    res = runner.invoke(main, ["infer", str(bad), "--dataset", "digits"])
    assert res.exit_code == 1 and res.output.count("\n") == 1 and "not valid JSON" in res.output

    res = runner.invoke(main, ["infer", str(tmp_path / "missing.json")])
    assert res.exit_code == 1 and res.output == f"Error: no netlist at {tmp_path / 'missing.json'}\n"

    res = runner.invoke(main, ["infer", _save(net, tmp_path / "f.json"), "--dataset", "mnist",
                               "--data-root", str(tmp_path / "empty")])
    assert res.exit_code == 1 and res.output.count("\n") == 1
    assert res.output.startswith("Error: mnist: missing file mnist/train-images-idx3-ubyte.gz")


def test_mnist_subset_matches_brute_force(data_root, tmp_path):
    ds = load("mnist", data_root)
    enc = thermometer_raw(784, [128])
    rng = np.random.default_rng(5)
    g = 60
    layer = Layer(6, rng.integers(0, 784, size=(g, 6)), rng.integers(0, 2**63, size=g, dtype=np.uint64))
    head = Head(10, [np.arange(784 + c * 6, 784 + c * 6 + 6) for c in range(10)])
    net = Netlist(784, [layer], head, enc, {"dataset": {"name": "mnist"}})
    path = _save(net, tmp_path / "m.json")
    res = CliRunner().invoke(main, ["infer", path, "--data-root", str(data_root), "--limit", "1000",
                                    "--batch", "300"])
    assert res.exit_code == 0, res.output
    _, k, n = _accuracy_line(res.output)
    expected = np.array(brute_predict(net, ds.x_test[:1000]))
    assert n == 1000 and k == int(np.sum(expected == ds.y_test[:1000]))
    assert "batches of 256" in res.output


def test_an_unwritable_predictions_file_is_one_line_before_any_work(net_path, tmp_path, monkeypatch):
    import lgn_hw.infer as infer_mod

    calls = []
    monkeypatch.setattr(infer_mod, "run_infer", lambda *a, **k: calls.append(a) or pytest.fail())
    (tmp_path / "file").write_text("x")
    for where in (tmp_path / "file" / "p.csv", tmp_path / "file" / "sub" / "p.csv"):
        res = CliRunner().invoke(main, ["infer", str(net_path), "--predictions", str(where)])
        assert res.exit_code == 1 and isinstance(res.exception, SystemExit), res.output
        assert res.output.strip().splitlines() == [
            f"Error: --predictions {where}: cannot write there ({tmp_path / 'file'} is not a folder)"]
    assert not calls and (tmp_path / "file").read_text() == "x"
    monkeypatch.undo()
    out = tmp_path / "new" / "dir" / "p.csv"      # missing folders are made, when it is written
    res = CliRunner().invoke(main, ["infer", str(net_path), "--predictions", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text().splitlines()[0] == "sample,class,name"
