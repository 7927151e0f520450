"""Correctness check and benchmark of the CUDA logic-layer kernels (train/kernels), in one call.

    python bench/kernels.py                 # on a GPU machine: check, then time; table + JSON + MD
    python bench/kernels.py --dry-run       # no GPU: checks run on the host shim, no timings

1. Check every kernel configuration (IWP n = 1..6 x {sin, sigmoid} x {soft, hard}, original x
   {soft, hard}) against the float64 torch reference (train.functional.reference_forward + autograd):
   y, dL/dx and dL/dparams, relative error = max|err| / max|ref|, fresh random inputs per case,
   outputs NaN-poisoned before each run, shapes that are not multiples of any block size. Any
   mismatch aborts with exit status 1 before timing.
2. Time forward and backward (with input gradient) of IWP n = 2, 4, 6 and the original
   parametrisation at a CIFAR-scale layer (--gates, default 131072 gates reading 131072 inputs) for
   each batch size, with CUDA events (median of --repeats after --warmup), plus torch's own path
   (train.functional.reference_forward, float32) on the same GPU for a full step (forward + backward).
3. Measure the device's copy bandwidth (device-to-device copy_, read + write bytes) and give every
   kernel a fraction of that roofline under this bytes-moved model (float32 = 4 bytes):
     forward : 4 * G * B * (n + 1)            n gathered input rows read, one output row written
               + 4 * G * (P + n)              parameters and connections
     backward: 4 * G * B * (n + 1 + n)        backward kernel: n input rows + dL/dy read, n partial rows written
               + 4 * (G * n + in_dim) * B     gather: partial rows read, dL/dx written
               + 4 * G * (2 P + 2 n)          parameters read, gradients written, connections and slots
   Gathered rows are counted as DRAM traffic every time they are read; L2 hits can therefore push
   the fraction above 100% (it is a model, stated, not a measurement of DRAM bytes).
The table is printed at the end and written to OUT/kernels.json and OUT/kernels.md.
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
from train.kernels import host  # noqa: E402
from train.kernels.reverse_index import build_reverse_index  # noqa: E402

TIMED = (("iwp", 2, "sin"), ("iwp", 4, "sin"), ("iwp", 6, "sin"), ("original", 2, None))
TOL = {"y": 2e-5, "gx": 2e-5, "gparams": 1e-4}


def check_configs() -> list[tuple[str, int, str | None, bool]]:
    cfgs = [("iwp", n, est, hard) for n in range(1, 7) for est in ("sin", "sigmoid")
            for hard in (False, True)]
    return cfgs + [("original", 2, None, hard) for hard in (False, True)]


def label(param: str, n: int, est: str | None, hard: bool | None = None) -> str:
    name = f"iwp n={n} {est}" if param == "iwp" else "original (16-softmax)"
    return name + ("" if hard is None else (" hard" if hard else ""))


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


def reference(case, param, n, est, hard) -> dict:
    """float64 torch reference: y, dL/dx, dL/dparams (None where no gradient flows)."""
    x = torch.tensor(case["x"], dtype=torch.float64, requires_grad=True)
    w = torch.tensor(case["params"], dtype=torch.float64, requires_grad=True)
    y = F.reference_forward(x, torch.as_tensor(case["idx"]).long(), w, param=param,
                            estimator=est or "sin", hard=hard)
    y.backward(torch.tensor(case["gy"], dtype=torch.float64))
    return {"y": y.detach().numpy(), "gx": x.grad.numpy(),
            "gparams": None if hard else w.grad.numpy()}


def run_host(case, param, n, est, hard) -> dict:
    """The kernels' device arithmetic on the CPU (host shim), float32 like the GPU."""
    in_dim = case["x"].shape[0]
    slot, ptr = build_reverse_index(torch.as_tensor(case["idx"]), in_dim)
    y = host.forward(param, case["x"], case["idx"], case["params"], n, est, hard)
    gx, gp = host.backward(param, case["x"], case["idx"], case["params"], case["gy"], n, est, hard,
                           slot.numpy(), ptr.numpy())
    return {"y": y, "gx": gx, "gparams": gp}


def run_cuda(case, param, n, est, hard) -> dict:
    """The CUDA kernels through the autograd Functions, every output NaN-poisoned first."""
    from train.kernels.functions import iwp_apply, original_apply, poison_outputs

    dev = torch.device("cuda")
    x = torch.tensor(case["x"], dtype=torch.float32, device=dev, requires_grad=True)
    w = torch.tensor(case["params"], dtype=torch.float32, device=dev, requires_grad=True)
    idx = torch.tensor(case["idx"], dtype=torch.int32, device=dev)
    with poison_outputs():
        if param == "iwp":
            y = iwp_apply(x, idx, w, n, est, hard)
        else:
            y = original_apply(x, idx, w, hard)
        y.backward(torch.tensor(case["gy"], dtype=torch.float32, device=dev))
    torch.cuda.synchronize()
    return {"y": y.detach().double().cpu().numpy(), "gx": x.grad.double().cpu().numpy(),
            "gparams": None if w.grad is None else w.grad.double().cpu().numpy()}


def rel_err(got, ref) -> float:
    got, ref = np.asarray(got, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape or not np.isfinite(got).all():
        return math.inf
    return float(np.abs(got - ref).max(initial=0.0) / max(np.abs(ref).max(initial=0.0), 1e-30))


def check_all(run, shapes, seed: int) -> tuple[list[dict], list[str]]:
    """Check every configuration at every shape; returns (rows, mismatch messages)."""
    rows, bad = [], []
    rng = np.random.default_rng(seed)
    for in_dim, G, B in shapes:
        for param, n, est, hard in check_configs():
            case = random_case(param, n, in_dim, G, B, rng)
            ref, got = reference(case, param, n, est, hard), run(case, param, n, est, hard)
            row = {"config": label(param, n, est, hard), "shape": [in_dim, G, B]}
            for key in ("y", "gx", "gparams"):
                if ref[key] is None:
                    if got[key] is not None:
                        bad.append(f"{row['config']} {row['shape']}: {key} should be absent (hard)")
                    continue
                err = rel_err(got[key], ref[key])
                row[key] = err
                if not err <= TOL[key]:
                    bad.append(f"{row['config']} at (in_dim, G, B) = {tuple(row['shape'])}: "
                               f"{key} relative error {err:.3g} > {TOL[key]:g}")
            rows.append(row)
    return rows, bad


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
    out["fwd_ms"] = _events_ms(lambda: layer_forward(param, x, idx, w, n, est, False),
                               warmup, repeats, 5)
    out["bwd_ms"] = _events_ms(lambda: layer_backward(param, x, idx, w, gy, n, est, False, True, True),
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


def timing_rows(gates, batches, bw, timings) -> list[dict]:
    """One row per (kernel, batch): times (None in a dry run), bytes model, roofline fractions."""
    rows = []
    for (param, n, est) in TIMED:
        for B in batches:
            t = timings.get((param, n, est, B), {})
            bm = bytes_model(param, n, gates, gates, B)
            row = {"kernel": label(param, n, est), "param": param, "n": n, "batch": B,
                   "bytes_fwd": bm["fwd"], "bytes_bwd": bm["bwd"], **{k: t.get(k) for k in
                   ("fwd_ms", "bwd_ms", "step_ms", "torch_step_ms")}}
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
            "step µs | torch step µs | step speedup |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        us = lambda v: None if v is None else (v if isinstance(v, str) else v * 1e3)  # noqa: E731
        pct = lambda v: None if v is None else 100 * v  # noqa: E731
        lines.append(f"| {r['kernel']} | {r['batch']} | {r['bytes_fwd'] / 1e6:.0f} | "
                     f"{_f(us(r['fwd_ms']), '.1f')} | {_f(pct(r['fwd_roofline']), '.0f')} | "
                     f"{r['bytes_bwd'] / 1e6:.0f} | {_f(us(r['bwd_ms']), '.1f')} | "
                     f"{_f(pct(r['bwd_roofline']), '.0f')} | {_f(us(r['step_ms']), '.1f')} | "
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
@click.option("--seed", default=0, show_default=True)
@click.option("--out", "out_dir", default="bench/results", show_default=True, type=click.Path())
def main(dry_run, gates, batches, check_shapes, warmup, repeats, torch_max_batch, seed, out_dir):
    """Check the CUDA kernels against the float64 torch reference, then time them."""
    batch_list = _ints(batches)
    shapes = [tuple(_ints(s)) for s in check_shapes.split(";") if s.strip()]
    if any(len(s) != 3 for s in shapes):
        raise click.BadParameter("each check shape needs three integers in_dim,G,B",
                                 param_hint="--check-shapes")
    if gates < 1 or warmup < 0 or repeats < 1:
        raise click.UsageError("--gates and --repeats must be >= 1, --warmup >= 0")
    if not dry_run:
        from train import kernels

        if not kernels.available():
            raise click.ClickException("no CUDA device with CuPy here; use --dry-run to check "
                                       "everything except the CUDA launches")
    run = run_host if dry_run else run_cuda
    click.echo(f"checking {len(check_configs())} configurations x {len(shapes)} shapes "
               f"against the float64 torch reference ({'host shim' if dry_run else 'CUDA'})")
    checks, bad = check_all(run, shapes, seed)
    worst = {k: max((r[k] for r in checks if k in r), default=0.0) for k in TOL}
    click.echo("worst relative errors: " + ", ".join(f"{k} {v:.2e}" for k, v in worst.items()))
    if bad:
        raise click.ClickException(f"{len(bad)} correctness mismatches:\n" + "\n".join(bad))
    timings, bw, device = {}, None, "dry run (no GPU)"
    if not dry_run:
        device = torch.cuda.get_device_name()
        bw = copy_bandwidth(warmup, repeats)
        click.echo(f"{device}: copy bandwidth {bw / 1e9:.0f} GB/s")
        for (param, n, est) in TIMED:
            for B in batch_list:
                timings[(param, n, est, B)] = time_config(param, n, est, gates, B, warmup, repeats,
                                                          torch_max_batch)
    rows = timing_rows(gates, batch_list, bw, timings)
    table, notes = format_table(rows), targets(rows)
    result = {"mode": "dry-run" if dry_run else "gpu", "device": device, "gates": gates,
              "inputs": gates, "copy_bandwidth_Bps": bw, "torch_threads": torch.get_num_threads(),
              "tolerances": TOL, "checks": checks, "rows": rows, "targets": notes}
    out = Path(out_dir)
    write_json_atomic(out / "kernels.json", result)
    md = (f"Device: {device}; layer: {gates} gates reading {gates} inputs; copy bandwidth "
          f"{'—' if bw is None else f'{bw / 1e9:.0f} GB/s'}.\n\n{table}\n\n"
          + "\n".join(f"- {t}" for t in notes) + "\n")
    write_text_atomic(out / "kernels.md", md)
    click.echo(table)
    for t in notes:
        click.echo(t)
    click.echo(f"wrote {out / 'kernels.json'} and {out / 'kernels.md'}")


if __name__ == "__main__":
    main()
