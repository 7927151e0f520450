"""lgn_hw.gates: bit order, the 16 two-input functions, conversions, multilinear extension."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lgn_hw import gates


def test_two_input_tables_follow_difflogic_order_and_bit_order():
    # A = input 0 = bit 0 of the address, B = input 1
    def table(f):
        return sum(f(p & 1, p >> 1) << p for p in range(4))

    expected = {
        "FALSE": 0x0, "AND": 0x8, "A_AND_NOT_B": 0x2, "A": 0xA, "NOT_A_AND_B": 0x4, "B": 0xC,
        "XOR": 0x6, "OR": 0xE, "NOR": 0x1, "XNOR": 0x9, "NOT_B": 0x3, "A_OR_NOT_B": 0xB,
        "NOT_A": 0x5, "NOT_A_OR_B": 0xD, "NAND": 0x7, "TRUE": 0xF,
    }
    assert [int(t) for t in gates.TWO_INPUT_TABLES] == [expected[n] for n in gates.TWO_INPUT_NAMES]
    assert gates.TWO_INPUT_NAMES[1] == "AND" and gates.TWO_INPUT_NAMES[6] == "XOR"
    assert table(lambda a, b: a & (1 - b)) == 0x2


@pytest.mark.parametrize("n", range(1, 7))
def test_pack_unpack_roundtrip_and_lut_init_order(n):
    rng = np.random.default_rng(n)
    bits = rng.integers(0, 2, size=(50, 1 << n))
    tables = gates.pack_table(bits)
    assert tables.dtype == np.uint64
    assert (gates.unpack_table(tables, n) == bits).all()
    # bit p of the table is the output at address p (input k = bit k of p)
    for g in range(5):
        for p in range(1 << n):
            x = [(p >> k) & 1 for k in range(n)]
            assert gates.eval_tables(tables[g], n, np.array(x)) == bits[g, p]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_multilinear_is_the_table_on_corners_and_linear_in_each_input(n, seed):
    rng = np.random.default_rng(seed)
    coeffs = rng.random(1 << n)
    table_bits = rng.integers(0, 2, size=1 << n)
    t = gates.pack_table(table_bits)
    corners = np.array([[(p >> k) & 1 for k in range(n)] for p in range(1 << n)], dtype=float)
    assert np.allclose(gates.multilinear(gates.coefficients_from_table(t, n), corners), table_bits)
    assert np.allclose(gates.multilinear(coeffs, corners), coeffs)
    # multilinear: affine in each input separately
    x = rng.random(n)
    k = int(rng.integers(n))
    x0, x1 = x.copy(), x.copy()
    x0[k], x1[k] = 0.0, 1.0
    y0, y1, y = (gates.multilinear(coeffs, v) for v in (x0, x1, x))
    assert np.isclose(y, y0 + x[k] * (y1 - y0))


def test_table_from_coefficients_is_strict_half_threshold():
    rho = np.array([0.5, 0.500001, 0.2, 0.9])
    assert int(gates.table_from_coefficients(rho)) == 0b1010


@pytest.mark.parametrize("n", range(1, 7))
def test_passthrough_and_classify(n):
    full = int(gates.table_mask(n))
    assert gates.classify_table(0, n) == "const0"
    assert gates.classify_table(full, n) == "const1"
    for k in range(n):
        pt = gates.passthrough_table(n, k)
        assert gates.classify_table(pt, n) == f"pass{k}"
        assert gates.classify_table(int(pt) ^ full, n) == f"not{k}"
        assert gates.depends_on(pt, n, k)
        assert all(not gates.depends_on(pt, n, j) for j in range(n) if j != k)
    if n == 2:
        assert gates.classify_table(0x6, 2) == "XOR"


def test_bad_fan_in_is_a_clear_error():
    with pytest.raises(ValueError, match="fan-in must be in 1..6"):
        gates.unpack_table(np.uint64(3), 7)
    with pytest.raises(ValueError, match="2\\*\\*n entries"):
        gates.pack_table(np.zeros(3))
