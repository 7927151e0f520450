"""Fuzz: random mutations of a valid netlist into every netlist loader.

A seeded generator mutates a valid digits netlist (over a thermometer code, and over bit planes; types, sizes, huge and negative numbers, deep
nesting, truncation, bad bytes) both as a Python object and as JSON text. Every case must end in a
one-line ``NetlistError`` or a netlist that behaves: it evaluates exactly as the brute-force
reference, saves and reloads to the same thing, and ``lgn-hw infer`` (in-process, CliRunner)
prints the accuracy the reference gives, or refuses in one line. Netlists that ``Netlist.load``
refuses are also fed to every other command that loads one (rtl, sim, synth, verify, build, run):
each must refuse in one line without a traceback. Each case must finish within ``CASE_SECONDS``.
"""

from __future__ import annotations

import copy
import json
import re
import time

import numpy as np
import pytest
from click.testing import CliRunner

from lgn_hw.cli import main
from lgn_hw.datasets import load
from lgn_hw.encoding import for_dataset
from lgn_hw.netlist import Netlist, NetlistError, random_netlist
from netlist_reference import brute_counts

CASES = 240
CASE_SECONDS = 20.0
HOSTILE = [0, -1, 1, 7, 2**21, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -2**63 - 1, 10**30,
           1.5, -0.0, float("nan"), float("inf"), "", "8", "ff" * 40, None, True, False,
           [], {}, [[]], [0] * 7, {"a": 1}, [2**64], [-1, 0]]
NUMBER = re.compile(rb"-?\d+(\.\d+)?([eE][-+]?\d+)?")
ACCURACY = re.compile(r"^accuracy: [0-9.]+ \((\d+)/(\d+)\)$", re.M)


@pytest.fixture(scope="module")
def digits():
    return load("digits")


@pytest.fixture(scope="module", params=["uniform", "bits"])
def base(request, digits):
    """A digits netlist over a thermometer code, and one over bit planes."""
    enc = for_dataset(digits, thresholds=2, method=request.param)
    net = random_netlist(7, enc.n_bits, [40, 20], [3, 2], 10, special=0.2, offsets=True)
    return Netlist(net.n_inputs, net.layers, net.head, enc, {"dataset": "digits"}).to_dict()


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


def _scalar_paths(d):
    """The size and number fields most worth hitting."""
    paths = [("n_inputs",), ("head", "classes"), ("head", "tau"), ("head", "offsets", 0),
             ("layers", 0, "fan_in"), ("layers", 1, "inputs", 3, 1), ("head", "groups", 2, 0),
             ("encoding", "features", 5, "range", 1), ("encoding", "features", 5, "thresholds", 0),
             ("encoding", "features", 5, "bits", 0), ("encoding", "features", 6, "bits"),
             ("meta", "dataset"), ("version",), ("layers", 0, "tables", 1)]
    return [p for p in paths if _get(d, p) is not None]


def _get(d, path):
    for k in path:
        try:
            d = d[k]
        except (KeyError, IndexError, TypeError):
            return None
    return d


def _mutate_object(d, rng):
    """One structural mutation of a netlist dict, in place (the root is replaced via the return)."""
    pool = _scalar_paths(d) if isinstance(d, dict) and rng.random() < 0.4 else []
    pool = pool or list(_paths(d))
    path = pool[int(rng.integers(len(pool)))]
    value = HOSTILE[rng.integers(len(HOSTILE))]
    if not path:
        return copy.deepcopy(value)
    parent, key = _get(d, path[:-1]), path[-1]
    node = parent[key]
    op = rng.integers(7)
    if op == 0 or op == 1:
        parent[key] = copy.deepcopy(value)
    elif op == 2:
        del parent[key]
    elif op == 3 and isinstance(node, list):
        node.extend([copy.deepcopy(node[-1]) if node else value] * int(rng.integers(1, 4)))
    elif op == 4 and isinstance(node, list):
        del node[int(rng.integers(len(node) + 1)):]
    elif op == 5:
        parent[key] = [node]
    else:
        parent[key] = str(node) if not isinstance(node, (list, dict)) else {"0": node}
    return d


def _mutate_text(text: bytes, rng) -> bytes:
    """One mutation of the JSON text."""
    op = rng.integers(6)
    numbers = [m.span() for m in NUMBER.finditer(text)]
    if op == 0:
        return text[:int(rng.integers(len(text)))]
    if op in (1, 2, 3) and numbers:
        s, e = numbers[int(rng.integers(len(numbers)))]
        new = {1: b"9" * int(rng.choice([20, 101, 5000])), 2: b"[" * 100_000 + b"]" * 100_000,
               3: rng.choice([b"1e999", b"-9223372036854775809", b"18446744073709551616",
                              b"NaN", b"-Infinity"])}[op]
        return text[:s] + new + text[e:]
    if op == 4:
        i = int(rng.integers(len(text)))
        return text[:i] + bytes([int(rng.choice([0xff, 0x00, ord("}"), ord(",")]))]) + text[i + 1:]
    return b""


def _one_line_error(res) -> str:
    """The CLI refused cleanly: a click exit, no traceback, one 'Error:' line."""
    assert res.exit_code in (1, 2), res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, res.output
    return errors[0]


def _check_behaves(net: Netlist, path, digits, runner):
    bits = np.random.default_rng(0).integers(0, 2, size=(70, net.n_inputs))
    counts, pred = net.evaluate(bits)
    ref = brute_counts(net, bits)
    assert (counts == ref).all() and (pred == np.argmax(ref, axis=1)).all()
    again = Netlist.load(net.save(path.with_name("again.json")))
    assert json.dumps(again.to_dict()) == json.dumps(net.to_dict())
    res = runner.invoke(main, ["infer", str(path)])
    if res.exit_code != 0:
        _one_line_error(res)
        return "refused"
    got = ACCURACY.search(res.output)
    assert got, res.output
    want = np.argmax(brute_counts(net, net.encoding.encode(digits.x_test)), axis=1)
    assert (int(got[1]), int(got[2])) == (int(np.sum(want == digits.y_test)), len(want))
    return "loaded"


def _check_refused_everywhere(path, runner, tmp_path):
    msgs = {}
    for args in (["infer", path], ["rtl", path, "--out", str(tmp_path / "rtl")],
                 ["sim", path, "--random", "4"], ["synth", path, "--out", str(tmp_path / "s")],
                 ["verify", "--netlist", path], ["build", "--netlist", path, "--board", "ice40",
                                                 "--out", str(tmp_path / "b")],
                 ["run", "--port", "sim", "--netlist", path, "-n", "2"]):
        res = runner.invoke(main, args)
        msgs[args[0]] = _one_line_error(res)
    return msgs


@pytest.mark.timeout(900)
def test_mutated_netlists_end_in_one_line_or_a_correct_result(base, digits, tmp_path):
    rng = np.random.default_rng(2026)
    runner = CliRunner()
    outcomes = {"refused": 0, "loaded": 0}
    for case in range(CASES):
        t0 = time.monotonic()
        path = tmp_path / "case.json"
        if case % 3 == 2:
            text = _mutate_text(json.dumps(base).encode(), rng)
        else:
            d = copy.deepcopy(base)
            for _ in range(int(rng.integers(1, 3))):
                d = _mutate_object(d, rng)
            text = json.dumps(d).encode()
        path.write_bytes(text)
        where = f"case {case}: {text[:120]!r}"
        try:
            net = Netlist.load(path)
        except NetlistError as e:
            assert "\n" not in str(e) and len(str(e)) < 400, where
            if case % 4 == 0:  # every other loader says the same, in one line
                msgs = _check_refused_everywhere(str(path), runner, tmp_path)
                assert all(str(path) in m or "netlist" in m for m in msgs.values()), (where, msgs)
            outcomes["refused"] += 1
        else:
            outcomes[_check_behaves(net, path, digits, runner)] += 1
        assert time.monotonic() - t0 < CASE_SECONDS, f"{where} took {time.monotonic() - t0:.1f} s"
    # the generator hits both sides: many refusals, and mutants that still load
    assert outcomes["refused"] > CASES // 3 and outcomes["loaded"] > CASES // 20, outcomes


def test_the_base_netlist_passes_every_check(base, digits, tmp_path):
    """The un-mutated netlist is accepted, so the checks above are not vacuous."""
    path = tmp_path / "base.json"
    path.write_text(json.dumps(base))
    assert _check_behaves(Netlist.load(path), path, digits, CliRunner()) == "loaded"
