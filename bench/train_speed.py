"""Training-speed benchmark: samples/s of full training steps (forward, backward, Adam) on
784 -> L x G -> GroupSum(10), batch 128, random input bits, for lgn-hw's layers and, where it can
be imported, the TorchLogix peer (with torch.compile), side by side. ``lgn-lut6`` is the
mnist-lut6 shape (6 x 2000 fan-in-6 gates, learned connections, 4 candidates) with the candidate
mix fused into the C kernel; ``lgn-lut6-torchmix`` the same network with the mix in torch
(``LGN_HW_NO_FUSED_MIX=1``: the fused gate kernel over torch-mixed inputs).

Each measurement runs in a fresh subprocess (so the first step includes building/compiling the
kernels from an empty cache, and peak RSS is per contender). Contenders are alternated
A B C A B C ... for ``--rounds`` rounds and the median is reported with the thread count.

    python bench/train_speed.py                     # all contenders, 3 rounds
    python bench/train_speed.py --rounds 5 --only lgn-iwp2,tlx-iwp2
    python bench/train_speed.py --peer /path/to/torchlogix-site   # unpacked torchlogix wheel
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
N_IN, CLASSES, BATCH = 784, 10, 128

#: name -> (implementation, param, fan-in, layers, width); "lgn-learned*": learned connections
CONTENDERS = {
    "lgn-lut6": ("lgn-learned", "iwp", 6, 6, 2000),
    "lgn-lut6-torchmix": ("lgn-learned-torchmix", "iwp", 6, 6, 2000),
    "lgn-iwp2": ("lgn", "iwp", 2, 6, 8000),
    "lgn-original": ("lgn", "original", 2, 6, 8000),
    "lgn-iwp6": ("lgn", "iwp", 6, 6, 2000),
    "lgn-ref-iwp2": ("lgn-ref", "iwp", 2, 6, 8000),
    "tlx-iwp2": ("tlx", "iwp", 2, 6, 8000),
    "tlx-original": ("tlx", "original", 2, 6, 8000),
    "tlx-iwp6": ("tlx", "iwp", 6, 6, 2000),
}


LUT6_CANDIDATES = 4  # the mnist-lut6 preset's


def _lgn_model(param, fan_in, layers, width, learned=False):
    from train.model import LogicNet

    extra = dict(connections="learned", candidates=LUT6_CANDIDATES) if learned else {}
    return LogicNet(N_IN, [width] * layers, [fan_in] * layers, CLASSES, param=param, tau=10.0,
                    **extra), False


def _tlx_model(param, fan_in, layers, width, peer):
    import types

    import torch

    # torchlogix 0.2.2's package __init__ imports circuit.py, which needs Python 3.12 syntax; the
    # layers themselves do not, so load them through a bare package module.
    pkg = types.ModuleType("torchlogix")
    pkg.__path__ = [str(Path(peer) / "torchlogix")]
    sys.modules["torchlogix"] = pkg
    from torchlogix.layers import GroupSum, LogicDense

    kind = "light" if param == "iwp" else "raw"
    mods, d = [], N_IN
    for _ in range(layers):
        mods.append(LogicDense(d, width, lut_rank=fan_in, parametrization=kind))
        d = width
    model = torch.nn.Sequential(*mods, GroupSum(CLASSES, tau=10.0))
    return torch.compile(model), True


def worker(name: str, steps: int, peer: str | None) -> dict:
    import resource

    import torch

    impl, param, fan_in, layers, width = CONTENDERS[name]
    t_start = time.perf_counter()
    if impl == "tlx":
        model, _ = _tlx_model(param, fan_in, layers, width, peer)
    else:
        model, _ = _lgn_model(param, fan_in, layers, width, learned=impl.startswith("lgn-learned"))
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(0)
    batches = [((torch.rand(BATCH, N_IN, generator=g) > 0.5).float(),
                torch.randint(0, CLASSES, (BATCH,), generator=g)) for _ in range(4)]

    def step(i):
        x, y = batches[i % len(batches)]
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    t0 = time.perf_counter()
    step(0)
    first = time.perf_counter() - t0
    for i in range(2):
        step(i + 1)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(steps):
        loss = step(i)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    # CPU time (all threads) is far less sensitive than wall time to other jobs on a shared machine
    return {"name": name, "samples_per_s": steps * BATCH / dt, "step_ms": 1e3 * dt / steps,
            "samples_per_cpu_s": steps * BATCH / cpu, "cpu_ms_per_step": 1e3 * cpu / steps,
            "first_step_s": first, "setup_s": t0 - t_start - dt, "final_loss": loss,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "param_mb": params / 2**20, "threads": torch.get_num_threads()}


def run_one(name: str, steps: int, peer: str | None, threads: int | None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if CONTENDERS[name][0] == "lgn-ref":
        env["LGN_HW_NO_CEXT"] = "1"
    if CONTENDERS[name][0] == "lgn-learned-torchmix":
        env["LGN_HW_NO_FUSED_MIX"] = "1"
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as python -m train does; same for every contender
    with tempfile.TemporaryDirectory() as cache:
        env["LGN_HW_CACHE"] = cache  # the first step includes building the C kernel
        env["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(cache, "inductor")  # and compiling the peer
        cmd = [sys.executable, __file__, "--worker", name, "--steps", str(steps)]
        if peer:
            cmd += ["--peer", peer]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"name": name, "error": tail}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def kernel_times(repeats: int = 15) -> list:
    """Median ms of train.cext forward / backward for one layer (G gates, in_dim = G, batch 128,
    random data, one thread): the fused kernel alone, without autograd or the optimizer."""
    import torch

    from train import cext

    torch.set_num_threads(1)
    rows = []
    for n, G in ((2, 8000), (4, 2000), (6, 2000)):
        g = torch.Generator().manual_seed(n)
        x = torch.rand(G, BATCH, generator=g)
        idx = torch.stack([torch.randperm(G, generator=g)[:n] for _ in range(G)]).int()
        c, dy = torch.rand(G, 1 << n, generator=g), torch.rand(G, BATCH, generator=g)

        def med(f):
            f()
            ts = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t0)
            return 1e3 * statistics.median(ts)

        rows.append({"fan_in": n, "gates": G, "forward_ms": med(lambda: cext.forward(x, idx, c)),
                     "backward_ms": med(lambda: cext.backward(x, idx, c, dy, True))})
    return rows


def mix_ab(rounds: int = 5, steps: int = 3) -> dict:
    """A B A B in one process, one thread: one learned-connection layer of the mnist-lut6 shape
    (2000 gates, fan-in 6, 4 candidates, batch 128), forward + backward with dL/dx, fused mix vs
    torch mix; process CPU ms per step, per round."""
    import torch

    from train.connections import LearnedConnectionsIWPLayer

    torch.set_num_threads(1)
    lay = LearnedConnectionsIWPLayer(2000, 2000, 6, seed=[0, 1], candidates=LUT6_CANDIDATES).train()
    x = torch.rand(2000, BATCH, requires_grad=True)

    def step():
        lay.zero_grad()
        x.grad = None
        lay(x).square().sum().backward()

    res = {"fused": [], "torch": []}
    old = os.environ.get("LGN_HW_NO_FUSED_MIX")
    try:
        for _ in range(rounds):
            for name, flag in (("fused", "0"), ("torch", "1")):
                os.environ["LGN_HW_NO_FUSED_MIX"] = flag
                step()
                t0 = time.process_time()
                for _ in range(steps):
                    step()
                res[name].append(1e3 * (time.process_time() - t0) / steps)
    finally:
        if old is None:
            os.environ.pop("LGN_HW_NO_FUSED_MIX", None)
        else:
            os.environ["LGN_HW_NO_FUSED_MIX"] = old
    return res


@click.command()
@click.option("--kernels", is_flag=True, help="Only time the fused CPU kernel per layer (one thread).")
@click.option("--mix-ab", is_flag=True,
              help="Only compare one learned-connection layer, fused vs torch mix (A B A B, CPU ms).")
@click.option("--rounds", default=3, show_default=True, help="A B A B rounds (median reported).")
@click.option("--steps", default=20, show_default=True, help="Timed steps per measurement.")
@click.option("--only", help="Comma-separated contender names (default: all).")
@click.option("--peer", type=click.Path(exists=True, file_okay=False),
              help="Directory holding the torchlogix package (default: importable torchlogix, if any).")
@click.option("--threads", type=int, help="OMP_NUM_THREADS for the workers (default: all cores).")
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the results as JSON.")
@click.option("--worker", hidden=True)
def main(kernels, mix_ab, rounds, steps, only, peer, threads, json_out, worker):
    if mix_ab:
        res = mix_ab_fn()
        for k, v in res.items():
            click.echo(f"{k} mix: median {statistics.median(v):.1f} CPU ms per layer step, rounds "
                       + " / ".join(f"{t:.1f}" for t in v))
        click.echo(f"torch / fused: {statistics.median(res['torch']) / statistics.median(res['fused']):.2f}x")
        return
    if kernels:
        for r in kernel_times():
            click.echo(f"fan-in {r['fan_in']}, {r['gates']} gates, batch {BATCH}, 1 thread: forward "
                       f"{r['forward_ms']:.2f} ms, backward {r['backward_ms']:.2f} ms")
        return
    if worker:
        print(json.dumps(worker_fn(worker, steps, peer)))
        return
    names = [n.strip() for n in only.split(",")] if only else list(CONTENDERS)
    for n in names:
        if n not in CONTENDERS:
            raise click.UsageError(f"unknown contender {n!r}; known: {', '.join(CONTENDERS)}")
    if peer is None:
        import importlib.util

        if importlib.util.find_spec("torchlogix") is None:
            skipped = [n for n in names if n.startswith("tlx")]
            names = [n for n in names if not n.startswith("tlx")]
            if skipped:
                click.echo(f"torchlogix not importable: skipping {', '.join(skipped)} (use --peer)", err=True)
    results: dict = {n: [] for n in names}
    from tqdm import tqdm

    with tqdm(total=rounds * len(names), desc="measurements") as bar:
        for r in range(rounds):
            for n in names:
                m = run_one(n, steps, peer, threads)
                results[n].append(m)
                bar.write(f"round {r + 1} {n}: " + (m["error"] if "error" in m else
                          f"{m['samples_per_s']:.0f} samples/s, {m['samples_per_cpu_s']:.0f} samples/CPU-s, "
                          f"first step {m['first_step_s']:.1f} s"))
                bar.update(1)
    rows = []
    for n in names:
        ok = [m for m in results[n] if "error" not in m]
        if not ok:
            rows.append({"name": n, "error": results[n][0]["error"]})
            continue
        med = {k: statistics.median(m[k] for m in ok) for k in
               ("samples_per_s", "step_ms", "samples_per_cpu_s", "cpu_ms_per_step", "first_step_s",
                "peak_rss_mb", "param_mb")}
        med.update(name=n, threads=ok[0]["threads"], runs=len(ok),
                   all_samples_per_s=[round(m["samples_per_s"], 1) for m in ok])
        rows.append(med)
    impl_of = {n: CONTENDERS[n] for n in names}
    click.echo(f"\nbatch {BATCH}, {rounds} rounds x {steps} steps, median; shared machine\n")
    click.echo(f"{'contender':<14} {'model':<24} {'samples/s':>10} {'step ms':>8} {'samples/CPU-s':>13} "
               f"{'1st step s':>10} {'peak RSS MB':>11} {'params MB':>9} thr  runs")
    for row in rows:
        impl, param, f, L, W = impl_of[row["name"]]
        model = f"{param} n={f} {L}x{W}" + (" learned C=4" if impl.startswith("lgn-learned") else "")
        if "error" in row:
            click.echo(f"{row['name']:<14} {model:<24} error: {row['error']}")
            continue
        click.echo(f"{row['name']:<14} {model:<24} {row['samples_per_s']:>10.0f} {row['step_ms']:>8.1f} "
                   f"{row['samples_per_cpu_s']:>13.0f} {row['first_step_s']:>10.2f} {row['peak_rss_mb']:>11.0f} {row['param_mb']:>9.1f} "
                   f"{row['threads']:>3}  {row['all_samples_per_s']}")
    by = {r["name"]: r for r in rows if "error" not in r}
    for ours, peer_name in (("lgn-iwp2", "tlx-iwp2"), ("lgn-original", "tlx-original"), ("lgn-iwp6", "tlx-iwp6")):
        if ours in by and peer_name in by:
            click.echo(f"ratio {ours} / {peer_name}: {by[ours]['samples_per_s'] / by[peer_name]['samples_per_s']:.2f}x "
                       f"(wall), {by[ours]['samples_per_cpu_s'] / by[peer_name]['samples_per_cpu_s']:.2f}x (CPU time)")
    if json_out:
        from lgn_hw.atomic import write_json_atomic

        write_json_atomic(json_out, {"batch": BATCH, "rounds": rounds, "steps": steps, "rows": rows,
                                     "raw": results})


worker_fn = worker
mix_ab_fn = mix_ab

if __name__ == "__main__":
    main()
