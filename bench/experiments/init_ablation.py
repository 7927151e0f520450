"""Experiment 3: initialisation ablation, residual (heavy-tail) init vs Gaussian init.

For several depths, an IWP network (sinusoidal estimator, fan-in 2) is trained from each
initialisation until its continuous training accuracy reaches a fixed target; we count the steps
(evaluated every few steps, capped; "not reached" is reported as such, never as a number). The
paper reports up to 8.5x fewer steps with residual init, the advantage growing with depth.

    python bench/experiments/init_ablation.py --quick     # digits, depths 4/8/16
    python bench/experiments/init_ablation.py             # digits, depths 4..32, 3 seeds
"""
from __future__ import annotations

import statistics
import sys

import click

import instrumented as ins

INITS = ("residual", "gaussian")

MODES = {
    "tiny": dict(dataset="digits", thresholds=2, depths=[2, 4], width=60, max_steps=40,
                 target=0.3, batch_size=32, train_limit=300, eval_every=5, lr=0.02, seeds=[0]),
    "quick": dict(dataset="digits", thresholds=4, depths=[4, 8, 16], width=250, max_steps=3000,
                  target=0.9, batch_size=64, train_limit=None, eval_every=10, lr=0.02,
                  seeds=[0]),
    "full": dict(dataset="digits", thresholds=4, depths=[4, 8, 16, 24, 32], width=250,
                 max_steps=6000, target=0.9, batch_size=64, train_limit=None, eval_every=10,
                 lr=0.02, seeds=[0, 1, 2]),
}


def run(mode: str, data_root=None, seed: int = 0, progress: bool = True) -> dict:
    s = MODES[mode]
    data = ins.load_data(s["dataset"], data_root, s["thresholds"], s["train_limit"], None, seed)
    out = {"experiment": "init_ablation", "mode": mode, "settings": s, "fan_in": 2,
           "estimator": "sin", "runs": [], "summary": []}
    for depth in s["depths"]:
        row = {"depth": depth}
        for init in INITS:
            steps = []
            for sd in s["seeds"]:
                model = ins.build_model(data, [s["width"]] * depth, 2, init=init, seed=seed + sd)
                res = ins.train_run(model, data, steps=s["max_steps"],
                                    batch_size=s["batch_size"], lr=s["lr"], seed=seed + sd,
                                    eval_every=s["eval_every"], target=s["target"],
                                    eval_test=False, desc=f"depth {depth} {init}",
                                    progress=progress)
                out["runs"].append({"depth": depth, "init": init, "seed": seed + sd,
                                    "steps_to_target": res["steps_to_target"],
                                    "steps_run": res["steps_run"],
                                    "final_train_acc": res["final"]["train_acc"],
                                    "history": res["history"]})
                steps.append(res["steps_to_target"])
            reached = [v for v in steps if v is not None]
            row[init] = {"steps": steps, "reached": len(reached), "of": len(steps),
                         "median_steps": statistics.median(reached) if len(reached) == len(steps)
                         else None}
        r, g = row["residual"]["median_steps"], row["gaussian"]["median_steps"]
        row["speedup"] = (g / r) if r and g else None
        row["speedup_at_least"] = (s["max_steps"] / r) if r and g is None else None
        out["summary"].append(row)
        sp = (f"{row['speedup']:.1f}x" if row["speedup"] else
              f">= {row['speedup_at_least']:.1f}x (Gaussian did not reach the target)"
              if row["speedup_at_least"] else "n/a")
        click.echo(f"depth {depth:3d}: steps to {100 * s['target']:.0f}% train acc: residual "
                   f"{row['residual']['steps']}, Gaussian {row['gaussian']['steps']}; speedup {sp}",
                   err=True)
    return out


def plot(result: dict):
    plt = ins.pyplot()
    s = result["settings"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.6))
    depths = [r["depth"] for r in result["summary"]]
    for k, init in enumerate(INITS):
        ys, miss = [], []
        for r in result["summary"]:
            v = r[init]["median_steps"]
            ys.append(v if v is not None else float("nan"))
            if v is None:
                miss.append(r["depth"])
        a1.plot(depths, ys, marker="o", color=f"C{k}", label=f"{init} init")
        if miss:
            a1.scatter(miss, [s["max_steps"]] * len(miss), marker="^", color=f"C{k}",
                       label=f"{init}: not reached within {s['max_steps']}")
    a1.set_xlabel("depth (layers)")
    a1.set_ylabel(f"steps to {100 * s['target']:.0f}% train accuracy")
    a1.set_title(f"{s['dataset']}, width {s['width']}, IWP fan-in 2, sin estimator")
    for run in result["runs"]:
        if run["seed"] != result["runs"][0]["seed"]:
            continue
        h = run["history"]
        a2.plot([e["step"] for e in h], [100 * e["train_acc"] for e in h],
                color=f"C{INITS.index(run['init'])}", alpha=0.3 + 0.7 * run["depth"] / max(depths),
                label=f"depth {run['depth']}, {run['init']}")
    a2.axhline(100 * s["target"], color="k", lw=0.8, ls=":")
    a2.set_xlabel("step")
    a2.set_ylabel("train accuracy (%, continuous)")
    a2.set_xscale("log")
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


main = ins.experiment_command(
    "init_ablation", "Steps to a fixed training accuracy: residual vs Gaussian init, several depths.",
    "Digits, depths 4/8/16, one seed: minutes.", run, plot)


if __name__ == "__main__":
    sys.exit(main())
