"""The export's middle: minimum 4-input formulas, Shannon programs for fan-in 5-6, the
hash-consed graph (folding identities, shared subexpressions, dead logic removed) and the whole
netlist as one program (carry-save popcounts with offsets, argmax ties to the lowest class)."""
import itertools

import numpy as np
import pytest

from lgn_hw.export import minimize as m
from lgn_hw.export.logic import ONE, ZERO, Graph, build
from lgn_hw.gates import eval_tables
from lgn_hw.netlist import Head, Layer, Netlist, pack_samples, random_netlist

LITS = (0xAAAA, 0xCCCC, 0xF0F0, 0xFF00)


def _run16(prog):
    """A 4-input program evaluated on 16-bit truth tables (all inputs at once)."""
    vals = dict(enumerate(LITS))
    vals[m.CONST0], vals[m.CONST1] = 0, 0xFFFF
    ops, res = prog
    for i, (op, a, b) in enumerate(ops):
        x, y = vals[a], vals.get(b)
        vals[m.TMP + i] = {"not": lambda: ~x, "and": lambda: x & y, "or": lambda: x | y,
                           "xor": lambda: x ^ y, "andn": lambda: x & ~y}[op]() & 0xFFFF
    return vals[res]


def test_every_4_input_function_has_a_correct_program_of_its_cost():
    cost = m.formula_table()[0]
    tables = np.arange(0, 1 << 16, 7, dtype=np.uint64)  # every 7th function: all costs occur
    progs = m.programs(tables, 4)
    assert all(_run16(p) == int(f) for f, p in zip(tables, progs))
    assert [len(p[0]) for p in progs] == cost[tables.astype(np.int64)].tolist()
    assert cost.max() == 8 and np.bincount(cost).tolist() == [6, 34, 258, 1465, 6549, 17404, 24412, 13864, 1544]


@pytest.mark.parametrize("name,table,ops", [
    ("x0", 0xAAAA, 0), ("not x0", 0x5555, 1), ("nand", 0x7777, 2), ("xnor", 0x9999, 2),
    ("and4", 0x8000, 3), ("xor4", 0x6996, 3), ("mux", 0xCACA, 3), ("maj3", 0xE8E8, 4), ("zero", 0, 0)])
def test_known_minimum_sizes(name, table, ops):
    """Hand-checked minima: no formula over {and, or, xor, and-not, not} is shorter."""
    assert m.formula_table()[0][table] == ops, name


def test_no_shorter_formula_exists_for_3_inputs():
    """Independent check of the DP for 3 inputs: exhaustive enumeration of all formula trees."""
    lits = {0xAA: 0, 0xCC: 0, 0xF0: 0, 0x00: 0, 0xFF: 0}
    by_size = {0: set(lits)}
    best = dict(lits)
    for size in range(1, 6):
        new = {(~a) & 0xFF for a in by_size[size - 1]}
        for i in range(size):
            for a, b in itertools.product(by_size[i], by_size[size - 1 - i]):
                new |= {a & b, a | b, a ^ b, a & ~b & 0xFF}
        by_size[size] = new
        for f in new:
            best.setdefault(f, size)
    cost = m.formula_table()[0]
    for f, c in best.items():
        assert cost[f | f << 8] == c, hex(f)  # the 3-input function, ignoring input 3
    assert len(best) == 256


@pytest.mark.parametrize("n", [5, 6])
def test_shannon_programs_of_5_and_6_inputs(n):
    rng = np.random.default_rng(n)
    tables = rng.integers(0, (1 << (1 << n)) - 1, size=400, dtype=np.uint64, endpoint=True)
    tables[:4] = [0, (1 << (1 << n)) - 1, 0xAAAAAAAAAAAAAAAA & ((1 << (1 << n)) - 1), 0x8000000000000000 >> (64 - (1 << n))]
    bits = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    progs = m.programs(tables, n)
    costs = m.formula_cost(tables, n)
    for t, p, c in zip(tables, progs, costs):
        assert np.array_equal(m.evaluate_program(p, bits), eval_tables(t, n, bits))
        assert len(p[0]) == c
    assert costs[:3].tolist() == [0, 0, 0] and costs[3] == n - 1  # constants, a literal, an AND
    assert costs.mean() < {5: 13, 6: 26}[n]


def test_programs_never_read_ignored_inputs():
    t = np.array([0x8888], dtype=np.uint64)  # x0 & x1 of a 4-input gate
    ops, res = m.programs(t, 4)[0]
    assert {a for _, a, _ in ops} | {b for _, _, b in ops} <= {0, 1, -1} and len(ops) == 1


def _tt(g, node, inputs):
    """Truth table (as an int over 2**len(inputs) rows) of a graph node."""
    rows = 1 << len(inputs)
    lit = [sum(1 << r for r in range(rows) if r >> k & 1) for k in range(len(inputs))]
    val = {}
    for n, (op, a, b) in enumerate(g.nodes):
        full = (1 << rows) - 1
        val[n] = {"const": lambda: full if a else 0, "in": lambda: lit[inputs.index(n)],
                  "not": lambda: ~val[a] & full, "and": lambda: val[a] & val[b],
                  "or": lambda: val[a] | val[b], "xor": lambda: val[a] ^ val[b],
                  "andn": lambda: val[a] & ~val[b] & full}[op]()
    return val[node]


def test_graph_folding_is_exact_and_shares():
    g = Graph()
    a, b = g.input(0), g.input(1)
    na, nb = g.not_(a), g.not_(b)
    ins = [a, b]
    terms = [a, b, na, nb, ZERO, ONE]
    for x, y in itertools.product(terms, repeat=2):
        for op, ref in (("and", lambda p, q: p & q), ("or", lambda p, q: p | q),
                        ("xor", lambda p, q: p ^ q), ("andn", lambda p, q: p & ~q & 0xF)):
            node = g.op(op, x, y)
            assert _tt(g, node, ins) == ref(_tt(g, x, ins), _tt(g, y, ins)), (op, x, y)
    assert g.and_(a, b) == g.and_(b, a) and g.xor(na, nb) == g.xor(a, b)
    assert g.and_(na, nb) == g.not_(g.or_(a, b)) and g.not_(g.not_(a)) == a
    assert g.andn(a, a) == ZERO and g.andn(na, b) == g.not_(g.or_(a, b)) and g.andn(na, a) == na


def _two_gate_net(tables, groups, offsets=None):
    layer = Layer(2, np.array([[0, 1], [0, 1], [1, 2]]), np.array(tables, dtype=np.uint64))
    return Netlist(3, [layer], Head(len(groups), groups, offsets))


def test_duplicates_shared_and_dead_logic_gone():
    net = _two_gate_net([0x8, 0x8, 0x6], [[3], [4]])  # gates 3 and 4 both AND; gate 5 unread
    prog = build(net)
    assert prog.gate_ops == 1 and prog.inputs == [0, 1]


@pytest.mark.parametrize("offsets,counts_then_class", [
    ([0, 0], None), ([1, 0], None), ([0, 5], None), ([3, 3], None)])
def test_head_offsets_multiplicity_and_ties(offsets, counts_then_class):
    # class 0 counts gate 3 twice and gate 5; class 1 counts gates 4 and 5: ties happen
    net = _two_gate_net([0x8, 0xE, 0x6], [[3, 3, 5], [4, 5]], offsets)
    bits = np.array(list(itertools.product([0, 1], repeat=3)))
    want_c, want_p = net.evaluate(bits)
    got_c, got_p = build(net).evaluate(pack_samples(bits))
    assert np.array_equal(got_c[:8], want_c) and np.array_equal(got_p[:8], want_p)
    ties = want_c[:, 0] == want_c[:, 1]
    assert (got_p[:8][ties] == 0).all()


def test_fuzzed_programs_equal_evaluate_and_a_bug_is_caught():
    rng = np.random.default_rng(0)
    for seed in range(24):
        fans = [1 + (seed + j) % 6 for j in range(3)]
        net = random_netlist(seed, 16, [30, 24, 12], fans, [1, 2, 3, 4, 6, 12][seed % 6],
                             special=0.2, skip=bool(seed % 2), offsets=True)
        net.head.groups[0] = np.concatenate([net.head.groups[0], net.head.groups[0][:3]])
        bits = rng.integers(0, 2, size=(200, 16))
        want_c, want_p = net.evaluate(bits)
        prog = build(net)
        got_c, got_p = prog.evaluate(pack_samples(bits))
        assert np.array_equal(got_c[:200], want_c) and np.array_equal(got_p[:200], want_p), seed
    prog.graph.nodes = [("or",) + n[1:] if n[0] == "and" else n for n in prog.graph.nodes]  # a bug
    assert not np.array_equal(prog.evaluate(pack_samples(bits))[0][:200], want_c)
