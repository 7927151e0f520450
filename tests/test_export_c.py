"""``--lang c``: the generated C equals ``Netlist.evaluate`` (counts and class) on fuzzed netlists
of every fan-in, on every raw type's encoder, on every test sample of digits, MNIST (a UP5K-shaped
netlist) and UCI Adult; the driver runs on a file of samples and refuses bad lines; hostile names
stay inert. Compiled here with strict C99 warnings as errors."""
import ctypes
import subprocess

import numpy as np
import pytest

import export_cases as ec
from lgn_hw.datasets import load
from lgn_hw.export.c import render_c
from lgn_hw.export.cnames import ExportError
from lgn_hw.export.engine import CEngine
from lgn_hw.export.encoder import C_TYPES
from lgn_hw.netlist import Netlist, pack_samples

pytestmark = pytest.mark.skipif(ec.CC is None, reason="no C compiler")


@pytest.fixture(scope="module")
def fuzz():
    return ec.fuzz_netlists(7, 12)


@pytest.mark.parametrize("lanes", ["native", "one", "default"])
def test_fuzzed_netlists_equal_evaluate(fuzz, lanes, tmp_path):
    """-march=native: the widest vectors here; one: plain uint64_t words; default: SSE2 pairs."""
    files = {}
    for i, net in enumerate(fuzz):
        files.update(render_c(net, f"lgn{i}").files)  # one library: the prefixes keep them apart
    flags = {"native": ["-march=native"], "default": [],
             "one": [f"-DLGN{i}_LANES=1" for i in range(len(fuzz))]}[lanes]
    lib = ec.compile_library(files, flags, tmp_path)
    rng = np.random.default_rng(1)
    for i, net in enumerate(fuzz):
        for n in (1, 64, 1000):
            bits = rng.integers(0, 2, size=(n, net.n_inputs))
            want_c, want_p = net.evaluate(bits)
            got_c, got_p = ec.call_packed(lib, f"lgn{i}", pack_samples(bits), n, net.n_classes)
            assert np.array_equal(got_c, want_c), (i, n)
            assert np.array_equal(got_p, want_p), (i, n)


def test_a_changed_table_is_caught(fuzz, tmp_path):
    """Negative twin: one flipped truth-table bit changes the C results on some sample."""
    net = fuzz[3]
    bad = Netlist.from_dict(net.to_dict())
    layer = bad.layers[-1]
    g = int(bad.head.groups[0][0]) - bad.layer_offsets[-2]
    layer.tables[g] ^= np.uint64(1)
    lib = ec.compile_library(render_c(bad, "bad").files, [], tmp_path)
    bits = np.random.default_rng(2).integers(0, 2, size=(4000, net.n_inputs))
    want = net.evaluate(bits)[0]
    assert not np.array_equal(ec.call_packed(lib, "bad", pack_samples(bits), 4000, net.n_classes)[0], want)


@pytest.mark.parametrize("ctype", [t for t, _, _ in C_TYPES])
def test_encoder_of_every_raw_type(ctype, tmp_path):
    rng = np.random.default_rng(abs(hash(ctype)) % 1000)
    enc = ec.random_encoding(rng, ctype)
    net = ec.random_netlist(3, enc.n_bits, [30, 20], [3, 5], 2, skip=True, offsets=True)
    net.encoding = enc
    net.validate()
    exp = render_c(net, "e")
    assert f"typedef {ctype} e_feature_t;" in exp.files["e.h"]
    lib = ec.compile_library(exp.files, ["-march=native"], tmp_path)
    rows = ec.random_samples(rng, enc, 300)
    x = np.array(rows, dtype=np.dtype(ctype.replace("_t", "")))
    want_bits = ec.reference_bits(enc, rows)
    words = np.zeros((net.n_inputs, 5), dtype=np.uint64)
    lib.e_encode.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    lib.e_encode(x.ctypes.data, 300, words.ctypes.data)
    assert np.array_equal(words, pack_samples(want_bits))
    want_c, want_p = net.evaluate(want_bits)
    cls = np.empty(300, dtype=np.int32)
    cnt = np.empty((300, 2), dtype=np.int32)
    lib.e_classify.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p]
    lib.e_classify(x.ctypes.data, 300, cls.ctypes.data, cnt.ctypes.data)
    assert np.array_equal(cnt, want_c) and np.array_equal(cls, want_p)


def _engine_matches(net, x):
    eng = CEngine(net)
    want_c, want_p = net.evaluate_raw(x)
    got_c, got_p = eng.classify(x)
    assert np.array_equal(got_c, want_c) and np.array_equal(got_p, want_p)
    _, only_p = eng.classify(x, counts=False)
    assert np.array_equal(only_p, want_p)
    assert np.array_equal(eng.encode(x), pack_samples(net.encoding.encode(x)))
    return eng


def test_trained_digits_every_test_sample():
    net = ec.trained(ec.DIGITS)
    ds = load("digits")
    _engine_matches(net, ds.x_test)


def test_trained_digits_bits_every_test_sample():
    """A netlist over bit planes (--encoding bits): the C engine's encoder and classifier equal
    Netlist.evaluate_raw on every test sample."""
    net = ec.trained(ec.DIGITS_BITS)
    assert {f.kind for f in net.encoding.features} == {"bits"}
    _engine_matches(net, load("digits").x_test)


def test_up5k_shaped_mnist_every_test_image(data_root):
    ds = load("mnist", data_root)
    eng = _engine_matches(ec.up5k_shaped_mnist(), ds.x_test)
    assert eng.export.gate_ops > 1000


def test_trained_adult_every_test_sample(data_root):
    net = ec.trained(ec.ADULT)
    ds = load("adult", data_root)
    _engine_matches(net, ds.x_test)


def test_driver_on_a_file_of_samples(tmp_path):
    net = ec.trained(ec.DIGITS)
    ds = load("digits")
    exp = render_c(net)
    for name, text in exp.files.items():
        (tmp_path / name).write_text(text)
    exe = tmp_path / "lgn"
    proc = subprocess.run([ec.CC, *ec.STRICT, "-O1", "-o", str(exe), str(tmp_path / "lgn.c"),
                           str(tmp_path / "lgn_main.c")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = ["# digits test split"] + [", ".join(map(str, r)) for r in ds.x_test] + [""]
    (tmp_path / "s.csv").write_text("\n".join(lines))
    out = subprocess.run([str(exe), "-c", str(tmp_path / "s.csv")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    got = np.array([[int(v) for v in ln.split(",")] for ln in out.stdout.splitlines()])
    want_c, want_p = net.evaluate_raw(ds.x_test)
    assert np.array_equal(got[:, 0], want_p) and np.array_equal(got[:, 1:], want_c)
    plain = subprocess.run([str(exe)], input=" ".join(map(str, ds.x_test[0])) + "\n",
                           capture_output=True, text=True)
    assert plain.stdout == f"{want_p[0]}\n"
    row = list(map(str, ds.x_test[0]))
    for bad, msg in [(row[:-1], "line 1: expected 64 values, got 63"),
                     (row[:5] + ["x"] + row[6:], "line 1, value 6: not an integer"),
                     (row[:2] + ["17"] + row[3:], "line 1, value 3: outside the feature's range"),
                     (row[:2] + ["-1"] + row[3:], "line 1, value 3: outside the feature's range"),
                     (row + ["1"], "line 1, value 65: more values than expected"),
                     (row[:3] + ["99999999999999999999999"] + row[4:], "value 4: integer too large")]:
        r = subprocess.run([str(exe)], input=" ".join(bad) + "\n", capture_output=True, text=True)
        assert r.returncode == 1 and r.stderr.strip().endswith(msg) and len(r.stderr.splitlines()) == 1, r.stderr
    assert subprocess.run([str(exe), "-z"], capture_output=True).returncode == 2
    assert subprocess.run([str(exe), str(tmp_path / "missing.csv")], capture_output=True).returncode == 2


def test_real_valued_features_through_the_fixed_point_map(tmp_path):
    """Features with frac_bits: the engine maps reals as Encoding.encode does; the driver reads
    real numbers and applies the same exact map (values beyond the training range saturate)."""
    net, x = ec.real_valued_netlist()
    want_c, want_p = net.evaluate_raw(x)
    got_c, got_p = CEngine(net).classify(x)
    assert np.array_equal(got_c, want_c) and np.array_equal(got_p, want_p)
    exp = render_c(net, "real")
    for name, text in exp.files.items():
        (tmp_path / name).write_text(text)
    exe = tmp_path / "real"
    proc = subprocess.run([ec.CC, *ec.STRICT, "-O1", "-o", str(exe), str(tmp_path / "real.c"),
                           str(tmp_path / "real_main.c")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = "\n".join(",".join(repr(float(v)) if i < 3 else str(int(v)) for i, v in enumerate(r))
                     for r in x) + "\n"
    out = subprocess.run([str(exe), "-c"], input=text, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    got = np.array([[int(v) for v in ln.split(",")] for ln in out.stdout.splitlines()])
    assert np.array_equal(got[:, 0], want_p) and np.array_equal(got[:, 1:], want_c)
    for bad, msg in [("nan,0,0,1,1", "value 1: not a number"), ("1e3x,0,0,1,1", "value 1: not a number"),
                     ("0,0,0,1.5,1", "value 4: not an integer")]:
        r = subprocess.run([str(exe)], input=bad + "\n", capture_output=True, text=True)
        assert r.returncode == 1 and r.stderr.strip().endswith(msg), r.stderr


def test_driver_without_encoding_reads_bits(tmp_path):
    net = ec.fuzz_netlists(3, 1)[0]
    exp = render_c(net, "bits")
    for name, text in exp.files.items():
        (tmp_path / name).write_text(text)
    exe = tmp_path / "bits"
    proc = subprocess.run([ec.CC, *ec.STRICT, "-O1", "-o", str(exe), str(tmp_path / "bits.c"),
                           str(tmp_path / "bits_main.c")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    bits = np.random.default_rng(0).integers(0, 2, size=(5000, net.n_inputs))
    text = "\n".join(",".join(map(str, r)) for r in bits) + "\n"
    out = subprocess.run([str(exe), "-c"], input=text, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    got = np.array([[int(v) for v in ln.split(",")] for ln in out.stdout.splitlines()])
    want_c, want_p = net.evaluate(bits)
    assert np.array_equal(got[:, 0], want_p) and np.array_equal(got[:, 1:], want_c)
    bad = subprocess.run([str(exe)], input="2" + text[1:], capture_output=True, text=True)
    assert bad.returncode == 1 and "line 1, value 1: expected a bit (0 or 1)" in bad.stderr


HOSTILE = ['say "hi"', "ends */ a comment", "/* opens one", "back\\slash", "line\nbreak",
           "trigraph ??/ ??=", "tab\there", "percent %s %n", "@P@ @LOGIC@ @p@", "\u00e9t\u00e9 \u6f22\u5b57",
           "nul\u0000inside", "#define x 1", "// comment", "\\", "'", "\r"]


def test_hostile_names_stay_strings(tmp_path):
    from lgn_hw.encoding import Encoding, binary_feature

    enc = Encoding([binary_feature(name) for name in HOSTILE])
    net = ec.random_netlist(0, len(HOSTILE), [20, 10], 3, 2)
    net.encoding = enc
    net.meta = {"dataset": 'evil "*/ \\ \n ??/'}
    net.validate()
    exp = render_c(net, "h")
    lib = ec.compile_library(exp.files, [], tmp_path)
    names = (ctypes.c_char_p * len(HOSTILE)).in_dll(lib, "h_feature_names")
    for got, want in zip(names, HOSTILE):
        assert got == want.encode("utf-8").split(b"\0")[0]
    info = ctypes.string_at(ctypes.addressof(ctypes.c_char.in_dll(lib, "h_info")))
    assert info.endswith(b'dataset evil "*/ \\ \n ??/')
    assert "*/ a comment" not in exp.files["h.c"]  # the name is escaped, never raw text


@pytest.mark.parametrize("prefix", ["", "1abc", "a-b", "int", "x" * 40, "a b", "main"])
def test_bad_prefix_refused(prefix):
    with pytest.raises(ExportError, match="prefix"):
        render_c(ec.fuzz_netlists(0, 1)[0], prefix)
