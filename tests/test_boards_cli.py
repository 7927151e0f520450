"""boards.cli: lgn-hw run against the simulated board; lgn-hw boards."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

from click.testing import CliRunner

from boards.cli import boards_command, run_command
from lgn_hw.netlist import random_netlist


def test_run_sim(tmp_path):
    net = random_netlist(7, 16, [12, 9], 2, 3)
    path = tmp_path / "n.json"
    net.save(path)
    r = CliRunner().invoke(run_command, ["--port", "sim", "--netlist", str(path), "-n", "10"])
    assert r.exit_code == 0, r.output
    assert "10/10 answers equal Netlist.evaluate" in r.output


def test_run_errors(tmp_path):
    r = CliRunner().invoke(run_command, ["--port", "/dev/nonexistent-tty", "--netlist",
                                         str(tmp_path / "missing.json")])
    assert r.exit_code != 0 and "not found" in r.output and "Traceback" not in r.output
    net = random_netlist(7, 16, [12, 9], 2, 3)
    net.save(tmp_path / "n.json")
    r = CliRunner().invoke(run_command, ["--port", "/dev/nonexistent-tty", "--netlist",
                                         str(tmp_path / "n.json")])
    assert r.exit_code != 0 and "cannot open serial port" in r.output


def test_boards_lists():
    r = CliRunner().invoke(boards_command, [])
    assert r.exit_code == 0 and "icebreaker" in r.output and "(= ice40" in r.output


def test_run_sim_on_dataset_samples_reports_accuracy(tmp_path, data_root):
    import re

    from lgn_hw.datasets import load
    from lgn_hw.encoding import thermometer_raw
    from lgn_hw.netlist import Netlist

    enc = thermometer_raw(64, [8], range=(0, 16))
    base = random_netlist(2, enc.n_bits, [20], 4, 10)
    net = Netlist(enc.n_bits, base.layers, base.head, enc, {"dataset": "digits"})
    path = net.save(tmp_path / "n.json")
    r = CliRunner().invoke(run_command, ["--port", "sim", "--netlist", str(path), "-n", "6",
                                         "--data-root", str(data_root)])
    assert r.exit_code == 0, r.output
    assert "6/6 answers equal Netlist.evaluate" in r.output
    ds = load("digits", data_root)
    pred = net.evaluate_raw(ds.x_test[:6])[1]
    correct = int((pred == ds.y_test[:6]).sum())
    m = re.search(r"accuracy on 6 test samples of digits: [\d.]+ \((\d+)/6\)", r.output)
    assert m and int(m.group(1)) == correct, r.output
