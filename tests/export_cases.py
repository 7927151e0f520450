"""Shared cases for the export tests: random encodings of every raw type, an exact pure-Python
encoder (docs/netlist.md, literally), compiling several exports into one library, quickly trained
netlists (digits, UCI Adult) and a UP5K-shaped MNIST netlist."""
from __future__ import annotations

import ctypes
import math
import os
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from lgn_hw.cbuild import find_compiler
from lgn_hw.encoding import Encoding, Feature, thermometer_raw
from lgn_hw.fixedpoint import LIMIT
from lgn_hw.netlist import Netlist, random_netlist  # noqa: F401 (re-exported for tests)

ROOT = Path(__file__).resolve().parents[1]
CC = find_compiler()
CXX = find_compiler("CXX", ("g++", "c++", "clang++"))
STRICT = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"]

#: (range lo, range hi) per raw type, widest values included (64-bit types up to the netlist's
#: limit on raw values, +-2**53: lgn_hw.fixedpoint.LIMIT)
TYPE_RANGES = {"uint8_t": (0, 255), "int8_t": (-128, 127), "uint16_t": (0, 65535),
               "int16_t": (-32768, 32767), "uint32_t": (0, 2 ** 32 - 1), "int32_t": (-2 ** 31, 2 ** 31 - 1),
               "uint64_t": (0, LIMIT), "int64_t": (-LIMIT, LIMIT)}


def _between(rng, lo: int, hi: int) -> int:
    """A random integer in [lo, hi] (any Python ints)."""
    return lo + int(rng.integers(0, 2 ** 62)) * (hi - lo) // (2 ** 62 - 1)


def random_encoding(rng, ctype: str, n_features: int = 7) -> Encoding:
    """Features of all kinds whose ranges need exactly ``ctype``: thermometers with integer,
    fractional and out-of-type thresholds, one-hots with values inside and outside the type, and
    two ``bits`` features (bit planes: the type's whole non-negative range, and a random one)."""
    lo, hi = TYPE_RANGES[ctype]
    feats = []
    for f in range(n_features):
        kind = ("thermometer", "onehot", "binary")[f % 3] if f > 2 else ("thermometer", "onehot", "binary")[f]
        r = (lo, hi) if f < 3 else tuple(sorted(_between(rng, lo, hi) for _ in range(2)))
        if kind == "thermometer":
            pts = {_between(rng, *r) for _ in range(4)}
            pts |= {lo, hi, hi + 1, lo - 5}
            t = sorted({float(v) for v in pts})
            t = sorted(set(t) | {t[1] + 0.5})
            feats.append(Feature(f"t{f}", kind, r, thresholds=np.array(t, dtype=np.float64)))
        elif kind == "onehot":
            vals = sorted({_between(rng, *r) for _ in range(3)} | {r[0], r[1]})
            vals = [v for v in vals if -LIMIT <= v <= LIMIT]  # the format's raw values
            feats.append(Feature(f"o{f}", kind, r, values=np.array(vals + [-LIMIT] * (lo == 0),
                                                                     dtype=np.int64)))
        else:
            feats.append(Feature(f"b{f}", kind, r))
    for i, top in enumerate((hi, _between(rng, 1, hi))):
        w = int(top).bit_length()
        pos = sorted({w - 1, 0, int(rng.integers(w))} | set(rng.integers(0, w, 2).tolist()), reverse=True)
        feats.append(Feature(f"p{i}", "bits", (int(rng.integers(0, 3)) * i, top),
                             bits=np.array(pos[::1 - 2 * i], dtype=np.int64)))
    return Encoding(feats)


def random_samples(rng, enc: Encoding, n: int) -> list:
    """``n`` rows (lists of Python ints) within each feature's range, ends included."""
    rows = []
    for i in range(n):
        row = []
        for f in enc.features:
            lo, hi = f.range
            v = [lo, hi, 0 if lo <= 0 <= hi else lo][i % 3] if i < 6 else _between(rng, lo, hi)
            row.append(v)
        rows.append(row)
    return rows


def reference_bits(enc: Encoding, rows) -> np.ndarray:
    """uint8[N, n_bits], by docs/netlist.md with exact integers: x >= ceil(t), x == v, x != 0,
    (x >> p) & 1."""
    out = []
    for row in rows:
        bits = []
        for f, x in zip(enc.features, row):
            if f.kind == "thermometer":
                bits += [int(x >= math.ceil(float(t))) for t in f.thresholds]
            elif f.kind == "onehot":
                bits += [int(x == int(v)) for v in f.values]
            elif f.kind == "bits":
                bits += [(x >> int(p)) & 1 for p in f.bits]
            else:
                bits.append(int(x != 0))
        out.append(bits)
    return np.array(out, dtype=np.uint8).reshape(len(out), enc.n_bits)


def compile_library(files: dict, flags=(), directory=None) -> ctypes.CDLL:
    """Write the exports' files (name -> text) into a directory and compile every ``.c`` file
    into one shared library (strict C99 warnings as errors, plus ``flags``)."""
    d = Path(directory or tempfile.mkdtemp(prefix="lgn-export-test-"))
    for name, text in files.items():
        (d / name).write_text(text)
    so = d / f"lib{abs(hash(tuple(flags)))}.so"
    srcs = [str(d / n) for n in files if n.endswith(".c") and not n.endswith("_main.c")]
    proc = subprocess.run([CC, *STRICT, "-O1", *flags, "-shared", "-fPIC", *srcs, "-o", str(so)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return ctypes.CDLL(str(so))


def call_packed(lib, prefix: str, words: np.ndarray, n: int, classes: int, count_dtype=np.int32):
    cls = np.empty(n, dtype=np.int32)
    cnt = np.empty((n, classes), dtype=count_dtype)
    fn = getattr(lib, f"{prefix}_eval_packed")
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p]
    fn(np.ascontiguousarray(words).ctypes.data, n, cls.ctypes.data, cnt.ctypes.data)
    return cnt.astype(np.int64), cls.astype(np.int64)


def fuzz_netlists(seed: int, count: int):
    """Random netlists covering fan-in 1..6 in every layer position, skip connections, class
    offsets and signals counted more than once (and a gate no class reads)."""
    rng = np.random.default_rng(seed)
    nets = []
    for i in range(count):
        fans = [1 + (i + j) % 6 for j in range(3)]
        classes = int(rng.choice([1, 2, 3, 5]))
        widths = [int(rng.integers(8, 40)), int(rng.integers(8, 30)), classes * int(rng.integers(2, 8))]
        net = random_netlist(int(rng.integers(1 << 30)), int(rng.integers(3, 24)), widths, fans,
                             classes, special=0.25, skip=True, offsets=True)
        g = net.head.groups
        g[0] = np.concatenate([g[0], g[0][:2], [int(rng.integers(net.n_signals))]])
        net.validate()
        nets.append(net)
    return nets


def up5k_shaped_mnist(seed: int = 0) -> Netlist:
    """A random netlist of the MNIST UP5K preset's shape (784 pixels, one threshold each,
    2000 x 1000 x 500 fan-in-4 gates, 10 classes)."""
    net = random_netlist(seed, 784, [2000, 1000, 500], 4, 10, special=0.2)
    net.encoding = thermometer_raw(784, 1)
    return net.validate()


@lru_cache(maxsize=None)
def trained(preset_args: tuple) -> Netlist:
    """A netlist trained by ``python -m train`` with the given arguments (once per process)."""
    out = Path(tempfile.mkdtemp(prefix="lgn-export-train-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "train", *preset_args, "--quiet", "--threads", "1",
                           "--out", str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return Netlist.load(out / "netlist.json")


DIGITS = ("--width", "120,60", "--epochs", "3", "--thresholds", "2")
DIGITS_BITS = ("--width", "120,60", "--epochs", "3", "--thresholds", "3", "--encoding", "bits")
ADULT = ("--preset", "adult", "--epochs", "1", "--width", "128,64")


def real_valued_netlist(seed: int = 0):
    """A netlist whose features are real numbers (fixed-point maps fitted on a training column),
    one integer feature and one one-hot; and real test rows (training-range and beyond)."""
    from lgn_hw.encoding import onehot_feature, real_feature, thermometer_feature

    rng = np.random.default_rng(seed)
    train = rng.normal(0, [1.0, 1e-3, 250.0], size=(500, 3))
    feats = [real_feature(f"r{i}", train[:, i], np.quantile(train[:, i], [0.2, 0.5, 0.8]))
             for i in range(3)]
    feats += [thermometer_feature("int", [3, 7], (0, 9)), onehot_feature("cat", [1, 2], (0, 3))]
    enc = Encoding(feats)
    net = random_netlist(seed, enc.n_bits, [40, 20], [3, 4], 2, offsets=True)
    net.encoding = enc
    x = np.column_stack([rng.normal(0, [1.5, 1.5e-3, 400.0], size=(400, 3)),
                         rng.integers(0, 10, 400), rng.integers(0, 4, 400)])
    x[:3, :3] = [[1e300, -1e300, 5e-324], [-0.0, 0.0, 2.0 ** -40], [np.nextafter(feats[0].thresholds[0]
                                                                                   * 2.0 ** -feats[0].frac_bits, 0), 0, 0]]
    return net.validate(), x
