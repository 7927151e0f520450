"""The compare-first C encoder (``lgn_hw.export.c_compare``): ``PREFIX_classify`` through it equals
``Netlist.evaluate`` on every raw type (its AVX-512BW, AVX2 and portable paths, 1 and native
lanes), on every test sample of digits, MNIST (a UP5K-shaped netlist) and UCI Adult, and an
off-by-one threshold is caught (negative twin); ``auto`` picks it where it needs fewer transposes
and keeps the bit-plane encoder for bit-plane inputs."""
import ctypes
import subprocess

import numpy as np
import pytest

import export_cases as ec
from lgn_hw.datasets import load
from lgn_hw.encoding import Encoding
from lgn_hw.export import c_compare
from lgn_hw.export.c import render_c
from lgn_hw.export.cnames import ExportError
from lgn_hw.export.encoder import C_TYPES

pytestmark = pytest.mark.skipif(ec.CC is None, reason="no C compiler")


def _cc_accepts(flags) -> bool:
    proc = subprocess.run([ec.CC, *flags, "-x", "c", "-c", "-", "-o", "/dev/null"],
                          input="int x;\n", capture_output=True, text=True)
    return proc.returncode == 0


#: the compare paths: the machine's widest (AVX-512BW here), AVX2 only, the portable loop, one lane
FLAGS = {"native": ["-march=native"], "avx2": ["-march=native", "-mno-avx512f"],
         "portable": ["-march=native", "-DE_SIMD=0"], "one-lane": ["-DE_LANES=1"]}


def _comparisons_only(rng, ctype):
    """A random encoding of every kind but ``bits`` (planes are not comparisons), 70 features (a
    row longer than one 64-feature word, so that the shifted last word is exercised)."""
    enc = ec.random_encoding(rng, ctype, n_features=70)
    return Encoding([f for f in enc.features if f.kind != "bits"])


def _classify(lib, x, n_classes):
    cls = np.empty(len(x), dtype=np.int32)
    cnt = np.empty((len(x), n_classes), dtype=np.int32)
    lib.e_classify.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p]
    lib.e_classify(x.ctypes.data, len(x), cls.ctypes.data, cnt.ctypes.data)
    return cnt, cls


def _case(ctype, seed=0):
    rng = np.random.default_rng(abs(hash(ctype)) % 1000 + seed)
    enc = _comparisons_only(rng, ctype)
    net = ec.random_netlist(3 + seed, enc.n_bits, [200, 60], [3, 5], 2, skip=True, offsets=True)
    net.encoding = enc
    net.validate()
    rows = ec.random_samples(rng, enc, 1100)
    return net, rows, np.array(rows, dtype=np.dtype(ctype.replace("_t", "")))


@pytest.mark.parametrize("ctype, path", [(t, p) for t, _, _ in C_TYPES for p in FLAGS
                                          if t in ("uint8_t", "int8_t") or p in ("native", "one-lane")])
def test_compare_encoder_of_every_raw_type(ctype, path, tmp_path):
    """Every path for the one-byte types (the SIMD paths are theirs), native and one lane for the
    others."""
    if not _cc_accepts(FLAGS[path]):
        pytest.skip(f"{ec.CC} does not take {FLAGS[path]}")
    net, rows, x = _case(ctype)
    exp = render_c(net, "e", encoder="compare")
    assert exp.encoder == "compare" and "e_cmp_word" in exp.files["e.c"]
    lib = ec.compile_library(exp.files, FLAGS[path], tmp_path)
    want_c, want_p = net.evaluate(ec.reference_bits(net.encoding, rows))
    for n in (1100, 1, 64, 513):  # several passes, a partial last pass, fewer than one lane
        got_c, got_p = _classify(lib, x[:n], 2)
        assert np.array_equal(got_c, want_c[:n]) and np.array_equal(got_p, want_p[:n]), n


def test_an_off_by_one_threshold_is_caught(monkeypatch, tmp_path):
    """Negative twin: every interval's lower end one higher (x > k instead of x >= k) changes the
    classes of the samples that sit on a threshold."""
    net, rows, x = _case("uint8_t", seed=1)
    good = c_compare._intervals

    def shifted(plan):
        return {b: (f, min(lo + 1, plan.type_max), hi, inv)
                for b, (f, lo, hi, inv) in good(plan).items()}

    monkeypatch.setattr(c_compare, "_intervals", shifted)
    lib = ec.compile_library(render_c(net, "e", encoder="compare").files, ["-march=native"], tmp_path)
    want_c, _ = net.evaluate(ec.reference_bits(net.encoding, rows))
    assert not np.array_equal(_classify(lib, x, 2)[0], want_c)


def _engine_matches(net, x, encoder):
    from lgn_hw.export.engine import CEngine

    eng = CEngine(net, encoder=encoder)
    assert eng.export.encoder == encoder
    want_c, want_p = net.evaluate_raw(x)
    got_c, got_p = eng.classify(x)
    assert np.array_equal(got_c, want_c) and np.array_equal(got_p, want_p)
    return eng


@pytest.mark.parametrize("encoder", ["compare", "planes"])
def test_both_encoders_on_every_digits_and_mnist_test_sample(encoder, data_root):
    _engine_matches(ec.trained(ec.DIGITS), load("digits").x_test, encoder)
    _engine_matches(ec.up5k_shaped_mnist(), load("mnist", data_root).x_test, encoder)


def test_compare_encoder_on_every_adult_test_sample(data_root):
    _engine_matches(ec.trained(ec.ADULT), load("adult", data_root).x_test, "compare")


def test_auto_choice_and_refusals():
    assert render_c(ec.up5k_shaped_mnist()).encoder == "compare"  # 13 words against 98 blocks
    net = ec.trained(ec.DIGITS_BITS)
    assert render_c(net).encoder == "planes"  # bit planes are inputs, not comparisons
    with pytest.raises(ExportError, match="is a bit plane"):
        render_c(net, encoder="compare")
    with pytest.raises(ExportError, match="expected one of auto, compare, planes"):
        render_c(net, encoder="fast")
    assert render_c(ec.random_netlist(0, 8, [8], 2, 2)).encoder is None  # no encoding


@pytest.mark.parametrize("encoder", ["auto", "compare", "planes"])
def test_logic_that_reads_no_input(encoder, tmp_path):
    """Every gate constant: no input bit is read, the encoders emit nothing unused (strict C)."""
    from lgn_hw.encoding import thermometer_raw

    net = ec.random_netlist(0, 80, [20, 10], 2, 2)
    for layer in net.layers:
        layer.tables[:] = 0
    net.encoding = thermometer_raw(80, 1)
    net.validate()
    exp = render_c(net, "e", encoder=encoder)
    assert exp.n_live_inputs == 0 and exp.encoder == ("planes" if encoder == "auto" else encoder)
    lib = ec.compile_library(exp.files, ["-march=native"], tmp_path)
    x = np.random.default_rng(0).integers(0, 256, size=(100, 80)).astype(np.uint8)
    want_c, want_p = net.evaluate_raw(x)
    got_c, got_p = _classify(lib, x, 2)
    assert np.array_equal(got_c, want_c) and np.array_equal(got_p, want_p)
