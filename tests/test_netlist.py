"""lgn_hw.netlist: evaluator vs brute force, save/load round trips, validation errors."""

import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lgn_hw.netlist import Head, Layer, Netlist, NetlistError, random_netlist
from lgn_hw.packed import pack_samples
from netlist_reference import brute_counts


@st.composite
def netlists(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n_in = draw(st.integers(1, 13))
    classes = draw(st.integers(1, 5))
    depth = draw(st.integers(1, 4))
    widths = [classes * draw(st.integers(1, 7)) for _ in range(depth)]
    fans = [draw(st.integers(1, 6)) for _ in range(depth)]
    return random_netlist(seed, n_in, widths, fans, classes, special=draw(st.floats(0, 1)),
                          skip=draw(st.booleans()), offsets=draw(st.booleans()))


@settings(max_examples=80, deadline=None)
@given(net=netlists(), n=st.integers(0, 300), seed=st.integers(0, 1000))
def test_evaluate_matches_brute_force(net, n, seed):
    bits = np.random.default_rng(seed).integers(0, 2, size=(n, net.n_inputs))
    counts, pred = net.evaluate(bits)
    assert counts.shape == (n, net.n_classes) and pred.shape == (n,)
    if n:
        ref = brute_counts(net, bits)
        assert (counts == ref).all()
        assert (pred == np.argmax(ref, axis=1)).all()


@settings(max_examples=40, deadline=None)
@given(net=netlists())
def test_save_load_roundtrip(net, tmp_path_factory):
    path = tmp_path_factory.mktemp("nl") / "n.json"
    net.meta["note"] = "hello"
    net.save(path)
    back = Netlist.load(path)
    assert back.to_dict() == net.to_dict()
    bits = np.random.default_rng(0).integers(0, 2, size=(77, net.n_inputs))
    assert (back.evaluate(bits)[0] == net.evaluate(bits)[0]).all()


def test_ties_go_to_lowest_class():
    # two classes, each counting input bit 0 -> always tied
    net = Netlist(1, [], Head(2, [[0], [0]]))
    counts, pred = net.evaluate(np.array([[0], [1]]))
    assert counts.tolist() == [[0, 0], [1, 1]] and pred.tolist() == [0, 0]
    net = Netlist(2, [], Head(3, [[0], [1], [1]], offsets=[1, 0, 0]))
    assert net.evaluate(np.array([[0, 1], [1, 1], [0, 0]]))[1].tolist() == [0, 0, 0]


def test_pack_samples_bit_order():
    bits = np.zeros((130, 2), dtype=np.uint8)
    bits[0, 0] = bits[64, 1] = bits[129, 0] = 1
    words = pack_samples(bits)
    assert words.shape == (2, 3)
    assert words[0].tolist() == [1, 0, 2] and words[1].tolist() == [0, 1, 0]


def _good():
    return random_netlist(3, 6, [4, 2], [2, 3], 2).to_dict()


def _set(d, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        d = d[int(k)] if isinstance(d, list) else d[k]
    last = keys[-1]
    if value is _DEL:
        del d[last]
    elif isinstance(d, list):
        d[int(last)] = value
    else:
        d[last] = value


_DEL = object()

MALFORMED = [
    ("format", "other", r"^format: expected 'lgn-hw-netlist'"),
    ("version", 4, r"^version: unsupported version 4 \(this lgn-hw reads versions 1, 2, 3\)"),
    ("version", _DEL, r"^version: unsupported version None"),
    ("n_inputs", "6", r"^n_inputs: expected an integer, got str"),
    ("n_inputs", 0, r"^n_inputs: must be in 1\.\.2097152, got 0"),
    ("layers", {}, r"^layers: expected a list"),
    ("layers.0.fan_in", 7, r"^layers\[0\].fan_in: must be in 1..6, got 7"),
    ("layers.0.fan_in", 2.0, r"^layers\[0\].fan_in: expected an integer"),
    ("layers.0.inputs.1", [0], r"^layers\[0\].inputs\[1\]: expected 2 entries, got 1"),
    ("layers.0.inputs.1", [0, 6], r"^layers\[0\].inputs\[1\]\[1\]: index 6 out of range "
                                  r"\(layer 0 may read signals 0..5\)"),
    ("layers.0.inputs.1", [0, -1], r"^layers\[0\].inputs\[1\]\[1\]: index -1 out of range"),
    ("layers.1.inputs.0", [4, 9, 10], r"^layers\[1\].inputs\[0\]\[2\]: index 10 out of range"),
    ("layers.0.inputs.2", [0, True], r"^layers\[0\].inputs\[2\]\[1\]: expected an integer, got bool"),
    ("layers.0.tables.0", "1f", r"^layers\[0\].tables\[0\]: table '1f' must have exactly 1 hex"),
    ("layers.0.tables.0", "g", r"^layers\[0\].tables\[0\]: table 'g' is not hexadecimal"),
    ("layers.0.tables.0", 8, r"^layers\[0\].tables\[0\]: expected a hex string, got int"),
    ("layers.1.tables", ["0", "ff"], r"^layers\[1\].tables\[0\]: table '0' must have exactly 2"),
    ("layers.1.tables", ["1F", "ff"], r"^layers\[1\].tables\[0\]: table '1F' must be lower-case"),
    ("layers.0.tables", ["1", "2", "3"], r"^layers\[0\].tables: expected 4 entries, got 3"),
    ("layers.0.inputs", _DEL, r"^layers\[0\].inputs: missing"),
    ("head.classes", 3, r"^head.groups: expected 3 groups \(one per class\), got 2"),
    ("head.classes", 0, r"^head.classes: must be in 1\.\.4096, got 0"),
    ("head.groups.1.0", 99, r"^head.groups\[1\]\[0\]: index 99 out of range"),
    ("head.offsets", [0, -1], r"^head.offsets\[1\]: must be in 0\.\.2097152, got -1"),
    ("head.offsets", [0], r"^head.offsets: expected 2 entries, got 1"),
    ("head.tau", -1.0, r"^head.tau: must be a positive number"),
    ("head.tau", "x", r"^head.tau: expected a number, got str"),
    ("head", _DEL, r"^head: missing"),
    ("meta", [], r"^meta: expected an object"),
]


@pytest.mark.parametrize("path,value,pattern", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_netlists_give_one_line_errors(path, value, pattern):
    d = _good()
    _set(d, path, value)
    with pytest.raises(NetlistError, match=pattern) as err:
        Netlist.from_dict(d)
    assert "\n" not in str(err.value)


def test_fan_in_1_table_width_and_range():
    d = {"format": "lgn-hw-netlist", "version": 1, "n_inputs": 1, "encoding": None,
         "layers": [{"fan_in": 1, "inputs": [[0]], "tables": ["4"]}],
         "head": {"classes": 1, "groups": [[1]], "offsets": [0], "tau": 1}}
    with pytest.raises(NetlistError, match=r"layers\[0\].tables\[0\]: table '4' has bits beyond"):
        Netlist.from_dict(d)
    d["layers"][0]["tables"] = ["1"]  # NOT
    assert Netlist.from_dict(d).evaluate(np.array([[0], [1]]))[0].tolist() == [[1], [0]]


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(NetlistError, match="no such netlist file"):
        Netlist.load(tmp_path / "missing.json")
    p = tmp_path / "trunc.json"
    random_netlist(0, 4, [2], 2, 2).save(p)
    p.write_text(p.read_text()[:40])
    with pytest.raises(NetlistError, match=r"trunc.json: not valid JSON \(truncated or corrupt\?\)"):
        Netlist.load(p)
    p.write_text("[1, 2]")
    with pytest.raises(NetlistError, match="netlist: expected a JSON object, got list"):
        Netlist.load(p)


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    net = random_netlist(0, 4, [4], 2, 2)
    path = net.save(tmp_path / "sub" / "netlist.json")
    assert sorted(p.name for p in path.parent.iterdir()) == ["netlist.json"]
    assert json.loads(path.read_text())["format"] == "lgn-hw-netlist"


def test_evaluate_rejects_wrong_shapes():
    net = random_netlist(0, 4, [4], 2, 2)
    with pytest.raises(NetlistError, match=r"expected bits of shape \(N, 4\), got \(3, 5\)"):
        net.evaluate(np.zeros((3, 5)))
    with pytest.raises(NetlistError, match="no encoding"):
        net.evaluate_raw(np.zeros((3, 4)))


def test_constructor_validates():
    with pytest.raises(NetlistError, match=r"layers\[0\].inputs\[0\]\[0\]: index 3 out of range"):
        Netlist(3, [Layer(1, [[3]], [1])], Head(1, [[3]]))


def test_gate_kinds_and_structure():
    net = Netlist(2, [Layer(2, [[0, 1], [0, 1], [1, 0]], [0x8, 0xA, 0xF])], Head(1, [[2, 3, 4]]))
    assert net.gate_kinds() == {"AND": 1, "const1": 1, "pass": 1}
    assert net.layer_offsets == [2, 5] and net.n_signals == 5 and net.n_gates == 3


def test_encoding_roundtrip_and_evaluate_raw(tmp_path):
    from lgn_hw.encoding import thermometer_raw

    enc = thermometer_raw(3, [4, 8, 12], range=(0, 16))
    net = random_netlist(5, enc.n_bits, [6, 4], [3, 2], 2)
    net = Netlist(net.n_inputs, net.layers, net.head, enc)
    x = np.random.default_rng(1).integers(0, 17, size=(100, 3))
    bits = (x[:, :, None] >= np.array([4, 8, 12])).reshape(100, 9)  # feature-major, x >= t
    assert (net.evaluate_raw(x)[0] == brute_counts(net, bits)).all()
    back = Netlist.load(net.save(tmp_path / "n.json"))
    assert back.encoding == enc
    d = net.to_dict()
    d["encoding"]["features"][1]["thresholds"] = [8, 4, 12]
    with pytest.raises(NetlistError, match=r"^encoding.features\[1\].thresholds"):
        Netlist.from_dict(d)
    d = net.to_dict()
    d["n_inputs"] = 10
    with pytest.raises(NetlistError, match="encoding: encodes 9 bits but n_inputs is 10|"
                                           r"layers\[1\]"):
        Netlist.from_dict(d)
