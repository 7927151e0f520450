"""The ``bits`` encoding end to end on real data (docs/training.md, *Bit-plane encoding*):
``python -m train --dataset digits --encoding bits`` writes a netlist of bit-plane features,
``lgn-hw sim --raw-inputs`` finds the hardware (raw pixels into the core, the encoder being wires)
bit-exact with ``Netlist.evaluate_raw`` on every test sample (a broken encoder is caught), and
xc7 synthesis of the core with raw inputs reports 0 encoder LUTs."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from lgn_hw.cli import main as lgn_hw
from lgn_hw.datasets import load
from lgn_hw.netlist import Netlist
from train.__main__ import main as train_main

TINY = ["--dataset", "digits", "--encoding", "bits", "--thresholds", "3", "--width", "60,30",
        "--epochs", "30", "--batch-size", "64", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("bits") / "run"
    r = CliRunner().invoke(train_main, [*TINY, "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out / "netlist.json"


def test_the_netlist_takes_the_top_three_bits_of_every_pixel(trained):
    net = Netlist.load(trained)
    assert json.loads(trained.read_text())["version"] == 3
    feats = net.encoding.features
    assert len(feats) == 64 and all(f.kind == "bits" and f.range == (0, 16) for f in feats)
    assert all(f.bits.tolist() == [4, 3, 2] for f in feats)  # 0..16: a 5-bit port
    x = load("digits").x_test.astype(int)
    planes = np.stack([(x[:, i] >> p) & 1 for i in range(64) for p in (4, 3, 2)], axis=1)
    assert np.array_equal(net.encoding.encode(x), planes)
    # the netlist classifies the raw samples as its bits say, as training measured, well above chance
    counts, pred = net.evaluate_raw(x)
    assert np.array_equal(counts, net.evaluate(planes)[0])
    acc = np.mean(pred == load("digits").y_test)
    final = json.loads((trained.parent / "metrics.json").read_text())["final"]
    assert acc == pytest.approx(final["test_acc_discrete"], abs=1e-12) and acc > 0.3


def test_sim_raw_inputs_bit_exact_on_the_test_set(trained):
    pytest.importorskip("amaranth")
    r = CliRunner().invoke(lgn_hw, ["sim", str(trained), "--dataset", "digits", "--raw-inputs",
                                    "--simulator", "amaranth"])
    assert r.exit_code == 0, r.output
    assert "360/360 samples match (amaranth," in r.output


def test_sim_catches_a_wrong_bit_plane(trained, monkeypatch):
    pytest.importorskip("amaranth")
    import rtl.encoder

    real = rtl.encoder._bits

    def shifted(m, x, feature, name, shared):  # every plane one position too low
        if rtl.encoder._get(feature, "kind") == "bits":
            return [x[max(0, int(p) - 1)] for p in rtl.encoder._get(feature, "bits")]
        return real(m, x, feature, name, shared)

    monkeypatch.setattr(rtl.encoder, "_bits", shifted)
    r = CliRunner().invoke(lgn_hw, ["sim", str(trained), "--dataset", "digits", "--raw-inputs",
                                    "--simulator", "amaranth"])
    assert r.exit_code == 1 and "360/360" not in r.output, r.output


def _encoder_luts(netlist, out):
    r = CliRunner().invoke(lgn_hw, ["synth", str(netlist), "--target", "xc7", "--raw-inputs",
                                    "--out", str(out)])
    assert r.exit_code == 0, r.output
    stages = json.loads((out / "report.json").read_text())["stages"]
    assert stages["layer0"]["lut"] > 0, stages
    # pure wires leave no encoder module at all (Amaranth emits none), so no stage row either
    return stages.get("encoder", {}).get("lut", 0)


@pytest.mark.tools
def test_xc7_encoder_is_zero_luts(trained, tmp_path):
    assert _encoder_luts(trained, tmp_path / "bits") == 0
    # the twin: the same gates over a thermometer code of the same width need encoder LUTs
    from lgn_hw.encoding import thermometer_raw

    net = Netlist.load(trained)
    net.encoding = thermometer_raw(64, [4, 8, 12], (0, 16))
    net.save(tmp_path / "thermometer.json")
    assert _encoder_luts(tmp_path / "thermometer.json", tmp_path / "thermometer") > 0
