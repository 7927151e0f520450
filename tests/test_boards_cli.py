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


def _csv_netlist(tmp_path):
    """A netlist over a user's CSV (real and categorical columns, string classes), as training
    would record it: the file's column handling in the encoding and meta."""
    from lgn_hw.datasets.tabular import load_tabular
    from lgn_hw.encoding import for_dataset
    from lgn_hw.netlist import Netlist

    rows = [f"{1000 + (i * 7919 % 1000) / 100},{'north south east'.split()[i % 3]},{'lo hi'.split()[i % 2]}"
            for i in range(40)]
    data = tmp_path / "d.csv"
    data.write_text("level,side,band\n" + "\n".join(rows) + "\n")
    ds = load_tabular(data)
    enc = for_dataset(ds, thresholds=3, method="quantile")
    base = random_netlist(4, enc.n_bits, [12, 8], 2, 2)
    net = Netlist.from_dict({**base.to_dict(), "encoding": enc.to_dict(),
                             "meta": {"dataset": dict(ds.source), "class_names": ds.class_names}})
    return net, net.save(tmp_path / "n.json"), data


def test_run_sim_raw_inputs_on_a_users_csv_shows_class_names(tmp_path):
    net, path, data = _csv_netlist(tmp_path)
    assert net.encoding.features[0].frac_bits > 0  # a real column: the host sends fixed-point integers
    r = CliRunner().invoke(run_command, ["--port", "sim", "--netlist", str(path), "--raw-inputs",
                                         "-n", "4", "--dataset", str(data)])
    assert r.exit_code == 0, r.output
    assert "4/4 answers equal Netlist.evaluate" in r.output
    assert f"accuracy on the first 4 of the 8 test rows of {data} (its recorded split, seed 0):" in r.output
    assert "board's classes: hi " in r.output and ", lo " in r.output


def test_run_refuses_a_board_built_for_the_other_inputs(tmp_path, monkeypatch):
    import boards.host

    net, path, _ = _csv_netlist(tmp_path)
    assert net.encoding.n_bits <= 8 < sum(int(f.range[1]).bit_length() for f in net.encoding.features)
    real = boards.host.open_port
    monkeypatch.setattr(boards.host, "open_port", lambda spec, baud, netlist, *, raw_inputs=False,
                        pipeline_every=None: real(spec, baud, netlist, raw_inputs=not raw_inputs))
    r = CliRunner().invoke(run_command, ["--port", "sim", "--netlist", str(path), "-n", "2"])
    assert r.exit_code == 1 and "it was built with --raw-inputs" in r.output, r.output
    r = CliRunner().invoke(run_command, ["--port", "sim", "--netlist", str(path), "-n", "2", "--raw-inputs"])
    assert r.exit_code == 1 and "it was built without --raw-inputs" in r.output, r.output
