"""Experiment 6 (the paper's open question): learned connections vs fixed random connections.

The same IWP networks (fan-in 4, residual init) are trained with the paper's fixed random
connections and with ``--connections learned`` (train/connections.py: each gate input picks one of
C random candidate signals, softmax in training, argmax in the netlist). Both discretize to
netlists of exactly the same size, so at equal hardware cost we compare discretized test accuracy,
surviving gates after ``lgn_hw.optimize`` and training time (learning the choice costs ~C extra
reads per gate input).

    python bench/experiments/connections.py --quick     # digits, three sizes
    python bench/experiments/connections.py             # digits, more sizes and 3 seeds
"""
from __future__ import annotations

import statistics
import sys

import click

import instrumented as ins

MODES = {
    "tiny": dict(dataset="digits", thresholds=2, sizes=[[40, 20]], steps=30, candidates=4,
                 batch_size=32, train_limit=300, test_limit=120, eval_every=15, lr=0.02,
                 seeds=[0]),
    "quick": dict(dataset="digits", thresholds=4, sizes=[[60, 30], [200, 100], [400, 200, 100]],
                  steps=1500, candidates=8, batch_size=64, train_limit=None, test_limit=None,
                  eval_every=250, lr=0.02, seeds=[0]),
    "full": dict(dataset="digits", thresholds=4,
                 sizes=[[60, 30], [120, 60], [200, 100], [400, 200, 100], [800, 600, 300]],
                 steps=3000, candidates=8, batch_size=64, train_limit=None, test_limit=None,
                 eval_every=250, lr=0.02, seeds=[0, 1, 2]),
}


def run(mode: str, data_root=None, seed: int = 0, progress: bool = True) -> dict:
    from lgn_hw.optimize import optimize
    from train.discretize import discretize
    from train.model import LogicNet

    s = MODES[mode]
    data = ins.load_data(s["dataset"], data_root, s["thresholds"], s["train_limit"],
                         s["test_limit"], seed)
    out = {"experiment": "connections", "mode": mode, "settings": s, "fan_in": 4, "runs": [],
           "summary": []}
    for widths in s["sizes"]:
        row = {"widths": widths, "gates": sum(widths)}
        for conn in ("random", "learned"):
            accs = []
            for sd in s["seeds"]:
                tau = max(1.0, (widths[-1] / data.n_classes) ** 0.5)
                model = LogicNet(data.n_inputs, widths, [4] * len(widths), data.n_classes,
                                 tau=tau, seed=seed + sd, connections=conn,
                                 candidates=s["candidates"])
                res = ins.train_run(model, data, steps=s["steps"], batch_size=s["batch_size"],
                                    lr=s["lr"], seed=seed + sd, eval_every=s["eval_every"],
                                    desc=f"{'x'.join(map(str, widths))} {conn}", progress=progress)
                net, _ = optimize(discretize(model, data.encoding))
                rec = {"widths": widths, "connections": conn, "seed": seed + sd,
                       "final": res["final"], "train_seconds": res["train_seconds"],
                       "gates_after_optimize": int(net.n_gates),
                       "netlist": ins.netlist_agreement(model, data), "history": res["history"]}
                out["runs"].append(rec)
                accs.append(res["final"]["test_acc_discrete"])
            row[conn] = {"median_test_acc_discrete": statistics.median(accs), "all": accs}
        row["gain_points"] = 100 * (row["learned"]["median_test_acc_discrete"]
                                    - row["random"]["median_test_acc_discrete"])
        out["summary"].append(row)
        click.echo(f"{'x'.join(map(str, widths)):>12s} ({row['gates']} gates): random "
                   f"{100 * row['random']['median_test_acc_discrete']:.2f}%, learned "
                   f"{100 * row['learned']['median_test_acc_discrete']:.2f}% "
                   f"({row['gain_points']:+.2f} points)", err=True)
    return out


def plot(result: dict):
    plt = ins.pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.6))
    for k, conn in enumerate(("random", "learned")):
        runs = [r for r in result["runs"] if r["connections"] == conn]
        a1.scatter([r["gates_after_optimize"] for r in runs],
                   [100 * r["final"]["test_acc_discrete"] for r in runs], color=f"C{k}",
                   label=f"{conn} connections")
        a2.scatter([sum(r["widths"]) for r in runs], [r["train_seconds"] for r in runs],
                   color=f"C{k}", label=conn)
    s = result["settings"]
    if all(r["gates_after_optimize"] > 0 for r in result["runs"]):
        a1.set_xscale("log")
    a1.set_xlabel("gates after lgn_hw.optimize (the hardware cost)")
    a1.set_ylabel("test accuracy, discretized (%)")
    a1.set_title(f"{s['dataset']}: IWP fan-in 4, {s['steps']} steps, C = {s['candidates']}")
    a2.set_xlabel("gates (trained)")
    a2.set_ylabel("training seconds (shared 2-core machine)")
    a2.set_title("training cost")
    for ax in (a1, a2):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


main = ins.experiment_command(
    "connections", "Learned vs fixed random connections at equal gate count.",
    "Digits, three sizes, one seed: minutes.", run, plot)


if __name__ == "__main__":
    sys.exit(main())
