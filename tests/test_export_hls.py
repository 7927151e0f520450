"""``--lang hls``: the HLS C++ (compiled with a plain C++ compiler: no vendor HLS tool exists
here) run through its own C-simulation testbench equals ``Netlist.evaluate`` on every test sample
of digits, MNIST (a UP5K-shaped netlist) and UCI Adult, and on fuzzed netlists of every fan-in."""
import subprocess

import numpy as np
import pytest

import export_cases as ec
from lgn_hw.datasets import load
from lgn_hw.encoding import Encoding, binary_feature
from lgn_hw.export.hls import render_hls

pytestmark = pytest.mark.skipif(ec.CXX is None, reason="no C++ compiler")
FLAGS = ["-std=c++11", "-O0", "-Wall", "-Wextra", "-Werror", "-Wno-unknown-pragmas"]


def _testbench(net, tmp_path, prefix="lgn"):
    exp = render_hls(net, prefix)
    for name, text in exp.files.items():
        (tmp_path / name).write_text(text)
    exe = tmp_path / f"{prefix}_tb"
    proc = subprocess.run([ec.CXX, *FLAGS, "-o", str(exe), str(tmp_path / f"{prefix}_hls.cpp"),
                           str(tmp_path / f"{prefix}_tb.cpp")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return exp, exe


def _run(exe, rows, *args):
    text = "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    out = subprocess.run([str(exe), *args], input=text, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return np.array([[int(v) for v in ln.split(",")] for ln in out.stdout.splitlines()])


def _matches(net, x, tmp_path):
    exp, exe = _testbench(net, tmp_path)
    got = _run(exe, x.tolist(), "-c")
    want_c, want_p = net.evaluate_raw(x)
    assert np.array_equal(got[:, 0], want_p) and np.array_equal(got[:, 1:], want_c)
    return exp, exe


def test_top_function_shape(tmp_path):
    net = ec.trained(ec.DIGITS)
    exp = render_hls(net, "dig")
    src = exp.files["dig_hls.cpp"]
    assert "void dig_top(const dig_feature_t features[DIG_N_FEATURES], dig_class_t *cls, " \
           "dig_count_t counts[DIG_N_CLASSES])" in src
    for pragma in ("#pragma HLS PIPELINE II=1", "#pragma HLS ARRAY_PARTITION variable=features complete",
                   "#pragma HLS UNROLL"):
        assert pragma in src
    assert "malloc" not in src and "new " not in src and "std::" not in src
    assert "typedef uint8_t dig_feature_t;" in exp.files["dig_hls.h"]


def test_trained_digits_every_test_sample(tmp_path):
    ds = load("digits")
    _, exe = _matches(ec.trained(ec.DIGITS), ds.x_test, tmp_path)
    row = list(ds.x_test[0])
    bad = subprocess.run([str(exe)], input=" ".join(map(str, row[:-1])) + "\n", capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.strip() == "lgn_tb: line 1: expected 64 values, got 63"
    bad = subprocess.run([str(exe)], input=" ".join(map(str, row[:3] + [17] + row[4:])) + "\n",
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "value 4: outside the feature's range" in bad.stderr


@pytest.mark.slow
def test_up5k_shaped_mnist_every_test_image(data_root, tmp_path):
    ds = load("mnist", data_root)
    _matches(ec.up5k_shaped_mnist(1), ds.x_test, tmp_path)


@pytest.mark.slow
def test_trained_adult_every_test_sample(data_root, tmp_path):
    ds = load("adult", data_root)
    _matches(ec.trained(ec.ADULT), ds.x_test, tmp_path)


def test_fuzzed_netlists_of_every_fan_in(tmp_path):
    rng = np.random.default_rng(5)
    for i, net in enumerate(ec.fuzz_netlists(11, 6)):
        d = tmp_path / str(i)
        d.mkdir()
        _, exe = _testbench(net, d)
        bits = rng.integers(0, 2, size=(300, net.n_inputs))
        got = _run(exe, bits.tolist(), "-c")
        want_c, want_p = net.evaluate(bits)
        assert np.array_equal(got[:, 0], want_p) and np.array_equal(got[:, 1:], want_c), i


def test_real_valued_features(tmp_path):
    net, x = ec.real_valued_netlist(1)
    _, exe = _testbench(net, tmp_path)
    rows = [[repr(float(v)) if i < 3 else str(int(v)) for i, v in enumerate(r)] for r in x]
    got = _run(exe, rows, "-c")
    want_c, want_p = net.evaluate_raw(x)
    assert np.array_equal(got[:, 0], want_p) and np.array_equal(got[:, 1:], want_c)


def test_every_raw_type_and_hostile_names(tmp_path):
    from test_export_c import HOSTILE

    rng = np.random.default_rng(9)
    for ctype in ("uint8_t", "int16_t", "uint64_t", "int64_t"):  # all eight: test_export_c
        enc = ec.random_encoding(rng, ctype)
        net = ec.random_netlist(4, enc.n_bits, [24, 12], [4, 2], 3, offsets=True)
        net.encoding = enc
        net.validate()
        d = tmp_path / ctype
        d.mkdir()
        _, exe = _testbench(net, d)
        rows = ec.random_samples(rng, enc, 60)
        want_c, want_p = net.evaluate(ec.reference_bits(enc, rows))
        got = _run(exe, rows, "-c")
        assert np.array_equal(got[:, 0], want_p) and np.array_equal(got[:, 1:], want_c), ctype
    net = ec.random_netlist(0, len(HOSTILE), [20, 10], 3, 2)
    net.encoding = Encoding([binary_feature(n) for n in HOSTILE])
    net.meta = {"dataset": 'evil "*/ \\ \n ??/'}
    d = tmp_path / "hostile"
    d.mkdir()
    _testbench(net.validate(), d, "h")  # compiles with warnings as errors
