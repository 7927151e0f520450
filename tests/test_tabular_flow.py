"""A user's own data end to end (docs/data.md): scikit-learn's breast-cancer-wisconsin table
(30 real-valued features, string labels) written to CSV, trained with ``python -m train --dataset
FILE.csv``, then ``lgn-hw infer`` / ``sim`` / ``build`` on the raw CSV rows: training, the
evaluator, the hardware encoder and the host map agree bit for bit (with a negative twin). The
UCI Adult files through the CSV path make the same encoding decisions as the ``adult`` loader."""

import csv
import importlib.util
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lgn_hw.cli import main as lgn_hw
from lgn_hw.datasets.tabular import file_samples
from lgn_hw.netlist import Netlist
from train.__main__ import main as train_main

needs_iverilog = pytest.mark.skipif(shutil.which("iverilog") is None or shutil.which("vvp") is None,
                                    reason="iverilog/vvp not installed")


def needs_amaranth():
    """The hardware half skips where amaranth is absent (GPU machines); the rest still runs."""
    pytest.importorskip("amaranth")

SMALL = ["--width", "60,30", "--epochs", "8", "--thresholds", "3", "--encoding", "quantile",
         "--tau", "4", "--batch-size", "32", "--threads", "1", "--quiet"]


def write_bcw(path: Path, columns=None, label=True) -> Path:
    """breast-cancer-wisconsin as a user's CSV: real values as written by repr, string labels."""
    from sklearn.datasets import load_breast_cancer

    b = load_breast_cancer()
    names = list(b.feature_names)
    cols = list(range(len(names))) if columns is None else columns
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([names[j] for j in cols] + (["diagnosis"] if label else []))
        for row, t in zip(b.data, b.target):
            w.writerow([repr(float(row[j])) for j in cols] + ([b.target_names[t]] if label else []))
    return path


@pytest.fixture(scope="module")
def bcw(tmp_path_factory):
    d = tmp_path_factory.mktemp("bcw")
    data = write_bcw(d / "bcw.csv")
    out = d / "run"
    r = CliRunner().invoke(train_main, ["--dataset", str(data), *SMALL, "--out", str(out)])
    assert r.exit_code == 0, r.output
    return data, out / "netlist.json", json.loads((out / "metrics.json").read_text())


def _infer(*args):
    r = CliRunner().invoke(lgn_hw, ["infer", *map(str, args)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


def test_netlist_records_the_map_the_columns_and_the_split(bcw):
    data, path, metrics = bcw
    net = Netlist.load(path)
    assert net.meta["class_names"] == ["benign", "malignant"]
    ds = net.meta["dataset"]
    assert ds["label"] == "diagnosis" and ds["test"] == {"fraction": 0.2, "seed": 0, "rows": 114}
    assert all(f.kind == "thermometer" and f.frac_bits is not None for f in net.encoding.features)
    assert max(f.frac_bits for f in net.encoding.features) > 8  # real features: fractional bits
    # infer (dataset from the meta) evaluates exactly training's test rows
    out = _infer(path)
    m = re.search(r"accuracy: [\d.]+ \((\d+)/114\)", out)
    assert m and int(m.group(1)) / 114 == pytest.approx(metrics["final"]["test_acc_discrete"]), out
    assert "dataset: 114 test rows of" in out and re.search(r"predicted: benign \d+, malignant \d+", out)


def test_training_bits_equal_the_bits_of_the_raw_rows_read_back(bcw):
    from train.config import TrainConfig
    from train.data import load_for

    data, path, _ = bcw
    net = Netlist.load(path)
    cfg = TrainConfig.from_dict(net.meta["config"])
    trained = load_for(cfg)
    x, y, _, _ = file_samples(data, net, "test")
    assert np.array_equal(trained.bits_test.numpy(), net.encoding.encode(x))
    assert np.array_equal(trained.y_test.numpy(), y)


def test_columns_by_name_in_any_order_and_without_the_label(bcw, tmp_path):
    data, path, _ = bcw
    order = list(range(30))[::-1]
    shuffled = write_bcw(tmp_path / "new.csv", order, label=False)
    pred_file = tmp_path / "p.csv"
    out = _infer(path, "--dataset", shuffled, "--predictions", pred_file)
    assert "dataset: 569 rows of" in out and "accuracy: - (the samples have no labels)" in out
    rows = list(csv.reader(pred_file.open()))
    assert rows[0] == ["line", "class", "name"] and [int(r[0]) for r in rows[1:]] == list(range(2, 571))
    # the same predictions as the evaluator on the original file's raw values (read by numpy)
    raw = np.loadtxt(data, delimiter=",", skiprows=1, usecols=range(30))
    pred = Netlist.load(path).evaluate_raw(raw)[1]
    assert [int(r[1]) for r in rows[1:]] == pred.tolist()
    assert [r[2] for r in rows[1:]] == [["benign", "malignant"][p] for p in pred]


def test_sim_raw_csv_rows_bit_exact_and_a_naive_host_is_caught(bcw, monkeypatch):
    needs_amaranth()
    data, path, _ = bcw
    r = CliRunner().invoke(lgn_hw, ["sim", str(path), "--raw-inputs", "--simulator", "amaranth"])
    assert r.exit_code == 0, r.output
    assert "114/114 samples match (amaranth," in r.output and "(114 test rows of" in r.output
    assert re.search(r"predicted: benign \d+, malignant \d+", r.output)
    # negative twin: a host that sends the raw values rounded instead of the fixed-point integers
    from lgn_hw.encoding import Encoding

    monkeypatch.setattr(Encoding, "to_integers", lambda self, x: np.clip(
        np.round(np.asarray(x)), [f.range[0] for f in self.features],
        [f.range[1] for f in self.features]).astype(np.int64))
    r = CliRunner().invoke(lgn_hw, ["sim", str(path), "--raw-inputs", "--simulator", "amaranth"])
    assert r.exit_code != 0 and "does not match Netlist.evaluate" in r.output


@needs_iverilog
@pytest.mark.tools
def test_sim_iverilog_on_every_raw_row_of_a_new_file(bcw, tmp_path):
    needs_amaranth()
    data, path, _ = bcw
    new = write_bcw(tmp_path / "all.csv", list(range(30))[::-1], label=False)
    r = CliRunner().invoke(lgn_hw, ["sim", str(path), "--dataset", str(new), "--raw-inputs",
                                    "--simulator", "iverilog", "--pipeline-every", "head"])
    assert r.exit_code == 0, r.output
    assert "569/569 samples match (iverilog," in r.output


@pytest.mark.slow
@pytest.mark.tools
def test_build_ice40_with_the_hardware_encoder(bcw, tmp_path):
    needs_amaranth()
    data, path, _ = bcw
    out = tmp_path / "b"
    r = CliRunner().invoke(lgn_hw, ["build", "--board", "ice40", "--netlist", str(path), "--raw-inputs",
                                    "--out", str(out), "--no-hierarchy"])
    assert r.exit_code == 0, r.output
    rep = json.loads((out / "report.json").read_text())
    assert rep["design"]["raw_inputs"] and Path(rep["bitstream"]).stat().st_size > 0
    side = json.loads((out / "rtl" / "lgn_core.json").read_text())
    widths = [f["width"] for f in side["ports"][0]["fields"]]
    net = Netlist.load(path)
    assert len(widths) == 30 and widths == [max(1, int(f.range[1]).bit_length()) for f in net.encoding.features]
    # the host side of the board: raw CSV rows through the fixed-point map, over the UART
    r = CliRunner().invoke(lgn_hw, ["run", "--port", "sim", "--netlist", str(path), "--raw-inputs", "-n", "5"])
    assert r.exit_code == 0, r.output
    assert "5/5 answers equal Netlist.evaluate" in r.output and "board's classes: benign" in r.output


def test_bad_csv_one_line_and_nothing_written(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1.5,x,p\n2.5,,q\n")
    out = tmp_path / "o"
    r = CliRunner().invoke(train_main, ["--dataset", str(bad), *SMALL, "--out", str(out)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.strip() == f"Error: {bad}: line 3, column 'b': missing value (empty or NaN; --missing drop " \
                               f"skips such rows)"
    assert not out.exists()
    r = CliRunner().invoke(train_main, ["--dataset", str(bad), *SMALL, "--out", str(out), "--ignore", "zz"])
    assert r.exit_code == 1 and "--ignore zz: no such column" in r.output and not out.exists()


def _bench():
    spec = importlib.util.spec_from_file_location(
        "lgn_bench_byod_adult", Path(__file__).resolve().parents[1] / "bench" / "byod_adult.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_adult_csv_files_make_the_adult_loaders_decisions(data_root, tmp_path):
    bench = _bench()
    train_csv, test_csv = bench.write_adult_csvs(data_root / "uci", tmp_path)
    assert bench.same_decisions(train_csv, test_csv, data_root) == \
        "identical decisions on all 16281 test rows (128 bits)"


@pytest.mark.slow
@pytest.mark.tools
def test_adult_csv_trained_netlist_is_bit_exact_in_verilator(data_root, tmp_path):
    needs_amaranth()
    if shutil.which("verilator") is None:
        pytest.skip("verilator not installed")
    train_csv, test_csv = _bench().write_adult_csvs(data_root / "uci", tmp_path)
    out = tmp_path / "run"
    r = CliRunner().invoke(train_main, ["--preset", "adult", "--dataset", str(train_csv), "--test", str(test_csv),
                                        "--epochs", "1", "--threads", "1", "--quiet", "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(lgn_hw, ["sim", str(out / "netlist.json"), "--raw-inputs", "--simulator", "verilator"])
    assert r.exit_code == 0, r.output
    assert "16281/16281 samples match (verilator," in r.output


def test_bit_planes_of_real_columns_end_to_end(tmp_path):
    """--encoding bits on a user's CSV of real columns: every feature is the top bits of its
    fixed-point integer; infer on the raw rows gives training's accuracy, the hardware agrees."""
    data = write_bcw(tmp_path / "bcw.csv")
    args = [a if a != "quantile" else "bits" for a in SMALL]
    r = CliRunner().invoke(train_main, ["--dataset", str(data), *args, "--out", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    path = tmp_path / "run" / "netlist.json"
    net = Netlist.load(path)
    feats = net.encoding.features
    assert all(f.kind == "bits" and f.frac_bits is not None and len(f.bits) == 3 for f in feats)
    assert all(f.range[1].bit_length() == 3 for f in feats if f.frac_bits > 0)
    final = json.loads((tmp_path / "run" / "metrics.json").read_text())["final"]
    m = re.search(r"accuracy: [\d.]+ \((\d+)/114\)", _infer(path))
    assert m and int(m.group(1)) / 114 == pytest.approx(final["test_acc_discrete"])
    needs_amaranth()
    r = CliRunner().invoke(lgn_hw, ["sim", str(path), "--raw-inputs", "--simulator", "amaranth"])
    assert r.exit_code == 0 and "114/114 samples match (amaranth," in r.output, r.output
    # the host side of the board: the same fixed-point integers over the UART
    r = CliRunner().invoke(lgn_hw, ["run", "--port", "sim", "--netlist", str(path), "--raw-inputs", "-n", "5"])
    assert r.exit_code == 0 and "5/5 answers equal Netlist.evaluate" in r.output, r.output
