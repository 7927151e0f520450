"""Benchmark: compiled inference (``lgn_hw.export``, ``lgn-hw infer --engine c``) against the
numpy evaluator, a roofline, and compile times.

One run, side by side, rounds alternating every contender (A B C ... A B C ...), medians:

- samples/s on one core for a netlist (the MNIST UP5K model): the C library from packed input
  bits (encoding excluded; one ctypes call per 4,096-sample batch, as ``lgn-hw infer`` calls it,
  and one call over all samples, whose input rows lie far apart), and from raw pixels (its
  encoder included), with and without the class counts, and with the other encoder (the
  bit-plane one, when the default is compare-first: the two side by side); the C contenders classify the
  test set ``--tile`` times over (the inputs, 10 MB of packed bits for MNIST, come from memory,
  not from a cached block); the numpy ``Netlist.evaluate`` (encoding excluded) and
  ``evaluate_raw`` (included) on the test set once;
- the roofline: Boolean operations per 64 samples (gates and head, counted in the generated code),
  the rate they run at, and the core's integer throughput measured by a calibrated loop of
  independent bitwise operations on the same word type, compiler and flags; and the memory side:
  the bytes each sample brings in (raw row; live packed rows) and the rate a plain read streams the
  same arrays at;
- compile time (CPU seconds of the compiler) and generation time of the exported C for this netlist
  and for a random netlist of the largest frontier shape (6 x 2000 fan-in-6 gates on 784 inputs,
  20% of them pass-through/constant/negation as in trained netlists, the rest uniformly random
  tables: the costly case), at -O2 and -O1.

Times are CPU time of this thread (``time.thread_time``; the compiler's from ``RUSAGE_CHILDREN``),
steadier than wall time on a shared machine; wall medians are recorded too. The machine, the CPU
model (``lscpu``) and the load average before and after are printed and saved.

    python bench/export_speed.py NETLIST --data-root DATA --rounds 5 --out bench/results/export
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # numpy's evaluator on one core as well
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import ctypes  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lgn_hw.atomic import write_bytes_atomic, write_json_atomic  # noqa: E402

CALIBRATION = r"""
#include <stdint.h>
#if defined(__AVX512F__)
#  define LANES 8
#elif defined(__AVX2__)
#  define LANES 4
#elif defined(__SSE2__) || defined(__ARM_NEON)
#  define LANES 2
#else
#  define LANES 1
#endif
#if LANES > 1
typedef uint64_t word __attribute__((vector_size(8 * LANES)));
#else
typedef uint64_t word;
#endif
/* 16 independent accumulators in registers (written out: no array), 2 bitwise operations each
   per round (xor, and-not): the kind of operation the exported logic executes, with enough
   independent work to fill every port. Returns the 64-bit word operations done. */
double peak(long rounds, uint64_t seed, uint64_t *sink)
{
    word @DECL@;
    union { word w; uint64_t u[LANES]; } t;
    long r;
    int l;
@INIT@
    for (r = 0; r < rounds; r++) {
@BODY@
    }
@SINK@
    return 2.0 * 16 * LANES * (double)rounds;
}
int lanes(void) { return LANES; }
/* Read n bytes (a multiple of 64) in order, eight words at a time: the memory's streaming rate
   for an array such as the raw or packed inputs. */
uint64_t stream(const uint64_t *x, long n)
{
    uint64_t s = 0;
    long i;
    for (i = 0; i < n / 8; i += 8)
        s += x[i] ^ x[i + 1] ^ x[i + 2] ^ x[i + 3] ^ x[i + 4] ^ x[i + 5] ^ x[i + 6] ^ x[i + 7];
    return s;
}
""".replace("@DECL@", ", ".join(f"a{k}" for k in range(16))).replace("@INIT@", "\n".join(
    f"    for (l = 0; l < LANES; l++) t.u[l] = seed * (uint64_t)({2 * k + 3} + 7 * l) + {k}u;\n"
    f"    a{k} = t.w;" for k in range(16))).replace("@BODY@", "\n".join(
        f"        a{k} = (a{k} ^ a{(k + 5) & 15}) & ~a{(k + 11) & 15};" for k in range(16))).replace(
    "@SINK@", "\n".join(f"    t.w = a{k};\n    for (l = 0; l < LANES; l++) *sink ^= t.u[l];" for k in range(16)))


def _machine() -> dict:
    model = platform.processor()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines()
                      if ln.startswith("Model name")), model)
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "machine": platform.machine(),
            "python": platform.python_version(), "load": os.getloadavg()}


def _timed(fn, *args):
    w0, c0 = time.perf_counter(), time.thread_time()
    fn(*args)
    return time.perf_counter() - w0, time.thread_time() - c0


def _calibrate(cc: str, flags) -> dict:
    from lgn_hw.cbuild import build_cached, compiler_version, cpu_tag

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "peak.c")
        src.write_text(CALIBRATION)
        key = b"\0".join([CALIBRATION.encode(), " ".join(flags).encode(),
                          compiler_version(cc).encode(), cpu_tag().encode()])
        lib = ctypes.CDLL(str(build_cached([cc, *flags], src, key, "lgn_peak")))
    lib.peak.restype = ctypes.c_double
    lib.peak.argtypes = [ctypes.c_long, ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64)]
    sink = ctypes.c_uint64(0)
    rounds = 1 << 16
    while True:  # about 0.2 s per measurement
        _, cpu = _timed(lib.peak, rounds, 12345, ctypes.byref(sink))
        if cpu > 0.2:
            break
        rounds *= 2
    rates = []
    for i in range(5):
        c0 = time.thread_time()
        ops = lib.peak(rounds, 777 + i, ctypes.byref(sink))
        rates.append(ops / (time.thread_time() - c0))
    lib.stream.restype = ctypes.c_uint64
    lib.stream.argtypes = [ctypes.c_void_p, ctypes.c_long]
    return {"word_ops_per_s": max(rates), "median_word_ops_per_s": statistics.median(rates),
            "lanes": lib.lanes(), "stream": lib.stream}


def _stream_rate(stream, arr: np.ndarray) -> float:
    """Bytes per CPU-second that ``stream`` reads ``arr`` at (median of 5; the array is larger
    than the caches, as the benchmark's inputs are)."""
    n = arr.nbytes // 64 * 64
    rates = []
    for _ in range(5):
        _, cpu = _timed(stream, arr.ctypes.data, n)
        rates.append(n / cpu)
    return statistics.median(rates)


HOT = r"""
#include "lgn.c"
/* The logic alone, `reps` times on one block of inputs that stays in cache (no input gather, no
   extraction): what the generated operations run at when their data is close. */
void hot(long reps, uint64_t *sink)
{
    static lgn_lanes in[LGN_N_INPUTS], out[@N_OUT@];
    long r;
    int i, l;
    for (i = 0; i < LGN_N_INPUTS; i++)
        for (l = 0; l < LGN_LANES; l++)
            in[i].u[l] = (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull + (uint64_t)l;
    for (r = 0; r < reps; r++) {
        lgn_logic(in, out);
        in[r % LGN_N_INPUTS].u[0] ^= out[0].u[0];
    }
    *sink = out[0].u[0];
}
int block(void) { return LGN_BLOCK; }
"""


def _hot_logic(exp, cc: str, flags) -> float:
    """Samples per CPU-second of the logic alone on one cached block (see ``HOT``)."""
    from lgn_hw.cbuild import build_cached, compiler_version, cpu_tag

    src_text = HOT.replace("@N_OUT@", str(exp.n_outputs))
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in exp.files.items():
            Path(tmp, name).write_text(text)
        src = Path(tmp, "hot.c")
        src.write_text(src_text)
        key = b"\0".join([src_text.encode(), exp.files["lgn.c"].encode(), " ".join(flags).encode(),
                          compiler_version(cc).encode(), cpu_tag().encode()])
        lib = ctypes.CDLL(str(build_cached([cc, *flags, f"-I{tmp}"], src, key, "lgn_hot")))
    lib.hot.argtypes = [ctypes.c_long, ctypes.POINTER(ctypes.c_uint64)]
    sink = ctypes.c_uint64(0)
    reps, rates = 200, []
    for _ in range(5):
        _, cpu = _timed(lib.hot, reps, ctypes.byref(sink))
        rates.append(reps * lib.block() / cpu)
        reps = max(reps, int(reps * 0.3 / max(cpu, 1e-6)))
    return max(rates)


def _compile_time(net, cc: str, flags, label: str) -> dict:
    from lgn_hw.export.c import render_c

    t0 = time.perf_counter()
    exp = render_c(net)
    gen_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in exp.files.items():
            Path(tmp, name).write_text(text)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        proc = subprocess.run([cc, *[f for f in flags if f not in ("-shared", "-fPIC")], "-c",
                               str(Path(tmp, "lgn.c")), "-o", str(Path(tmp, "lgn.o"))],
                              capture_output=True, text=True)
        wall = time.perf_counter() - w0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode:
            raise click.ClickException(f"compiling {label} failed: {proc.stderr[-500:]}")
        size = len(exp.files["lgn.c"])
    return {"netlist": label, "flags": " ".join(flags), "gates": net.n_gates, "gate_ops": exp.gate_ops, "head_ops": exp.head_ops,
            "generate_s": gen_s, "compile_cpu_s": (after.ru_utime + after.ru_stime)
            - (before.ru_utime + before.ru_stime), "compile_wall_s": wall, "source_bytes": size}


@click.command()
@click.argument("netlist", type=click.Path(exists=True, dir_okay=False))
@click.option("--data-root", type=click.Path(file_okay=False), default=None)
@click.option("--rounds", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--tile", type=click.IntRange(min=1), default=10, show_default=True,
              help="The C contenders classify the test set this many times over per round.")
@click.option("--skip-frontier", is_flag=True, help="Do not time the 12,000-gate fan-in-6 compile.")
@click.option("--out", type=click.Path(file_okay=False), default="bench/results/export", show_default=True)
def main(netlist, data_root, rounds, tile, skip_frontier, out):
    from tqdm import tqdm

    from lgn_hw.datasets import load
    from lgn_hw.encoding import thermometer_raw
    from lgn_hw.export.engine import FLAGS, CEngine
    from lgn_hw.netlist import Netlist, pack_samples, random_netlist
    from lgn_hw.cbuild import find_compiler

    cc = find_compiler()
    if cc is None:
        raise click.ClickException("no C compiler found (set $CC)")
    machine = _machine()
    net = Netlist.load(netlist)
    from lgn_hw.infer import dataset_from_meta

    ds = load(dataset_from_meta(net.meta) or "mnist", data_root)
    x = ds.x_test
    eng = CEngine(net, cc)
    planes = CEngine(net, cc, encoder="planes") if eng.export.encoder == "compare" else None
    raw = np.ascontiguousarray(np.tile(eng.features(x), (tile, 1)))
    words = pack_samples(net.encoding.encode(raw))
    n_c, n_np = len(raw), len(x)
    want = net.evaluate_raw(x)[1]
    assert np.array_equal(eng.classify(x, counts=False)[1], want), "C and numpy disagree"
    if planes is not None:
        assert np.array_equal(planes.classify(x, counts=False)[1], want), "C and numpy disagree"
    bits_np = net.encoding.encode(x)
    batches = [(pack_samples(net.encoding.encode(raw[i:i + 4096])), len(raw[i:i + 4096]))
               for i in range(0, n_c, 4096)]

    def batched(counts):
        for w, n in batches:
            eng.evaluate_packed(w, n, counts=counts)

    contenders = {
        "C, packed bits in 4,096-sample batches, class": (n_c, lambda: batched(False)),
        "C, packed bits in 4,096-sample batches, class + counts": (n_c, lambda: batched(True)),
        "C, packed bits, one call, class": (n_c, lambda: eng.evaluate_packed(words, n_c, counts=False)),
        f"C, raw pixels ({eng.export.encoder} encoder), class": (n_c, lambda: eng.classify(raw, counts=False)),
        f"C, raw pixels ({eng.export.encoder} encoder), class + counts": (n_c, lambda: eng.classify(raw)),
        **({"C, raw pixels (planes encoder), class": (n_c, lambda: planes.classify(raw, counts=False))}
           if planes is not None else {}),
        "numpy, bits (evaluate)": (n_np, lambda: net.evaluate(bits_np)),
        "numpy, raw pixels (evaluate_raw)": (n_np, lambda: net.evaluate_raw(x)),
    }
    times = {k: [] for k in contenders}
    for _ in tqdm(range(rounds), desc="rounds", leave=False):
        for name, (n, fn) in contenders.items():
            times[name].append(_timed(fn))
    rows = []
    for name, (n, _) in contenders.items():
        wall = statistics.median(t[0] for t in times[name])
        cpu = statistics.median(t[1] for t in times[name])
        rows.append({"contender": name, "samples": n, "wall_s": wall, "cpu_s": cpu,
                     "samples_per_cpu_s": n / cpu, "samples_per_wall_s": n / wall})
    cal = _calibrate(cc, FLAGS)
    exp = eng.export
    ops64 = exp.gate_ops + exp.head_ops
    best = max(r["samples_per_cpu_s"] for r in rows  # the fastest C packed-bits contender
               if r["contender"].startswith("C, packed bits"))
    achieved = ops64 * best / 64
    hot = _hot_logic(exp, cc, FLAGS)
    bw_raw, bw_packed = _stream_rate(cal["stream"], raw), _stream_rate(cal["stream"], words)
    raw_row = next(r for r in rows if r["contender"].startswith("C, raw pixels") and "counts" not in r["contender"])
    one_call = next(r for r in rows if r["contender"].startswith("C, packed bits, one call"))
    roofline = {"gate_ops_per_64": exp.gate_ops, "head_ops_per_64": exp.head_ops,
                "ops_per_gate": exp.gate_ops / net.n_gates, "achieved_word_ops_per_s": achieved,
                "hot_logic_samples_per_s": hot, "hot_word_ops_per_s": ops64 * hot / 64,
                "hot_fraction_of_peak": ops64 * hot / 64 / cal["word_ops_per_s"],
                "peak_word_ops_per_s": cal["word_ops_per_s"], "lanes": cal["lanes"],
                "fraction_of_peak": achieved / cal["word_ops_per_s"],
                "one_call_fraction_of_peak": ops64 * one_call["samples_per_cpu_s"] / 64 / cal["word_ops_per_s"],
                "raw_fraction_of_peak": ops64 * raw_row["samples_per_cpu_s"] / 64 / cal["word_ops_per_s"],
                # memory: the bytes each sample brings in, and the rate they stream at
                "raw_bytes_per_sample": raw.itemsize * raw.shape[1], "raw_stream_bytes_per_s": bw_raw,
                "live_bytes_per_sample": exp.n_live_inputs / 8, "packed_stream_bytes_per_s": bw_packed}
    compiles = [_compile_time(net, cc, FLAGS, Path(netlist).name)]
    if not skip_frontier:
        # 20% pass-through / constant / negation gates, as in trained netlists (the MNIST UP5K
        # model has 21% pass-throughs); the other tables uniformly random: the costly case
        big = random_netlist(0, 784, [2000] * 6, 6, 10, special=0.2)
        big.encoding = thermometer_raw(784, 1)
        big.validate()
        o1 = ["-O1" if f == "-O2" else f for f in FLAGS]
        compiles.append(_compile_time(big, cc, FLAGS, "random 6x2000 fan-in 6"))
        compiles.append(_compile_time(big, cc, o1, "random 6x2000 fan-in 6, -O1"))
    machine["load_after"] = os.getloadavg()
    cal.pop("stream")
    result = {"machine": machine, "netlist": netlist, "compiler": cc, "flags": list(FLAGS),
              "rounds": rounds, "rows": rows, "roofline": roofline, "compile": compiles}
    outd = Path(out)
    write_json_atomic(outd / "export_speed.json", result)
    _plot(rows, f"{Path(netlist).name} ({net.n_gates:,} gates): compiled C vs numpy",
          outd / "export_speed.png", write_bytes_atomic)
    _print(result)


def _print(r):
    m = r["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores; load average before {m['load'][0]:.1f}, "
          f"after {m['load_after'][0]:.1f}; compiler {r['compiler']} {' '.join(r['flags'])}")
    print("\n| contender | samples/s (CPU time) | samples/s (wall) | ratio to numpy bits |")
    print("| --- | --- | --- | --- |")
    ref = next(x["samples_per_cpu_s"] for x in r["rows"] if x["contender"].startswith("numpy, bits"))
    for x in r["rows"]:
        print(f"| {x['contender']} | {x['samples_per_cpu_s']:,.0f} | {x['samples_per_wall_s']:,.0f} | "
              f"{x['samples_per_cpu_s'] / ref:,.0f}x |")
    f = r["roofline"]
    print(f"\nroofline: {f['gate_ops_per_64']:,} gate + {f['head_ops_per_64']:,} head operations per 64 "
          f"samples ({f['ops_per_gate']:.2f} per netlist gate); {f['achieved_word_ops_per_s'] / 1e9:.1f} G "
          f"word-ops/s achieved vs {f['peak_word_ops_per_s'] / 1e9:.1f} G measured peak "
          f"({f['lanes']} lanes): {100 * f['fraction_of_peak']:.0f}%; the logic alone on a cached block: "
          f"{f['hot_logic_samples_per_s'] / 1e6:.1f} M samples/s, {f['hot_word_ops_per_s'] / 1e9:.1f} G "
          f"word-ops/s, {100 * f['hot_fraction_of_peak']:.0f}%; one call from packed bits "
          f"{100 * f['one_call_fraction_of_peak']:.0f}%, from raw pixels {100 * f['raw_fraction_of_peak']:.1f}%")
    print(f"memory: raw rows {f['raw_bytes_per_sample']} B/sample, streamed at "
          f"{f['raw_stream_bytes_per_s'] / 1e9:.1f} GB/s: at most "
          f"{f['raw_stream_bytes_per_s'] / f['raw_bytes_per_sample'] / 1e6:.1f} M samples/s; live packed rows "
          f"{f['live_bytes_per_sample']:.1f} B/sample, streamed at {f['packed_stream_bytes_per_s'] / 1e9:.1f} "
          f"GB/s: at most {f['packed_stream_bytes_per_s'] / f['live_bytes_per_sample'] / 1e6:.1f} M samples/s")
    print("\n| netlist | gates | operations per 64 samples | generate (s) | compile (CPU s) | compile (wall s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for c in r["compile"]:
        print(f"| {c['netlist']} ({c['flags'].split()[0]}) | {c['gates']:,} | {c['gate_ops'] + c['head_ops']:,} | "
              f"{c['generate_s']:.1f} | "
              f"{c['compile_cpu_s']:.1f} | {c['compile_wall_s']:.1f} |")


def _plot(rows, title, path, write):
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    names = [x["contender"] for x in rows]
    ax.barh(names[::-1], [x["samples_per_cpu_s"] for x in rows][::-1], color="tab:blue")
    ax.set_xscale("log")
    ax.set_xlabel("samples per CPU-second (one core, log scale)")
    ax.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    write(path, buf.getvalue())


if __name__ == "__main__":
    main()
