"""The Boolean basis shared by every stage: truth-table bit order, the 16 two-input functions,
IWP coefficient <-> table conversions and the exact multilinear extension (numpy reference).

Bit order (docs/netlist.md, *Truth tables*): a gate of fan-in ``n`` with inputs ``(i_0, ..., i_{n-1})``
has a ``2**n``-bit table; bit ``p`` is the output when input ``k`` equals bit ``k`` of ``p``
(input 0 is the least significant address bit). This is the order of a Xilinx LUT6 ``INIT`` and of
an iCE40 ``SB_LUT4`` ``LUT_INIT``. Tables are held as ``numpy.uint64``.
"""

from __future__ import annotations

import numpy as np

MAX_FAN_IN = 6

#: The 16 two-input functions in the order of the difflogic paper (A = input 0, B = input 1).
TWO_INPUT_NAMES = (
    "FALSE", "AND", "A_AND_NOT_B", "A", "NOT_A_AND_B", "B", "XOR", "OR",
    "NOR", "XNOR", "NOT_B", "A_OR_NOT_B", "NOT_A", "NOT_A_OR_B", "NAND", "TRUE",
)


def _two_input_table(i: int) -> int:
    fns = (
        lambda a, b: 0, lambda a, b: a & b, lambda a, b: a & (1 - b), lambda a, b: a,
        lambda a, b: (1 - a) & b, lambda a, b: b, lambda a, b: a ^ b, lambda a, b: a | b,
        lambda a, b: 1 - (a | b), lambda a, b: 1 - (a ^ b), lambda a, b: 1 - b,
        lambda a, b: a | (1 - b), lambda a, b: 1 - a, lambda a, b: (1 - a) | b,
        lambda a, b: 1 - (a & b), lambda a, b: 1,
    )
    f = fns[i]
    return sum(f(p & 1, (p >> 1) & 1) << p for p in range(4))


#: uint64[16]: the table of each difflogic two-input function (FALSE=0x0, AND=0x8, XOR=0x6, ...).
TWO_INPUT_TABLES = np.array([_two_input_table(i) for i in range(16)], dtype=np.uint64)


def _check_fan_in(n: int) -> int:
    n = int(n)
    if not 1 <= n <= MAX_FAN_IN:
        raise ValueError(f"fan-in must be in 1..{MAX_FAN_IN}, got {n}")
    return n


def table_mask(n: int) -> np.uint64:
    """All-ones table of fan-in ``n`` (2**n ones)."""
    n = _check_fan_in(n)
    return np.uint64((1 << (1 << n)) - 1)


def pack_table(bits) -> np.ndarray:
    """Pack ``bits[..., 2**n]`` (0/1) into uint64 tables: bit ``p`` of the table = ``bits[..., p]``."""
    bits = np.asarray(bits)
    size = bits.shape[-1]
    if size < 2 or size > 64 or size & (size - 1):
        raise ValueError(f"a table has 2**n entries with n in 1..6, got {size}")
    weights = np.left_shift(np.uint64(1), np.arange(size, dtype=np.uint64))
    return (bits.astype(bool).astype(np.uint64) * weights).sum(axis=-1, dtype=np.uint64)


def unpack_table(tables, n: int) -> np.ndarray:
    """uint8[..., 2**n] bits of each table (inverse of :func:`pack_table`)."""
    n = _check_fan_in(n)
    tables = np.asarray(tables, dtype=np.uint64)
    shifts = np.arange(1 << n, dtype=np.uint64)
    return ((tables[..., None] >> shifts) & np.uint64(1)).astype(np.uint8)


def table_from_coefficients(rho) -> np.ndarray:
    """Discretize IWP coefficients ``rho[..., 2**n]`` (in [0, 1]): bit ``p`` is ``rho_p > 0.5``."""
    return pack_table(np.asarray(rho) > 0.5)


def coefficients_from_table(tables, n: int) -> np.ndarray:
    """float64[..., 2**n] 0/1 coefficients of each table (its multilinear extension's corners)."""
    return unpack_table(tables, n).astype(np.float64)


def multilinear(coeffs, x) -> np.ndarray:
    """Exact multilinear extension: ``sum_p c_p prod_k (x_k if bit k of p else 1 - x_k)``.

    ``coeffs[..., 2**n]``, ``x[..., n]`` broadcast against each other; float64 result.
    Written as the direct sum over corners (not the lerp tree) so that it is an independent oracle.
    """
    c = np.asarray(coeffs, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    if c.shape[-1] != 1 << n:
        raise ValueError(f"{c.shape[-1]} coefficients do not match fan-in {n}")
    out = 0.0
    for p in range(1 << n):
        w = 1.0
        for k in range(n):
            w = w * (x[..., k] if (p >> k) & 1 else 1.0 - x[..., k])
        out = out + c[..., p] * w
    return out


def eval_tables(tables, n: int, bits) -> np.ndarray:
    """Boolean evaluation: uint8 output of each table for ``bits[..., n]`` (0/1)."""
    n = _check_fan_in(n)
    bits = np.asarray(bits).astype(np.uint64)
    addr = np.zeros(bits.shape[:-1], dtype=np.uint64)
    for k in range(n):
        addr |= (bits[..., k] & np.uint64(1)) << np.uint64(k)
    return ((np.asarray(tables, dtype=np.uint64) >> addr) & np.uint64(1)).astype(np.uint8)


def passthrough_table(n: int, k: int) -> np.uint64:
    """Table of the gate whose output equals its input ``k``."""
    n = _check_fan_in(n)
    if not 0 <= k < n:
        raise ValueError(f"input {k} out of range for fan-in {n}")
    p = np.arange(1 << n)
    return pack_table((p >> k) & 1)


def input_cofactors(tables, n: int, k: int):
    """(table with input k forced to 0, table with input k forced to 1), both as fan-in-n tables
    that no longer depend on input k."""
    bits = unpack_table(tables, n)
    p = np.arange(1 << n)
    lo_idx = p & ~(1 << k)
    hi_idx = p | (1 << k)
    return pack_table(bits[..., lo_idx]), pack_table(bits[..., hi_idx])


def depends_on(tables, n: int, k: int) -> np.ndarray:
    """bool[...]: whether each table's output depends on input ``k``."""
    lo, hi = input_cofactors(tables, n, k)
    return lo != hi


def classify_table(table, n: int) -> str:
    """A short name for a table: const0, const1, pass<k>, not<k>, the difflogic name for n = 2
    (AND, XOR, ...), else ``other``."""
    n = _check_fan_in(n)
    t = np.uint64(table)
    if t == 0:
        return "const0"
    if t == table_mask(n):
        return "const1"
    for k in range(n):
        pt = passthrough_table(n, k)
        if t == pt:
            return f"pass{k}"
        if t == (~pt & table_mask(n)):
            return f"not{k}"
    if n == 2:
        return TWO_INPUT_NAMES[int(np.flatnonzero(TWO_INPUT_TABLES == t)[0])]
    return "other"
