"""rtl.encoder: the hardware encoder matches lgn_hw.encoding on every value of every range."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import numpy as np
from amaranth.hdl import signed, unsigned
from amaranth.sim import Simulator

from lgn_hw.encoding import Encoding, binary_feature, bits_feature, onehot_feature, thermometer_feature
from rtl.encoder import EncoderError, InputEncoder, feature_shape
from rtl.vectors import _pack_features


def _encode_hw(enc, x, **kwargs):
    hw = InputEncoder(enc, **kwargs)
    words, _ = _pack_features(x, enc)
    got = []

    async def tb(ctx):
        for w in words:
            ctx.set(hw.features.as_value(), w)
            got.append(ctx.get(hw.bits))

    sim = Simulator(hw)
    sim.add_testbench(tb)
    sim.run()
    return np.array([[(g >> k) & 1 for k in range(hw.n_bits)] for g in got], dtype=np.uint8)


def _grid(enc):
    axes = [np.arange(f.range[0], f.range[1] + 1) for f in enc.features]
    return np.stack([g.reshape(-1) for g in np.meshgrid(*axes, indexing="ij")], axis=1)


def test_every_kind_and_corner():
    enc = Encoding([
        # fractional thresholds (x >= ceil(t)), one below the range, one above it
        thermometer_feature("t", [-9.5, -1.5, 0, 0.25, 2, 7.9], (-4, 5)),
        # values inside and outside the range
        onehot_feature("o", [-1, 0, 3, 4, 12], (0, 4)),
        binary_feature("b", (0, 1)),
        binary_feature("s", (-2, 1)),
    ])
    x = _grid(enc)
    assert (_encode_hw(enc, x) == enc.encode(x)).all()


def test_eight_bit_pixels():
    enc = Encoding([thermometer_feature(f"p{i}", [32, 64.5, 128, 200], (0, 255)) for i in range(2)])
    x = np.stack([np.arange(256), np.arange(256)[::-1]], axis=1)
    assert (_encode_hw(enc, x) == enc.encode(x)).all()


def test_a_wrong_comparison_would_be_caught():
    # x >= t versus x > t differ exactly at the integer thresholds: the grid hits them
    enc = Encoding([thermometer_feature("t", [1, 3], (0, 4))])
    x = _grid(enc)
    assert (enc.encode(x) != (x > np.array([1, 3])).astype(np.uint8)).any()
    assert (_encode_hw(enc, x) == enc.encode(x)).all()


def test_shapes():
    assert feature_shape({"range": [0, 255]}) == unsigned(8)
    assert feature_shape({"range": [0, 0]}) == unsigned(1)
    assert feature_shape({"range": [-3, 3]}) == signed(3)
    assert feature_shape({"range": [-1, 0]}) == signed(1)
    enc = Encoding([thermometer_feature("a", [1], (0, 9)), binary_feature("b", (-8, 7))])
    hw = InputEncoder(enc)
    assert list(hw.layout.members) == ["f0", "f1"] and hw.n_bits == 2
    assert len(hw.features.as_value()) == 4 + 4


def test_no_encoding():
    with pytest.raises(EncoderError, match="no encoding"):
        InputEncoder(None)


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("lo,hi", [(0, 255), (0, 100), (3, 1000)])
def test_thermometer_sharing_is_exact_on_every_value(shared, lo, hi):
    # random thresholds, with repeated low parts, one on a multiple of 8 and the range ends
    rng = np.random.default_rng(hi)
    t = sorted(set(rng.integers(lo, hi + 1, size=9).tolist()) | {lo, hi, lo + 8, hi + 1})
    t.append(t[-2] - (t[-2] % 8) + 3)  # shares the low part 3 with others
    enc = Encoding([thermometer_feature("p", sorted(set(t)), (lo, hi)),
                    thermometer_feature("q", [lo + 1, (lo + hi) / 2 + 0.5], (lo, hi))])
    x = np.stack([np.arange(lo, hi + 1), np.arange(lo, hi + 1)[::-1]], axis=1)
    assert (_encode_hw(enc, x, shared=shared) == enc.encode(x)).all()


def test_shared_low_comparisons_are_built_once():
    from amaranth.back import rtlil

    enc = Encoding([thermometer_feature("p", [3, 5, 11, 19, 64], (0, 255))])
    hw = InputEncoder(enc)
    text = rtlil.convert(hw, name="enc", ports=[hw.features.as_value(), hw.bits])
    # low parts 3 (3, 11 and 19), 5 (one) and 0 (64: none): two shared wires
    assert text.count("wire width 1 \\f0_lo3") == 1 and "f0_lo5" in text and "f0_lo0" not in text


def test_unused_bits_are_constant_zero():
    enc = Encoding([thermometer_feature("p", [10, 20, 30], (0, 63)),
                    thermometer_feature("q", [5], (0, 63))])
    x = np.stack([np.arange(64), np.arange(64)[::-1]], axis=1)
    want = enc.encode(x)
    got = _encode_hw(enc, x, used={0, 2})
    assert (got[:, [0, 2]] == want[:, [0, 2]]).all()
    assert not got[:, [1, 3]].any() and want[:, [1, 3]].any()


def _bit_planes_case(positions8=(7, 6, 3, 0), positions5=(4, 2, 1)):
    enc = Encoding([bits_feature("p", list(positions8), (0, 255)),
                    bits_feature("q", list(positions5), (0, 31)),
                    bits_feature("r", [4, 0], (3, 17))])
    v = np.arange(256)  # every value of the 8-bit range, and (cycled) of the 5-bit ones
    return enc, np.stack([v, v % 32, 3 + v % 15], axis=1)


def test_bit_planes_on_every_value_of_an_8_and_a_5_bit_range():
    enc, x = _bit_planes_case()
    want = np.stack([(x[:, f] >> p) & 1 for f, ps in enumerate([(7, 6, 3, 0), (4, 2, 1), (4, 0)])
                     for p in ps], axis=1)
    assert np.array_equal(enc.encode(x), want)
    assert np.array_equal(_encode_hw(enc, x), want)
    # only used bits are built: the rest are constant 0, the used ones still exact
    got = _encode_hw(enc, x, used={0, 5})
    assert np.array_equal(got[:, [0, 5]], want[:, [0, 5]]) and not np.delete(got, [0, 5], axis=1).any()


def test_bit_planes_in_the_wrong_order_would_be_caught():
    enc, x = _bit_planes_case()
    swapped, _ = _bit_planes_case((6, 7, 3, 0), (2, 4, 1))
    assert not np.array_equal(_encode_hw(swapped, x), enc.encode(x))


def test_bit_planes_are_wires_only():
    from amaranth.back import rtlil

    enc, _ = _bit_planes_case()
    hw = InputEncoder(enc)
    text = rtlil.convert(hw, name="enc", ports=[hw.features.as_value(), hw.bits])
    assert "cell " not in text, text  # no logic cells: the bits are slices of the port
    therm = InputEncoder(Encoding([thermometer_feature("p", [64], (0, 255))]))
    assert "cell " in rtlil.convert(therm, name="enc", ports=[therm.features.as_value(), therm.bits])
