"""Data-parallel training speed: samples/s of ``python -m train`` on 1 rank and of
``torchrun --nproc-per-node R -m train`` on R ranks (train/distributed.py), side by side.

Every measurement is a fresh run of the real entry point on the real dataset; the figure is the
run's own ``samples_per_s`` (global samples per second of training steps: forward, backward,
all-reduce, Adam; data loading and the final evaluation excluded). Layouts alternate A B C A B C
for ``--rounds`` rounds, the median is reported with each round's value and the load average
before each run (the machine may be shared).

    python bench/ddp_speed.py                                 # MNIST 6x8000 fan-in 2, 3 rounds
    python bench/ddp_speed.py --layouts 1x1,1x2,2x1 --steps 60 --rounds 3 --json-out ddp.json
    python bench/ddp_speed.py --device cuda --layouts 1x1,2x1   # one GPU per rank (nccl)

A layout ``RxT`` is R ranks of T threads each (R = 1: plain ``python -m train``). On a CPU, R x T
should not exceed the cores; with ``--device cuda`` every rank needs its own GPU (several ranks on
one GPU is not data-parallel scaling, and nccl refuses it).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
#: the 6 x 8000 fan-in-2 IWP model of bench/train_speed.py, on real MNIST bits
MODEL = ["--dataset", "mnist", "--thresholds", "1", "--width", "8000", "--layers", "6",
         "--fan-in", "2", "--tau", "10", "--connections", "random", "--batch-size", "128",
         "--valid-fraction", "0"]


def parse_layout(text: str) -> tuple:
    try:
        r, t = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"layouts are RANKSxTHREADS (e.g. 2x1), got {text!r}") from None
    if r < 1 or t < 1:
        raise click.BadParameter(f"ranks and threads must be >= 1, got {text!r}")
    return r, t


def run_one(ranks: int, threads: int, steps: int, device: str, data_root, timeout: float) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        args = [*MODEL, "--steps", str(steps), "--threads", str(threads), "--device", device,
                "--out", tmp, "--quiet"] + (["--data-root", str(data_root)] if data_root else [])
        launcher = [sys.executable, "-m", "train"] if ranks == 1 else \
            [sys.executable, "-m", "torch.distributed.run", "--standalone",
             "--nproc-per-node", str(ranks), "-m", "train"]
        try:
            proc = subprocess.run([*launcher, *args], capture_output=True, text=True, env=env,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:g} s", "load": load}
        if proc.returncode != 0:
            return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1], "load": load}
        final = json.loads((Path(tmp) / "metrics.json").read_text())["final"]
    return {"samples_per_s": final["samples_per_s"], "train_time_s": final["train_time_s"],
            "world_size": final["world_size"], "backend": final["backend"],
            "threads": final["threads"], "device": final["device"], "load": load}


@click.command()
@click.option("--layouts", default="1x1,1x2,2x1", show_default=True,
              help="Comma-separated RANKSxTHREADS layouts.")
@click.option("--rounds", default=3, show_default=True, help="A B C A B C rounds (median reported).")
@click.option("--steps", default=60, show_default=True, help="Training steps per run (batch 128).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--data-root", type=click.Path(file_okay=False), help="Dataset folder (default: $LGN_HW_DATA).")
@click.option("--timeout", default=900.0, show_default=True, help="Seconds per run before it is abandoned.")
@click.option("--json-out", type=click.Path(dir_okay=False), help="Also write the results as JSON.")
def main(layouts, rounds, steps, device, data_root, timeout, json_out):
    """Samples/s of data-parallel training with 1 and several ranks."""
    from tqdm import tqdm

    layout = [parse_layout(s.strip()) for s in layouts.split(",") if s.strip()]
    runs = {lt: [] for lt in layout}
    with tqdm(total=rounds * len(layout), desc="runs") as bar:
        for r in range(rounds):
            for ranks, threads in layout:
                m = run_one(ranks, threads, steps, device, data_root, timeout)
                runs[(ranks, threads)].append(m)
                bar.write(f"round {r + 1} {ranks} rank(s) x {threads} thread(s): " +
                          (m["error"] if "error" in m else f"{m['samples_per_s']:.0f} samples/s")
                          + f" (load {m['load']:.1f})")
                bar.update(1)
    rows = []
    for (ranks, threads), ms in runs.items():
        ok = [m for m in ms if "error" not in m]
        row = {"ranks": ranks, "threads_per_rank": threads, "runs": len(ok),
               "loads": [round(m["load"], 1) for m in ms]}
        if ok:
            row.update(samples_per_s=statistics.median(m["samples_per_s"] for m in ok),
                       all_samples_per_s=[round(m["samples_per_s"]) for m in ok],
                       backend=ok[0]["backend"], device=ok[0]["device"])
        else:
            row["error"] = ms[0]["error"]
        rows.append(row)
    base = rows[0].get("samples_per_s")
    click.echo(f"\nMNIST 784 -> 6 x 8000 fan-in 2, batch 128 (global), {steps} steps, "
               f"{rounds} rounds, median; device {device}\n")
    click.echo("| ranks x threads | backend | samples/s (median) | vs first | per round | load average |")
    click.echo("| --- | --- | ---: | ---: | --- | --- |")
    for row in rows:
        if "error" in row:
            click.echo(f"| {row['ranks']} x {row['threads_per_rank']} | | {row['error']} | | | |")
            continue
        rel = f"{row['samples_per_s'] / base:.2f}x" if base else ""
        click.echo(f"| {row['ranks']} x {row['threads_per_rank']} | {row['backend'] or '-'} | "
                   f"{row['samples_per_s']:,.0f} | {rel} | "
                   f"{' / '.join(f'{v:,}' for v in row['all_samples_per_s'])} | "
                   f"{' / '.join(map(str, row['loads']))} |")
    if json_out:
        Path(json_out).write_text(json.dumps({"steps": steps, "rounds": rounds, "device": device,
                                              "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
