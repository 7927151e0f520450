"""The Netlist format's limits (docs/netlist.md, *Limits*): each is accepted at its value and refused
one past it, in one line naming the field; files that are not regular JSON files of sane size are
refused without hanging; the evaluator is exact at the limits and bounded in memory."""

from __future__ import annotations

import json
import os
import tracemalloc

import numpy as np
import pytest
from click.testing import CliRunner

from lgn_hw import netlist as nl
from lgn_hw.cli import main
from lgn_hw.encoding import Encoding, onehot_feature, thermometer_feature
from lgn_hw.netlist import (MAX_CLASSES, MAX_FILE_BYTES, MAX_META_DEPTH, MAX_RAW, MAX_SIGNALS, Head,
                            Netlist, NetlistError, random_netlist)
from lgn_hw.untrusted import MAX_NUMBER_DIGITS
from netlist_reference import brute_counts


def _good():
    return random_netlist(3, 6, [4, 2], [2, 3], 2).to_dict()


def _refused(d, pattern):
    with pytest.raises(NetlistError, match=pattern) as err:
        Netlist.from_dict(d)
    assert "\n" not in str(err.value) and len(str(err.value)) < 300
    return str(err.value)


BEYOND_INT64 = [2**63, 2**64, -2**63 - 1, 10**40]


@pytest.mark.parametrize("v", BEYOND_INT64)
def test_integers_beyond_int64_name_the_field(v):
    for path, pattern in [(("layers", 0, "inputs", 1, 0), r"^layers\[0\].inputs\[1\]\[0\]: index "),
                          (("head", "groups", 1, 0), r"^head.groups\[1\]\[0\]: index "),
                          (("head", "offsets", 1), r"^head.offsets\[1\]: must be in 0\.\."),
                          (("n_inputs",), r"^n_inputs: must be in 1\.\."),
                          (("head", "classes"), r"^head.classes: must be in 1\.\."),
                          (("layers", 1, "fan_in"), r"^layers\[1\].fan_in: must be in 1\.\.6")]:
        d = _good()
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = v
        _refused(d, pattern)


def _with_encoding(feature):
    d = random_netlist(3, feature["_bits"], [4, 2], [2, 3], 2).to_dict()
    d["encoding"] = {"features": [{k: v for k, v in feature.items() if k != "_bits"}]}
    return d


@pytest.mark.parametrize("v", [MAX_RAW + 1, 2**63, 2**64, -MAX_RAW - 1])
def test_raw_values_beyond_the_limit_are_refused(v):
    onehot = {"name": "a", "kind": "onehot", "values": [0, 1, v], "range": [0, 9], "_bits": 3}
    _refused(_with_encoding(onehot), r"^encoding.features\[0\].values\[2\]: raw feature values "
                                     r"are limited to \+-2\*\*53")
    rng = {"name": "a", "kind": "thermometer", "thresholds": [1, 2, 3], "range": [-1, v], "_bits": 3}
    if v < 0:
        rng["range"] = [v, 5]
    _refused(_with_encoding(rng), r"^encoding.features\[0\].range\[[01]\]: raw feature values")
    planes = {"name": "a", "kind": "bits", "bits": [0], "range": [0, v] if v > 0 else [v, 5], "_bits": 1}
    _refused(_with_encoding(planes), r"^encoding.features\[0\].range(\[1\]: raw feature values|: a bits "
                                     r"feature takes non-negative integers)")
    # the Python API is held to the same limit
    enc = Encoding([thermometer_feature("a", [1, 2, 3], (0, 5))])
    enc.features[0].range = (0, v) if v > 0 else (v, 0)
    net = random_netlist(3, 3, [4, 2], [2, 3], 2)
    with pytest.raises(NetlistError, match=r"^encoding.features\[0\].range"):
        Netlist(3, net.layers, net.head, enc)


def test_raw_values_at_the_limit_are_exact():
    enc = Encoding([thermometer_feature("a", [-MAX_RAW + 1, -3, 7, MAX_RAW - 1], (-MAX_RAW, MAX_RAW)),
                    onehot_feature("b", [MAX_RAW, -MAX_RAW, MAX_RAW - 1], (-MAX_RAW, MAX_RAW))])
    net = random_netlist(1, enc.n_bits, [8, 4], [3, 2], 2)
    net = Netlist.from_dict(Netlist(net.n_inputs, net.layers, net.head, enc).to_dict())
    x = np.array([[-MAX_RAW, MAX_RAW], [MAX_RAW - 1, MAX_RAW - 1], [MAX_RAW, -MAX_RAW],
                  [-MAX_RAW + 1, MAX_RAW - 2], [7, 0]], dtype=np.int64)
    bits = net.encoding.encode(x)  # one-hot M - 1 and M stay apart (M + 1 would not, in float64)
    assert bits.tolist() == [[0, 0, 0, 0, 1, 0, 0], [1, 1, 1, 1, 0, 0, 1],
                             [1, 1, 1, 1, 0, 1, 0], [1, 0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0]]


def test_bit_planes_at_the_limit_are_exact():
    # the range 0..2**53 has a 54-bit port: position 53 is its top bit, 54 is not a bit of it
    net = random_netlist(1, 3, [8, 4], [3, 2], 2).to_dict()
    net["encoding"] = {"features": [{"name": "a", "kind": "bits", "bits": [53, 52, 0], "range": [0, MAX_RAW]}]}
    enc = Netlist.from_dict(net).encoding
    x = np.array([[MAX_RAW], [MAX_RAW - 1], [2 ** 52 + 1], [0]], dtype=np.int64)
    want = [[1, 0, 0], [0, 1, 1], [0, 1, 1], [0, 0, 0]]
    assert enc.encode(x).tolist() == want and enc.encode(x.astype(np.float64)).tolist() == want
    net["encoding"]["features"][0]["bits"] = [54]
    _refused(net, r"^encoding.features\[0\].bits: position 54 is outside the 54-bit port")


def test_sizes_at_and_one_past_each_limit():
    d = {"format": "lgn-hw-netlist", "version": 1, "n_inputs": MAX_SIGNALS, "layers": [],
         "head": {"classes": 1, "groups": [[0]], "offsets": [MAX_SIGNALS]}}
    assert Netlist.from_dict(d).head.max_count == MAX_SIGNALS + 1
    d["n_inputs"] = MAX_SIGNALS + 1
    _refused(d, rf"^n_inputs: must be in 1\.\.{MAX_SIGNALS}, got {MAX_SIGNALS + 1}")
    d["n_inputs"], d["head"]["offsets"] = 2, [MAX_SIGNALS + 1]
    _refused(d, rf"^head.offsets\[0\]: must be in 0\.\.{MAX_SIGNALS}")
    # gates that take the signal count past the limit
    d = {"format": "lgn-hw-netlist", "version": 1, "n_inputs": MAX_SIGNALS - 1,
         "layers": [{"fan_in": 1, "inputs": [[0], [1]], "tables": ["2", "2"]}],
         "head": {"classes": 1, "groups": [[0]]}}
    _refused(d, r"^layers\[0\].inputs: 2,097,153 signals \(inputs \+ gates\) up to this layer")
    # classes
    d = {"format": "lgn-hw-netlist", "version": 1, "n_inputs": 1, "layers": [],
         "head": {"classes": MAX_CLASSES, "groups": [[0]] * MAX_CLASSES}}
    assert Netlist.from_dict(d).n_classes == MAX_CLASSES
    d["head"] = {"classes": MAX_CLASSES + 1, "groups": [[0]] * (MAX_CLASSES + 1)}
    _refused(d, rf"^head.classes: must be in 1\.\.{MAX_CLASSES}")
    d["head"] = {"classes": 10**6, "groups": [[0]]}
    _refused(d, r"^head.classes: must be in 1\.\.4096, got 1000000")
    # head entries in all
    d["head"] = {"classes": 2, "groups": [[0] * MAX_SIGNALS, [0]]}
    _refused(d, r"^head.groups\[1\]: more than the 2,097,152 entries a head may have")
    # the Python API, too
    with pytest.raises(NetlistError, match=r"^n_inputs: must be in 1\.\."):
        Netlist(10**12, [], Head(1, [[0]]))
    with pytest.raises(NetlistError, match=r"^head.offsets\[0\]: must be in 0\.\."):
        Netlist(2, [], Head(1, [[0]], offsets=[2**63 - 1]))


def test_meta_depth():
    d = _good()
    deep = leaf = {}
    for _ in range(MAX_META_DEPTH - 1):
        leaf["x"] = {}
        leaf = leaf["x"]
    d["meta"] = deep
    Netlist.from_dict(d)
    leaf["x"] = {}
    _refused(d, rf"^meta: nested more than {MAX_META_DEPTH} levels deep")


@pytest.mark.timeout(60)
def test_json_text_limits(tmp_path):
    text = json.dumps(_good())
    p = tmp_path / "n.json"
    p.write_text(text.replace('"meta": {}', '"meta": {"x": ' + "9" * MAX_NUMBER_DIGITS + "}"))
    Netlist.load(p)
    for digits in (MAX_NUMBER_DIGITS + 1, 5000):
        p.write_text(text.replace('"meta": {}', '"meta": {"x": ' + "9" * digits + "}"))
        with pytest.raises(NetlistError, match=rf"n.json: holds a {digits:,}-digit integer "
                                               rf"\(at most {MAX_NUMBER_DIGITS} digits are read\)$"):
            Netlist.load(p)
    p.write_text(text.replace('"meta": {}', '"meta": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}"))
    with pytest.raises(NetlistError, match=r"n.json: JSON nested too deeply to read$"):
        Netlist.load(p)
    p.write_bytes(text.encode()[:50] + b"\xff" + text.encode()[51:])
    with pytest.raises(NetlistError, match=r"n.json: not UTF-8 text \(byte 50\)"):
        Netlist.load(p)
    p.write_text("")
    with pytest.raises(NetlistError, match=r"n.json: not valid JSON"):
        Netlist.load(p)


@pytest.mark.timeout(60)
def test_files_that_are_not_regular_netlist_files(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # no writer: a blocking open would hang forever
    cases = [(fifo, "a FIFO, not a netlist file"), (tmp_path, "a directory, not a netlist file")]
    if os.path.exists("/dev/zero"):
        cases.append(("/dev/zero", "a character device, not a netlist file"))
    big = tmp_path / "big.json"
    with open(big, "wb") as f:  # sparse: nothing of it is written or read
        f.truncate(MAX_FILE_BYTES + 1)
    cases.append((big, f"268,435,457 bytes, more than the {MAX_FILE_BYTES:,} a netlist file may have"))
    runner = CliRunner()
    for path, msg in cases:
        with pytest.raises(NetlistError, match=f"^{path}: {msg}$"):
            Netlist.load(path)
        res = runner.invoke(main, ["infer", str(path), "--dataset", "digits"])
        if path == tmp_path:  # click refuses it first, as a usage error
            assert res.exit_code == 2 and res.output.endswith("is a directory.\n"), res.output
        else:
            assert res.exit_code == 1 and res.output == f"Error: {path}: {msg}\n", res.output


def test_offsets_near_int64_max_are_refused_not_overflowed(tmp_path, monkeypatch):
    """They used to pass, overflow in evaluate and give a wrong `lgn-hw infer` accuracy."""
    from lgn_hw.datasets import load
    from lgn_hw.encoding import for_dataset

    ds = load("digits")
    enc = for_dataset(ds, thresholds=1)
    groups = [[c] for c in range(10)]
    offs = [2**63 - 1 - (c == 3) for c in range(10)]  # class 3 lowest unless its bit is set
    d = Netlist(enc.n_bits, [], Head(10, groups), enc, {"dataset": "digits"}).to_dict()
    d["head"]["offsets"] = offs
    p = tmp_path / "n.json"
    p.write_text(json.dumps(d))
    res = CliRunner().invoke(main, ["infer", str(p)])
    assert res.exit_code == 1
    assert res.output == (f"Error: {p}: head.offsets[0]: must be in 0..{MAX_SIGNALS}, "
                          f"got {2**63 - 1}\n")


def test_counts_are_exact_at_the_limits():
    n = MAX_SIGNALS // 2
    net = Netlist(n, [], Head(2, [np.arange(n), np.arange(n)], offsets=[MAX_SIGNALS, MAX_SIGNALS - 1]))
    bits = np.ones((3, n), dtype=np.uint8)
    bits[1, : n // 2] = 0
    counts, pred = net.evaluate(bits)
    m = MAX_SIGNALS
    assert counts.tolist() == [[m + n, m - 1 + n], [m + n - n // 2, m - 1 + n - n // 2],
                               [m + n, m - 1 + n]]
    assert pred.tolist() == [0, 0, 0]


def test_evaluate_keeps_signal_values_within_their_budget(monkeypatch):
    """Samples are evaluated in chunks, so a wide netlist on many samples stays in bounded memory;
    the chunked result equals the reference."""
    net = random_netlist(4, 2048, [512, 256], [6, 4], 4, skip=True, offsets=True)
    bits = np.random.default_rng(1).integers(0, 2, size=(64 * 64, net.n_inputs), dtype=np.uint8)
    peaks = {}
    for words in (64, 2):  # all 64 words of samples in one pass; two words per pass
        monkeypatch.setattr(nl, "_VALUES_BUDGET_WORDS", words * net.n_signals)
        tracemalloc.start()
        counts, pred = net.evaluate(bits)
        peaks[words] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[2] < peaks[64] / 8, peaks
    ref = brute_counts(net, bits)
    assert (counts == ref).all() and (pred == np.argmax(ref, axis=1)).all()
