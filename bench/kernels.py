"""Correctness check and benchmark of the CUDA logic-layer kernels (train/kernels), in one call.

    python bench/kernels.py                 # on a GPU machine: check, then time; table + JSON + MD
    python bench/kernels.py --dry-run       # no GPU: the checks run the kernels' own source on the
                                            # CPU (train.kernels.emulate), no timings

1. Check every kernel configuration (IWP n = 1..6 x {sin, sigmoid} x {soft, hard, ste}, original x
   the three modes) through the real launch code (train.kernels.functions) against the float64 torch
   reference: y, dL/dx and dL/dparams, and the first-layer backward (x needs no gradient) with a
   stride-0 output gradient; relative error = max|err| / max|ref|, fresh random inputs per case,
   outputs NaN-poisoned, shapes that are multiples of nothing, and a scratch bound (--check-scratch-kib)
   small enough that the batch spans several backward ranges of several slices. Any mismatch aborts
   with exit status 1 before timing.
2. Time forward, backward with input gradient, backward without it (first layer) of IWP n = 2, 4, 6
   and the original parametrisation at a CIFAR-scale layer (--gates, default 131072 gates reading
   131072 inputs) for each batch size, with CUDA events (median of --repeats after --warmup), a full
   autograd step, and torch's own path (train.functional.reference_forward, float32) on the same GPU.
   Then a small layer (--small-gates) with and without the batch split of the backward grid, and
   the fan-in-6 backward compiled for each register budget (compile.FANIN6_VARIANTS).
3. Measure the device's copy bandwidth (device-to-device copy_, read + write bytes) and give every
   kernel a fraction of that roofline under this bytes-moved model (float32 = 4 bytes):
     forward : 4 * G * B * (n + 1)            n gathered input rows read, one output row written
               + 4 * G * (P + n)              parameters and connections
     backward: 4 * G * B * (n + 1 + n)        backward kernel: n input rows + dL/dy read, n partial rows written
               + 4 * (G * n + in_dim) * B     gather: partial rows read, dL/dx written
               + 4 * G * (2 P + 2 n)          parameters read, gradients written, connections and slots
   Gathered rows are counted as DRAM traffic every time they are read; L2 hits can therefore push
   the fraction above 100% (it is a model, stated, not a measurement of DRAM bytes).
4. Registers, spills and theoretical occupancy of the timed kernels from ptxas (nvcc, sm_90), also
   in a dry run when nvcc is installed.
The tables are printed at the end and written to OUT/kernels.json and OUT/kernels.md.
"""
from __future__ import annotations

import math
import statistics
import sys
from pathlib import Path

import click
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lgn_hw.atomic import write_json_atomic, write_text_atomic  # noqa: E402
from train import functional as F  # noqa: E402
from train.kernels import compile as kc  # noqa: E402
from train.kernels import plan  # noqa: E402
from train.kernels import resources as kernel_resources  # noqa: E402

TIMED = (("iwp", 2, "sin"), ("iwp", 4, "sin"), ("iwp", 6, "sin"), ("original", 2, None))
TOL = {"y": 2e-5, "gx": 2e-5, "gparams": 1e-4, "gparams_first": 1e-4}


def check_configs() -> list[tuple[str, int, str | None, str]]:
    return kc.all_configs()


def label(param: str, n: int, est: str | None, mode: str | None = None) -> str:
    name = f"iwp n={n} {est}" if param == "iwp" else "original (16-softmax)"
    return name + ("" if mode in (None, "soft") else f" {mode}")


def n_params(param: str, n: int) -> int:
    return 16 if param == "original" else 1 << n


def random_case(param, n, in_dim, G, B, rng: np.random.Generator) -> dict:
    """Fresh inputs: x in [0, 1], distinct random connections, parameters spread across both
    sides of the rounding threshold, random output gradient."""
    idx = np.stack([rng.choice(in_dim, size=n, replace=in_dim < n) for _ in range(G)])
    scale = 3.0 if param == "original" else 1.5
    return {"x": rng.random((in_dim, B)), "idx": idx.astype(np.int32),
            "params": rng.normal(0.0, scale, (G, n_params(param, n))),
            "gy": rng.normal(0.0, 1.0, (G, B))}


def _coefficients(param, est, mode, w):
    if param == "iwp":
        soft = F.rho(w, est or "sin")
        hard = F.hard_coefficients(soft)
    else:
        soft, hard = F.original_coefficients(w, False), F.original_coefficients(w, True)
    return {"soft": soft, "hard": hard, "ste": hard.detach() + soft - soft.detach()}[mode]


def reference(case, param, n, est, mode) -> dict:
    """float64 torch reference: y, dL/dx, dL/dparams (None where no gradient flows), and the
    first-layer parameter gradient of sum(y) (x without gradient, stride-0 dL/dy)."""
    x = torch.tensor(case["x"], dtype=torch.float64, requires_grad=True)
    w = torch.tensor(case["params"], dtype=torch.float64, requires_grad=True)
    idx = torch.as_tensor(case["idx"]).long()
    y = F.multilinear_reference(x, idx, _coefficients(param, est, mode, w))
    y.backward(torch.tensor(case["gy"], dtype=torch.float64))
    out = {"y": y.detach().numpy(), "gx": x.grad.numpy(),
           "gparams": None if mode == "hard" else w.grad.numpy()}
    out["gparams_first"] = None
    if mode != "hard":  # hard tables have no parameter gradient
        w1 = w.detach().clone().requires_grad_(True)
        F.multilinear_reference(x.detach(), idx, _coefficients(param, est, mode, w1)).sum().backward()
        out["gparams_first"] = w1.grad.numpy()
    return out


def run_kernels(case, param, n, est, mode, device) -> dict:
    """The kernels through the autograd Functions (CUDA, or their CPU emulation), every output
    NaN-poisoned first; then the first-layer backward with y.sum()'s expanded gradient."""
    from train.kernels.functions import iwp_apply, original_apply, poison_outputs

    def apply(x, idx, w):
        return iwp_apply(x, idx, w, n, est, mode=mode) if param == "iwp" else \
            original_apply(x, idx, w, mode=mode)

    x = torch.tensor(case["x"], dtype=torch.float32, device=device, requires_grad=True)
    w = torch.tensor(case["params"], dtype=torch.float32, device=device, requires_grad=True)
    idx = torch.tensor(case["idx"], dtype=torch.int32, device=device)
    with poison_outputs():
        y = apply(x, idx, w)
        y.backward(torch.tensor(case["gy"], dtype=torch.float32, device=device))
        w1 = w.detach().clone().requires_grad_(True)
        apply(x.detach(), idx, w1).sum().backward()
    if device.type == "cuda":
        torch.cuda.synchronize()

    def np64(t):
        return None if t is None else t.detach().double().cpu().numpy()

    return {"y": np64(y), "gx": np64(x.grad), "gparams": np64(w.grad),
            "gparams_first": np64(w1.grad)}


def run_cuda(case, param, n, est, mode) -> dict:
    return run_kernels(case, param, n, est, mode, torch.device("cuda"))


def run_emulated(case, param, n, est, mode) -> dict:
    """The kernels' own source on the CPU (train.kernels.emulate), float32 like the GPU."""
    from train.kernels.emulate import emulation

    with emulation():
        return run_kernels(case, param, n, est, mode, torch.device("cpu"))


def rel_err(got, ref) -> float:
    got, ref = np.asarray(got, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape or not np.isfinite(got).all():
        return math.inf
    return float(np.abs(got - ref).max(initial=0.0) / max(np.abs(ref).max(initial=0.0), 1e-30))


def check_all(run, shapes, seed: int, scratch_bytes: int) -> tuple[list[dict], list[str]]:
    """Check every configuration at every shape, with the backward's scratch bound lowered to
    ``scratch_bytes`` (several ranges); returns (rows, mismatch messages)."""
    rows, bad = [], []
    rng = np.random.default_rng(seed)
    old, plan.SCRATCH_BYTES = plan.SCRATCH_BYTES, scratch_bytes
    try:
        for in_dim, G, B in shapes:
            for param, n, est, mode in check_configs():
                case = random_case(param, n, in_dim, G, B, rng)
                ref, got = reference(case, param, n, est, mode), run(case, param, n, est, mode)
                row = {"config": label(param, n, est, mode), "shape": [in_dim, G, B],
                       "ranges": len(plan.backward_plan(G, n, B, True, 132, scratch_bytes).ranges)}
                _compare(row, ref, got, bad)
                rows.append(row)
    finally:
        plan.SCRATCH_BYTES = old
    return rows, bad


def _compare(row, ref, got, bad) -> None:
    for key in TOL:
        if ref[key] is None:
            if got[key] is not None:
                bad.append(f"{row['config']} {row['shape']}: {key} should be absent (hard)")
            continue
        err = rel_err(got[key], ref[key])
        row[key] = err
        if not err <= TOL[key]:
            bad.append(f"{row['config']} at (in_dim, G, B) = {tuple(row['shape'])}: "
                       f"{key} relative error {err:.3g} > {TOL[key]:g}")


def bytes_model(param: str, n: int, in_dim: int, G: int, B: int) -> dict:
    P = n_params(param, n)
    fwd = 4 * G * B * (n + 1) + 4 * G * (P + n)
    bwd = 4 * G * B * (2 * n + 1) + 4 * (G * n + in_dim) * B + 4 * G * (2 * P + 2 * n)
    return {"fwd": fwd, "bwd": bwd}


def _events_ms(fn, warmup: int, repeats: int, inner: int) -> float:
    """Median over ``repeats`` of the CUDA-event time of ``inner`` back-to-back calls, per call."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(inner):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / inner)
    return statistics.median(times)


def copy_bandwidth(warmup: int, repeats: int) -> float:
    """Device-to-device copy bandwidth in bytes/s (1 GiB read + 1 GiB written per copy)."""
    n = 1 << 28
    src = torch.rand(n, device="cuda")
    dst = torch.empty_like(src)
    ms = _events_ms(lambda: dst.copy_(src), warmup, repeats, 1)
    return 2 * 4 * n / (ms * 1e-3)


def time_config(param, n, est, gates, B, warmup, repeats, torch_max_batch) -> dict:
    """Kernel forward/backward times, full step (autograd) times of the kernels and of torch."""
    from train.kernels.functions import iwp_apply, layer_backward, layer_forward, original_apply
    from train.layers import random_connections

    rng = np.random.default_rng(1234 + B + 17 * n)
    dev = torch.device("cuda")
    x = torch.rand(gates, B, device=dev)
    idx = torch.tensor(random_connections(gates, gates, n, rng), dtype=torch.int32, device=dev)
    w = torch.randn(gates, n_params(param, n), device=dev)
    gy = torch.randn(gates, B, device=dev)
    out = {}
    out["fwd_ms"] = _events_ms(lambda: layer_forward(param, x, idx, w, n, est, "soft"),
                               warmup, repeats, 5)
    out["bwd_ms"] = _events_ms(lambda: layer_backward(param, x, idx, w, gy, n, est, "soft", True, True),
                               warmup, repeats, 5)
    # first layer: no input gradient, dL/dy as y.sum() gives it (stride 0, made contiguous)
    gy0 = torch.ones(1, device=dev).expand(gates, B)
    out["bwd_nogx_ms"] = _events_ms(
        lambda: layer_backward(param, x, idx, w, gy0.contiguous(), n, est, "soft", False, True),
        warmup, repeats, 5)
    xg, wg = x.clone().requires_grad_(True), w.clone().requires_grad_(True)

    def kernel_step():
        y = iwp_apply(xg, idx, wg, n, est) if param == "iwp" else original_apply(xg, idx, wg)
        torch.autograd.grad(y, (xg, wg), gy)

    out["step_ms"] = _events_ms(kernel_step, warmup, repeats, 3)
    out["torch_step_ms"] = None
    if B <= torch_max_batch:
        idx64 = idx.long()

        def torch_step():
            y = F.reference_forward(xg, idx64, wg, param=param, estimator=est or "sin")
            torch.autograd.grad(y, (xg, wg), gy)

        try:
            out["torch_step_ms"] = _events_ms(torch_step, 2, max(3, repeats // 5), 1)
        except torch.cuda.OutOfMemoryError:
            out["torch_step_ms"] = "OOM"
        torch.cuda.empty_cache()
    return out


def time_small_layer(gates, B, warmup, repeats) -> dict:
    """Backward (with input gradient) of a small IWP n=4 layer, with the batch split of the
    backward grid (the plan's slices) and without it (one slice)."""
    from train.kernels.functions import layer_backward
    from train.layers import random_connections

    rng = np.random.default_rng(7)
    dev = torch.device("cuda")
    x = torch.rand(gates, B, device=dev)
    idx = torch.tensor(random_connections(gates, gates, 4, rng), dtype=torch.int32, device=dev)
    w, gy = torch.randn(gates, 16, device=dev), torch.randn(gates, B, device=dev)
    out = {"gates": gates, "batch": B}
    old = plan.TARGET_BLOCKS_PER_SM
    for key, target in (("sliced_ms", old), ("unsliced_ms", 0)):
        plan.TARGET_BLOCKS_PER_SM = target
        try:
            out[key] = _events_ms(lambda: layer_backward("iwp", x, idx, w, gy, 4, "sin", "soft",
                                                         True, True), warmup, repeats, 5)
        finally:
            plan.TARGET_BLOCKS_PER_SM = old
    from train.kernels.functions import sm_count

    out["slices"] = plan.backward_plan(gates, 4, B, True, sm_count(dev)).slices
    return out


def time_fanin6_variants(gates, B, warmup, repeats) -> list[dict]:
    """The fan-in-6 soft backward with input gradient, compiled for each register budget."""
    from train.kernels.functions import kernel_variant, layer_backward
    from train.layers import random_connections

    rng = np.random.default_rng(6)
    dev = torch.device("cuda")
    x = torch.rand(gates, B, device=dev)
    idx = torch.tensor(random_connections(gates, gates, 6, rng), dtype=torch.int32, device=dev)
    w, gy = torch.randn(gates, 64, device=dev), torch.randn(gates, B, device=dev)
    rows = []
    for blocks in kc.FANIN6_VARIANTS:
        with kernel_variant(blocks):
            ms = _events_ms(lambda: layer_backward("iwp", x, idx, w, gy, 6, "sin", "soft", True, True),
                            warmup, repeats, 3)
        rows.append({"min_blocks_per_sm": blocks, "gates": gates, "batch": B, "bwd_ms": ms,
                     "default": blocks == kc.FANIN6_MIN_BLOCKS})
    return rows


def resource_rows(workdir: Path) -> list[dict] | str:
    """ptxas registers / spills / occupancy of the timed kernels (a message without nvcc)."""
    try:
        report, _ = kernel_resources.ptxas_report(workdir)
    except RuntimeError as e:
        return f"resource report skipped: {str(e).splitlines()[0]}"
    want = set()
    for param, n, est in TIMED:
        want.update(kc.config_names(param, n, est, "soft")[:2])
    want.add(kc.iwp_backward_name(6, "sin", "hard", True))
    rows = []
    for mangled, r in sorted(report.items(), key=lambda kv: kernel_resources.demangle(kv[0])):
        name = kernel_resources.demangle(mangled)
        if name in want:
            occ = kernel_resources.occupancy(r["registers"], 128, r["smem"])
            rows.append({"kernel": name, **r, **occ})
    return rows


def timing_rows(gates, batches, bw, timings) -> list[dict]:
    """One row per (kernel, batch): times (None in a dry run), bytes model, roofline fractions."""
    rows = []
    for (param, n, est) in TIMED:
        for B in batches:
            t = timings.get((param, n, est, B), {})
            bm = bytes_model(param, n, gates, gates, B)
            row = {"kernel": label(param, n, est), "param": param, "n": n, "batch": B,
                   "bytes_fwd": bm["fwd"], "bytes_bwd": bm["bwd"], **{k: t.get(k) for k in
                   ("fwd_ms", "bwd_ms", "bwd_nogx_ms", "step_ms", "torch_step_ms")}}
            for k in ("fwd", "bwd"):
                ms = row[f"{k}_ms"]
                row[f"{k}_roofline"] = bm[k] / (ms * 1e-3) / bw if (ms and bw) else None
            ts = row["torch_step_ms"]
            row["speedup"] = ts / row["step_ms"] if isinstance(ts, float) and row["step_ms"] else None
            rows.append(row)
    return rows


def _f(v, fmt) -> str:
    return "—" if v is None else (v if isinstance(v, str) else format(v, fmt))


def format_table(rows) -> str:
    head = ("| kernel | batch | fwd MB | fwd µs | fwd % roofline | bwd MB | bwd µs | bwd % roofline | "
            "bwd no dL/dx µs | step µs | torch step µs | step speedup |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        us = lambda v: None if v is None else (v if isinstance(v, str) else v * 1e3)  # noqa: E731
        pct = lambda v: None if v is None else 100 * v  # noqa: E731
        lines.append(f"| {r['kernel']} | {r['batch']} | {r['bytes_fwd'] / 1e6:.0f} | "
                     f"{_f(us(r['fwd_ms']), '.1f')} | {_f(pct(r['fwd_roofline']), '.0f')} | "
                     f"{r['bytes_bwd'] / 1e6:.0f} | {_f(us(r['bwd_ms']), '.1f')} | "
                     f"{_f(pct(r['bwd_roofline']), '.0f')} | {_f(us(r['bwd_nogx_ms']), '.1f')} | "
                     f"{_f(us(r['step_ms']), '.1f')} | "
                     f"{_f(us(r['torch_step_ms']), '.1f')} | {_f(r['speedup'], '.1f')} |")
    return "\n".join(lines)


def targets(rows) -> list[str]:
    """The issue's targets, evaluated on measured rows (nothing to say in a dry run)."""
    by = {(r["param"], r["n"], r["batch"]): r for r in rows if r["fwd_ms"] is not None}
    if not by:
        return ["targets: not evaluated (no timings in a dry run)"]
    out, batches = [], sorted({b for (_, _, b) in by})
    small = batches[0]
    i2, o2 = by.get(("iwp", 2, small)), by.get(("original", 2, small))
    if i2 and o2:
        out.append(f"IWP n=2 vs original at batch {small}: backward {o2['bwd_ms'] / i2['bwd_ms']:.2f}x "
                   f"faster (target >= 1.86x), forward {o2['fwd_ms'] / i2['fwd_ms']:.2f}x (target >= 1)")
    for b in batches:
        i6, i2b = by.get(("iwp", 6, b)), by.get(("iwp", 2, b))
        if i6 and i2b:
            ratio = (i6["fwd_ms"] + i6["bwd_ms"]) / (i2b["fwd_ms"] + i2b["bwd_ms"])
            out.append(f"batch {b}: n=6 / n=2 per-gate cost {ratio:.2f} (target <= 4)")
    for r in rows:
        if r["fwd_ms"] is not None and r["batch"] >= 256 and r["kernel"] in (label("iwp", 2, "sin"),
                                                                              label("original", 2, None)):
            out.append(f"{r['kernel']} batch {r['batch']}: fwd {100 * r['fwd_roofline']:.0f}%, "
                       f"bwd {100 * r['bwd_roofline']:.0f}% of copy bandwidth (target > 50%)")
    sp = [r["speedup"] for r in rows if r["speedup"] is not None]
    if sp:
        out.append(f"full step vs torch path: {min(sp):.1f}x .. {max(sp):.1f}x (target >= 10x)")
    return out


def extra_lines(small, variants, res) -> list[str]:
    """Markdown lines: the small layer with/without batch slices, the fan-in-6 register budgets,
    the ptxas resource table."""
    out = []
    if small:
        out.append(f"- small layer ({small['gates']} gates, n=4, batch {small['batch']}) backward: "
                   f"{small['sliced_ms'] * 1e3:.1f} µs with {small['slices']} batch slices, "
                   f"{small['unsliced_ms'] * 1e3:.1f} µs without "
                   f"({small['unsliced_ms'] / small['sliced_ms']:.2f}x)")
    for v in variants:
        out.append(f"- fan-in-6 backward compiled for {v['min_blocks_per_sm']} blocks/SM: "
                   f"{v['bwd_ms'] * 1e3:.1f} µs (batch {v['batch']})"
                   + (" (default)" if v["default"] else ""))
    if isinstance(res, str):
        out.append(f"- {res}")
    elif res:
        out += ["", "| kernel (ptxas, sm_90) | registers | spill stores B | stack B | blocks/SM | "
                "occupancy |", "|---|---|---|---|---|---|"]
        out += [f"| {r['kernel']} | {r['registers']} | {r['spill_stores']} | {r['stack']} | "
                f"{r['blocks_per_sm']} | {100 * r['occupancy']:.1f}% |" for r in res]
    return out


def _ints(text: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None
    if not vals or min(vals) < 1:
        raise click.BadParameter(f"expected positive integers, got {text!r}")
    return vals


@click.command()
@click.option("--dry-run", is_flag=True, help="No GPU: check on the host shim, skip timing.")
@click.option("--gates", default=131072, show_default=True, help="Gates (= inputs) of the timed layer.")
@click.option("--batches", default="64,128,256,512,1024,2048", show_default=True)
@click.option("--check-shapes", default="1000,1001,333;515,130,2051", show_default=True,
              help="in_dim,G,B triples for the correctness checks, ';'-separated.")
@click.option("--warmup", default=5, show_default=True)
@click.option("--repeats", default=30, show_default=True)
@click.option("--torch-max-batch", default=512, show_default=True,
              help="Largest batch for the torch path (its intermediates are [G, 2^(n-1), B]).")
@click.option("--check-scratch-kib", default=1024, show_default=True,
              help="Backward scratch bound during the checks (small: several ranges per batch).")
@click.option("--small-gates", default=256, show_default=True,
              help="Gates of the small layer timed with and without the backward's batch split.")
@click.option("--resources/--no-resources", default=True, show_default=True,
              help="ptxas register/occupancy report of the timed kernels (needs nvcc, ~1 min).")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", "out_dir", default="bench/results", show_default=True, type=click.Path())
def main(dry_run, gates, batches, check_shapes, warmup, repeats, torch_max_batch, check_scratch_kib,
         small_gates, resources, seed, out_dir):
    """Check the CUDA kernels against the float64 torch reference, then time them."""
    batch_list = _ints(batches)
    shapes = [tuple(_ints(s)) for s in check_shapes.split(";") if s.strip()]
    if any(len(s) != 3 for s in shapes):
        raise click.BadParameter("each check shape needs three integers in_dim,G,B",
                                 param_hint="--check-shapes")
    if gates < 1 or warmup < 0 or repeats < 1 or small_gates < 1 or check_scratch_kib < 1:
        raise click.UsageError("--gates, --small-gates, --check-scratch-kib and --repeats must be "
                               ">= 1, --warmup >= 0")
    if not dry_run:
        from train import kernels

        if not kernels.available():
            raise click.ClickException("no CUDA device with CuPy here; use --dry-run to check "
                                       "everything except the CUDA launches")
    run = run_emulated if dry_run else run_cuda
    click.echo(f"checking {len(check_configs())} configurations x {len(shapes)} shapes "
               f"against the float64 torch reference "
               f"({'kernels emulated on the CPU' if dry_run else 'CUDA'})")
    checks, bad = check_all(run, shapes, seed, check_scratch_kib * 1024)
    worst = {k: max((r[k] for r in checks if k in r), default=0.0) for k in TOL}
    click.echo("worst relative errors: " + ", ".join(f"{k} {v:.2e}" for k, v in worst.items()))
    if bad:
        raise click.ClickException(f"{len(bad)} correctness mismatches:\n" + "\n".join(bad))
    timings, bw, device, small, variants = {}, None, "dry run (no GPU)", None, []
    if not dry_run:
        device = torch.cuda.get_device_name()
        bw = copy_bandwidth(warmup, repeats)
        click.echo(f"{device}: copy bandwidth {bw / 1e9:.0f} GB/s")
        for (param, n, est) in TIMED:
            for B in batch_list:
                timings[(param, n, est, B)] = time_config(param, n, est, gates, B, warmup, repeats,
                                                          torch_max_batch)
        small = time_small_layer(small_gates, max(batch_list), warmup, repeats)
        variants = time_fanin6_variants(gates, min(max(batch_list), 512), warmup, repeats)
    else:
        click.echo("skipped: no GPU (timings, copy bandwidth, small-layer and fan-in-6 variants)")
    import tempfile

    res = "resource report skipped (--no-resources)"
    if resources:
        with tempfile.TemporaryDirectory() as tmp:
            res = resource_rows(Path(tmp))
    rows = timing_rows(gates, batch_list, bw, timings)
    table, notes = format_table(rows), targets(rows)
    extra = extra_lines(small, variants, res)
    result = {"mode": "dry-run" if dry_run else "gpu", "device": device, "gates": gates,
              "inputs": gates, "copy_bandwidth_Bps": bw, "torch_threads": torch.get_num_threads(),
              "tolerances": TOL, "checks": checks, "rows": rows, "targets": notes,
              "small_layer": small, "fanin6_variants": variants,
              "resources": res if isinstance(res, list) else None,
              "scratch_bytes": plan.SCRATCH_BYTES}
    out = Path(out_dir)
    write_json_atomic(out / "kernels.json", result)
    md = (f"Device: {device}; layer: {gates} gates reading {gates} inputs; copy bandwidth "
          f"{'—' if bw is None else f'{bw / 1e9:.0f} GB/s'}.\n\n{table}\n\n"
          + "\n".join(f"- {t}" for t in notes) + "\n\n" + "\n".join(extra) + "\n")
    write_text_atomic(out / "kernels.md", md)
    click.echo(table)
    for t in notes + extra:
        click.echo(t)
    click.echo(f"wrote {out / 'kernels.json'} and {out / 'kernels.md'}")


if __name__ == "__main__":
    main()
