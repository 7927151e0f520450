"""rtl.encoder with a family's cells (``--lut-cells`` on xc7): the small encoder bits packed two per
dual-output LUT compute exactly what lgn_hw.encoding computes.

The cells are opaque to Amaranth's simulator, so the packed encoder is simulated in Icarus with
Yosys's 7-series cell models, on every value of each feature's range, and a corrupted INIT must be
caught. Synthesis keeps one LUT site per planned pair.
"""

import re

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import numpy as np
from amaranth.back import verilog

from flows.families import get_family
from lgn_hw.encoding import Encoding, binary_feature, bits_feature, onehot_feature, thermometer_feature
from lgn_hw.feature import KINDS
from rtl.encoder import InputEncoder, _bit_function, _port_values, feature_shape, small_function
from rtl.vectors import _pack_features
from rtl_cases import run_with_cell_models

XC7 = get_family("xc7").head_cells

pytestmark = pytest.mark.tools


def _verilog(enc, used):
    hw = InputEncoder(enc, used=used, cells=XC7)
    return hw, verilog.convert(hw, name="enc", ports=[hw.features.as_value(), hw.bits])


def _icarus(tmp_path, text, enc, n_bits, x):
    """Encoded bits of every row of ``x`` from the Verilog ``text`` (module ``enc``)."""
    words, _ = _pack_features(x, enc)
    width = sum(feature_shape(f).width for f in enc.features)
    lines = [f"module tb; reg [{width - 1}:0] features; wire [{n_bits - 1}:0] bits;",
             "enc dut(.features(features), .bits(bits));", "initial begin"]
    for w in words:
        lines.append(f"features = {width}'h{int(w):x}; #1; $display(\"B %h\", bits);")
    lines.append("$finish; end endmodule")
    out = run_with_cell_models(tmp_path, "xc7", text + "\n" + "\n".join(lines))
    got = [int(v, 16) for v in re.findall(r"^B ([0-9a-fx]+)$", out, re.M)]
    assert len(got) == len(x)
    return np.array([[(g >> k) & 1 for k in range(n_bits)] for g in got], dtype=np.uint8)


def _pixels(n=4):
    """MNIST-like: 8-bit pixels, thresholds 64/128/192 (128 is a wire, 64 and 192 two-bit
    functions), plus a feature with a 5-input bit and one too wide to pack."""
    feats = [thermometer_feature(f"p{i}", [64, 128, 192], (0, 255)) for i in range(n)]
    feats.append(thermometer_feature("w", [8, 100, 250], (0, 255)))
    feats.append(onehot_feature("o", [0, 3, 5], (0, 7)))
    feats.append(binary_feature("b", (0, 3)))
    feats.append(bits_feature("c", [7, 6, 2], (0, 255)))  # wires
    feats.append(thermometer_feature("s", [-3, 0, 2], (-4, 3)))  # signed: two's complement port
    return Encoding(feats)


def _used_bits(enc, used):
    """``(bit index, feature, bit of the feature)`` of every used bit."""
    j = 0
    for f in enc.features:
        for k in range(Encoding([f]).n_bits):
            if j in used:
                yield j, f, k
            j += 1


def _sweep(enc, rng):
    """Every value of every feature (the others random), so each packed function is exhaustive."""
    lo = np.array([f.range[0] for f in enc.features])
    hi = np.array([f.range[1] for f in enc.features])
    n = int((hi - lo).max()) + 1
    x = rng.integers(lo, hi + 1, size=(n, len(lo)))
    for j in range(len(lo)):
        x[:, j] = lo[j] + np.arange(n) % (hi[j] - lo[j] + 1)
    return np.concatenate([x, np.roll(x, 7, axis=0)[:, ::-1] % (hi + 1 - lo) + lo])


def test_packed_encoder_is_exact_on_every_value(tmp_path):
    enc = _pixels()
    used = set(range(enc.n_bits)) - {4}  # p1 >= 128 unused: must come out 0
    hw, text = _verilog(enc, used)
    x = _sweep(enc, np.random.default_rng(0))
    want = enc.encode(x)
    want[:, 4] = 0
    got = _icarus(tmp_path, text, enc, hw.n_bits, x)
    assert np.array_equal(got, want)
    # every used bit of support 2..5 ports bits (or 1 bit, not a plain wire) takes half a site or
    # a site; the 64/192 pair of each of the 4 pixels shares one, so at least 4 sites are saved
    small = sum(1 for j, f, k in _used_bits(enc, used)
                if (sf := small_function(f, k, feature_shape(f))) is not None
                and 1 <= len(sf[0]) <= 5 and sf != ([sf[0][0]], 0b10))
    assert -(-small // 2) <= hw.n_dual <= small - 4
    assert text.count("LUT6_2") == hw.n_dual


def test_a_corrupted_packed_lut_is_caught(tmp_path):
    enc = _pixels(2)
    hw, text = _verilog(enc, None)
    x = _sweep(enc, np.random.default_rng(1))
    inits = list(re.finditer(r"64'h([0-9a-f]{16})", text))
    assert inits
    m = inits[0]
    # flip the O5 (low half) entry of one reachable input pattern
    flipped = text[:m.start(1)] + format(int(m.group(1), 16) ^ (1 << 3), "016x") + text[m.end(1):]
    assert np.array_equal(_icarus(tmp_path, text, enc, hw.n_bits, x), enc.encode(x))
    assert not np.array_equal(_icarus(tmp_path, flipped, enc, hw.n_bits, x), enc.encode(x))


def test_small_functions_of_pixel_thresholds():
    f = thermometer_feature("p", [64, 128, 192], (0, 255))
    shape = feature_shape(f)
    assert small_function(f, 0, shape) == ([6, 7], 0b1110)  # x6 | x7
    assert small_function(f, 1, shape) == ([7], 0b10)       # a wire
    assert small_function(f, 2, shape) == ([6, 7], 0b1000)  # x6 & x7
    wide = thermometer_feature("q", [3], (0, 1 << 13))  # 14-bit port: not enumerated
    assert small_function(wide, 0, feature_shape(wide)) is None


def test_verify_checks_the_whole_xc7_core_with_packed_encoder(tmp_path):
    """``lgn-hw verify --raw-inputs --lut-cells`` synthesises the whole core as ``synth`` counts
    it (packed encoder, LUT cells, head cells), simulates the Yosys netlist on raw features against
    Netlist.evaluate, and its self-test catches one inverted LUT."""
    from click.testing import CliRunner

    from lgn_hw.cli import main
    from lgn_hw.netlist import Netlist, random_netlist

    enc = _pixels(6)
    base = random_netlist(5, enc.n_bits, [40, 30], 6, 3, skip=True)
    net = Netlist(base.n_inputs, base.layers, base.head, encoding=enc)
    path = tmp_path / "net.json"
    net.save(path)
    r = CliRunner().invoke(main, ["verify", "--netlist", str(path), "--target", "xc7",
                                  "--raw-inputs", "--lut-cells", "--vectors", "300", "--self-test",
                                  "--no-formal", "--out", str(tmp_path / "v")])
    assert r.exit_code == 0, r.output
    assert "300/300 samples match (postsim-xc7" in r.output
    assert "self-test, one LUT inverted: simulation caught it" in r.output
    # the packed encoder was what got synthesised: its dual LUTs are in the Yosys netlist
    assert any("e0_o5" in p.read_text() for p in (tmp_path / "v" / "synth").rglob("*.v"))


def _one_of_each_kind():
    return [thermometer_feature("t", [-2, 0.5, 3], (-4, 5)), onehot_feature("o", [0, 2, 9], (0, 6)),
            binary_feature("b", (-2, 1)), bits_feature("c", [4, 1, 0], (0, 31))]


def test_truth_tables_follow_the_encoding_for_every_kind():
    """The tables packed into LUTs come from rtl.encoder's numeric rule; on every value of the
    range it must equal lgn_hw.encoding for every feature kind there is (a new kind without a
    rule fails here, not in hardware)."""
    feats = _one_of_each_kind()
    assert {f.kind for f in feats} == set(KINDS)
    for f in feats:
        enc = Encoding([f])
        x = np.arange(f.range[0], f.range[1] + 1)
        want = enc.encode(x[:, None])
        for j in range(enc.n_bits):
            assert np.array_equal(_bit_function(f, j, x), want[:, j].astype(bool)), (f.kind, j)
        shape = feature_shape(f)
        v = _port_values(f, shape)
        for j in range(enc.n_bits):  # the (support, table) form is the same function
            support, table = small_function(f, j, shape)
            q = sum((((v >> k) & 1) << i) for i, k in enumerate(support)) if support else 0 * v
            got = (table >> q) & 1
            assert np.array_equal(got.astype(bool), _bit_function(f, j, v)), (f.kind, j)
