"""Benchmark: raw-feature encoding (lgn_hw.encoding) and dataset loading (lgn_hw.datasets).

Contenders for encoding, run alternately A B A B ... (the machine is shared and noisy):
  A  Encoding.encode: per bit rank, one vectorised comparison over all features (current code)
  B  per-feature loop: one numpy comparison per feature, written into its column slice
  C  per-bit gather: x[:, source_feature_of_bit] compared with a per-bit constant, in row chunks
All three are checked to give identical bits before timing. Prints a Markdown table of medians.

    python bench/bench_encoding.py [--repeats 5] [--data-root DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from lgn_hw.datasets import load
from lgn_hw.encoding import Encoding, for_dataset, thermometer_raw


def encode_per_feature(e: Encoding, x: np.ndarray) -> np.ndarray:
    out = np.empty((x.shape[0], e.n_bits), dtype=np.uint8)
    for f, feat in enumerate(e.features):
        col = x[:, f:f + 1]
        s = e.feature_bits(f)
        if feat.kind == "thermometer":
            out[:, s] = col >= feat.thresholds[None, :]
        elif feat.kind == "onehot":
            out[:, s] = col == feat.values[None, :]
        else:
            out[:, s] = col != 0
    return out


def encode_gather(e: Encoding, x: np.ndarray, rows: int = 4096) -> np.ndarray:
    src = e.bit_feature()
    const = np.zeros(e.n_bits)
    op = np.zeros(e.n_bits, dtype=np.int8)
    for f, feat in enumerate(e.features):
        s = e.feature_bits(f)
        if feat.kind == "thermometer":
            const[s] = feat.thresholds
        elif feat.kind == "onehot":
            const[s], op[s] = feat.values, 1
        else:
            op[s] = 2
    out = np.empty((x.shape[0], e.n_bits), dtype=np.uint8)
    for a in range(0, x.shape[0], rows):
        g = x[a:a + rows][:, src]
        out[a:a + rows] = np.where(op == 0, g >= const, np.where(op == 1, g == const, g != 0))
    return out


def timed(fn, *args):
    t0 = time.perf_counter()
    r = fn(*args)
    return time.perf_counter() - t0, r


def bench_case(label, e, x, repeats):
    contenders = {"A encode": e.encode, "B per-feature": lambda v: encode_per_feature(e, v),
                  "C gather": lambda v: encode_gather(e, v)}
    ref = e.encode(x)
    for name, fn in contenders.items():
        if not np.array_equal(fn(x), ref):
            raise SystemExit(f"{label}: contender {name} disagrees with Encoding.encode")
    times = {k: [] for k in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            times[name].append(timed(fn, x)[0])
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data-root", default=None)
    args = ap.parse_args()

    print(f"# {platform.processor() or platform.machine()}, os.cpu_count()={os.cpu_count()}, "
          f"numpy {np.__version__} (elementwise ops single-threaded), repeats={args.repeats}, medians")
    load_times = {}
    for name in ("digits", "mnist", "adult"):
        ts = [timed(load, name, args.data_root)[0] for _ in range(3)]
        load_times[name] = statistics.median(ts)
    mnist = load("mnist", args.data_root)
    adult = load("adult", args.data_root)
    cases = [
        ("MNIST train 60000x784, 3 thresholds (2352 bits)", thermometer_raw(784, 3), mnist.x_train),
        ("MNIST test 10000x784, 15 thresholds (11760 bits)", thermometer_raw(784, 15), mnist.x_test),
        ("Adult train 32561x14, for_dataset(8, quantile)", for_dataset(adult, 8, "quantile"), adult.x_train),
    ]
    print("\n| case | A encode (s) | B per-feature (s) | C gather (s) |\n| --- | --- | --- | --- |")
    for label, e, x in cases:
        r = bench_case(label, e, x, args.repeats)
        print(f"| {label}: {e.n_bits} bits | {r['A encode']:.3f} | {r['B per-feature']:.3f} | {r['C gather']:.3f} |")
    print("\n| dataset | load time (s, median of 3) |\n| --- | --- |")
    for name, t in load_times.items():
        print(f"| {name} | {t:.2f} |")


if __name__ == "__main__":
    main()
