"""Experiment 5: gate fan-in n = 2, 4, 6 at equal gate count and at equal parameter count.

IWP gates of fan-in n have 2^n parameters. Two comparisons on the same data and step budget:

* equal gates: every n gets the same layer widths, so n = 6 has 16x the parameters of n = 2 (and,
  in hardware, each gate is still one LUT on a LUT6 part);
* equal parameters: widths scale as 1 / 2^n so that every n has the same parameter count.

We record final continuous and discretized test accuracy, the gate and parameter counts, and the
surviving (non-constant, non-pass-through) gates after ``lgn_hw.optimize``: the hardware cost.
The paper's claim: larger fan-in is more expressive per gate, so at equal gates accuracy rises
with n.

    python bench/experiments/fan_in.py --quick     # digits
    python bench/experiments/fan_in.py             # MNIST
"""
from __future__ import annotations

import sys

import click

import instrumented as ins

FAN_INS = (2, 4, 6)

MODES = {
    "tiny": dict(dataset="digits", thresholds=2, depth=2, equal_gates=40, param_budget=640,
                 steps=20, batch_size=32, train_limit=300, test_limit=120, eval_every=10,
                 lr=0.02),
    "quick": dict(dataset="digits", thresholds=4, depth=3, equal_gates=400, param_budget=6400,
                  steps=1500, batch_size=64, train_limit=None, test_limit=None, eval_every=100,
                  lr=0.02),
    "full": dict(dataset="mnist", thresholds=1, depth=3, equal_gates=2000, param_budget=32000,
                 steps=6000, batch_size=128, train_limit=None, test_limit=None, eval_every=500,
                 lr=0.01),
}


def width_for(budget: int, n: int, classes: int) -> int:
    """Gates per layer with ``budget`` parameters at fan-in n, rounded to a multiple of classes."""
    w = budget // (1 << n)
    return max(classes, (w // classes) * classes)


def run(mode: str, data_root=None, seed: int = 0, progress: bool = True) -> dict:
    s = MODES[mode]
    data = ins.load_data(s["dataset"], data_root, s["thresholds"], s["train_limit"],
                         s["test_limit"], seed)
    out = {"experiment": "fan_in", "mode": mode, "settings": s, "runs": []}
    for compare in ("equal_gates", "equal_params"):
        for n in FAN_INS:
            width = (s["equal_gates"] if compare == "equal_gates"
                     else width_for(s["param_budget"], n, data.n_classes))
            model = ins.build_model(data, [width] * s["depth"], n, seed=seed)
            res = ins.train_run(model, data, steps=s["steps"], batch_size=s["batch_size"],
                                lr=s["lr"], seed=seed, eval_every=s["eval_every"],
                                desc=f"{compare} n={n}", progress=progress)
            from train.discretize import discretize

            from lgn_hw.optimize import optimize

            net, stats = optimize(discretize(model, data.encoding))
            rec = {"compare": compare, "fan_in": n, "width": width,
                   "gates": width * s["depth"],
                   "parameters": int(sum(p.numel() for p in model.parameters())),
                   "gates_after_optimize": int(net.n_gates), "final": res["final"],
                   "netlist": ins.netlist_agreement(model, data), "history": res["history"],
                   "train_seconds": res["train_seconds"]}
            out["runs"].append(rec)
            f = res["final"]
            click.echo(f"{compare:12s} n={n}: {s['depth']} x {width} gates, "
                       f"{rec['parameters']} params -> test continuous "
                       f"{100 * f['test_acc_continuous']:.2f}%, discretized "
                       f"{100 * f['test_acc_discrete']:.2f}%, {net.n_gates} gates survive",
                       err=True)
    return out


def plot(result: dict):
    plt = ins.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    for ax, compare in zip(axes, ("equal_gates", "equal_params")):
        runs = [r for r in result["runs"] if r["compare"] == compare]
        for k, r in enumerate(runs):
            h = r["history"][1:]
            ax.plot([e["step"] for e in h], [100 * e["test_acc_discrete"] for e in h],
                    color=f"C{k}", marker=".",
                    label=f"n={r['fan_in']}: {r['width']}/layer, {r['parameters']:,} params, "
                          f"{r['gates_after_optimize']} gates after optimise")
        ax.set_title(f"{result['settings']['dataset']}: {compare.replace('_', ' ')}")
        ax.set_xlabel("step")
        ax.set_ylabel("test accuracy, discretized (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


main = ins.experiment_command(
    "fan_in", "Fan-in 2/4/6 at equal gate count and at equal parameter count.",
    "Digits, 3 layers: minutes.", run, plot)


if __name__ == "__main__":
    sys.exit(main())
