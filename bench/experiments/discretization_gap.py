"""Experiment 2: the discretization gap over training, original parametrisation vs IWP.

The same network shape (fan-in 2, so both parametrisations apply) is trained with difflogic's
original 16-way softmax (Gaussian logits, as published; and with a pass-through init) and with IWP
(residual init, and Gaussian). Every few steps we measure test accuracy with relaxed gates
(continuous) and with hard gates (the discretized network, checked against the Netlist at the end).
The gap is continuous minus discretized accuracy. The paper's claim: IWP's gap is small, because
each coefficient rounds independently, while the softmax mixture's argmax can differ a lot from the
relaxed function.

    python bench/experiments/discretization_gap.py --quick     # digits, minutes
    python bench/experiments/discretization_gap.py             # MNIST subset
"""
from __future__ import annotations

import sys

import click

import instrumented as ins

VARIANTS = [
    ("original, Gaussian init", "original", "gaussian"),
    ("original, pass-through init", "original", "residual"),
    ("IWP, Gaussian init", "iwp", "gaussian"),
    ("IWP, residual init", "iwp", "residual"),
]

MODES = {
    "tiny": dict(dataset="digits", thresholds=2, depth=2, width=60, steps=20, batch_size=32,
                 train_limit=300, test_limit=120, eval_every=10, lr=0.02),
    "quick": dict(dataset="digits", thresholds=4, depth=4, width=500, steps=1500, batch_size=64,
                  train_limit=None, test_limit=None, eval_every=50, lr=0.02),
    "full": dict(dataset="mnist", thresholds=1, depth=6, width=4000, steps=5000, batch_size=128,
                 train_limit=None, test_limit=None, eval_every=250, lr=0.01),
}


def run(mode: str, data_root=None, seed: int = 0, progress: bool = True) -> dict:
    s = MODES[mode]
    data = ins.load_data(s["dataset"], data_root, s["thresholds"], s["train_limit"],
                         s["test_limit"], seed)
    widths = [s["width"]] * s["depth"]
    out = {"experiment": "discretization_gap", "mode": mode, "settings": s, "fan_in": 2,
           "variants": {}}
    for label, param, init in VARIANTS:
        model = ins.build_model(data, widths, 2, param=param, init=init, seed=seed)
        res = ins.train_run(model, data, steps=s["steps"], batch_size=s["batch_size"],
                            lr=s["lr"], seed=seed, eval_every=s["eval_every"], desc=label,
                            progress=progress)
        gaps = [h["test_acc_continuous"] - h["test_acc_discrete"] for h in res["history"][1:]]
        res["gap_final"] = gaps[-1]
        res["gap_mean_second_half"] = sum(gaps[len(gaps) // 2:]) / len(gaps[len(gaps) // 2:])
        res["netlist"] = ins.netlist_agreement(model, data)
        res["param"], res["init"] = param, init
        out["variants"][label] = res
        f = res["final"]
        click.echo(f"{label:30s} test continuous {100 * f['test_acc_continuous']:.2f}%  "
                   f"discretized {100 * f['test_acc_discrete']:.2f}%  gap "
                   f"{100 * res['gap_final']:+.2f} points (mean over 2nd half "
                   f"{100 * res['gap_mean_second_half']:+.2f})", err=True)
    return out


def plot(result: dict):
    plt = ins.pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.6))
    for k, (label, r) in enumerate(result["variants"].items()):
        h = r["history"][1:]
        st = [e["step"] for e in h]
        c = f"C{k}"
        a1.plot(st, [100 * e["test_acc_continuous"] for e in h], color=c, ls="--", alpha=0.7)
        a1.plot(st, [100 * e["test_acc_discrete"] for e in h], color=c, label=label)
        a2.plot(st, [100 * (e["test_acc_continuous"] - e["test_acc_discrete"]) for e in h],
                color=c, marker=".", label=label)
    s = result["settings"]
    a1.set_title(f"{s['dataset']} test accuracy: discretized (solid), continuous (dashed)")
    a1.set_ylabel("test accuracy (%)")
    a2.set_title(f"discretization gap ({s['depth']} x {s['width']} gates, fan-in 2)")
    a2.set_ylabel("continuous - discretized (points)")
    a2.axhline(0, color="k", lw=0.8)
    for ax in (a1, a2):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


main = ins.experiment_command(
    "discretization_gap", "Continuous vs discretized test accuracy over training: original vs IWP.",
    "Digits, 4 x 500 gates: a few minutes.", run, plot)


if __name__ == "__main__":
    sys.exit(main())
