"""Experiment 1: gradient norm versus depth, original parametrisation vs IWP (with and without
residual initialisation).

A deep, narrow network (quick: 24 layers on scikit-learn digits; full: 32 layers on MNIST) is
built four ways: difflogic's original 16-way softmax with Gaussian logits (as published) and with a
pass-through init, IWP with Gaussian theta, and IWP with residual (heavy-tail) init. For each we
record per-layer gradient norms at initialisation (RMS over a few batches) and at a few steps of
training, in float64 so that tiny norms do not underflow, plus the accuracy reached.
The paper's claim: the original parametrisation's gradient norm collapses by tens of orders of
magnitude with depth, IWP's does not, and residual init keeps it flat.

    python bench/experiments/grad_depth.py --quick      # digits, minutes
    python bench/experiments/grad_depth.py              # MNIST subset, ~an hour on 2 cores
"""
from __future__ import annotations

import math
import sys

import click
import torch

import instrumented as ins

VARIANTS = [  # (label, param, init)
    ("original, Gaussian init", "original", "gaussian"),
    ("original, pass-through init", "original", "residual"),
    ("IWP, Gaussian init", "iwp", "gaussian"),
    ("IWP, residual init", "iwp", "residual"),
]

MODES = {
    "tiny": dict(dataset="digits", thresholds=2, depth=6, width=40, steps=6, snapshots=[0, 5],
                 batch_size=32, train_limit=200, test_limit=100, eval_every=3),
    "quick": dict(dataset="digits", thresholds=4, depth=24, width=200, steps=300,
                  snapshots=[0, 50, 299], batch_size=64, train_limit=None, test_limit=None,
                  eval_every=50),
    "full": dict(dataset="mnist", thresholds=1, depth=32, width=1000, steps=2000,
                 snapshots=[0, 200, 1000, 1999], batch_size=128, train_limit=20000,
                 test_limit=5000, eval_every=200),
}


def decades(norms) -> float | None:
    """log10(norm of the last layer / norm of the first layer): how many orders of magnitude the
    gradient loses between the output end and the input end (negative = collapse)."""
    first, last = norms[0], norms[-1]
    if first <= 0 or last <= 0:  # an exact zero (underflow even in float64): no finite figure
        return None
    return math.log10(first / last)


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:+.1f}"


def run(mode: str, data_root=None, seed: int = 0, progress: bool = True) -> dict:
    s = MODES[mode]
    data = ins.load_data(s["dataset"], data_root, s["thresholds"], s["train_limit"],
                         s["test_limit"], seed)
    widths = [s["width"]] * s["depth"]
    out = {"experiment": "grad_depth", "mode": mode, "settings": s, "fan_in": 2,
           "dtype": "float64", "variants": {}}
    for label, param, init in VARIANTS:
        model = ins.build_model(data, widths, 2, param=param, init=init, seed=seed,
                                dtype=torch.float64)
        at_init = ins.grad_norms_at(model, data, s["batch_size"], seed)
        res = ins.train_run(model, data, steps=s["steps"], batch_size=s["batch_size"], lr=0.01,
                            seed=seed, eval_every=s["eval_every"], grad_steps=s["snapshots"],
                            desc=label, progress=progress)
        res["grad_norm_at_init"] = at_init
        res["log10_first_over_last_at_init"] = decades(at_init)
        res["netlist"] = ins.netlist_agreement(model.float(), data)
        res["param"], res["init"] = param, init
        out["variants"][label] = res
        click.echo(f"{label:30s} init: layer1 {at_init[0]:.3e}  layer{len(at_init)} "
                   f"{at_init[-1]:.3e}  ({_fmt(res['log10_first_over_last_at_init'])} decades); "
                   f"train acc {100 * res['final']['train_acc']:.1f}%, test (discretized) "
                   f"{100 * res['final']['test_acc_discrete']:.1f}%", err=True)
    return out


def plot(result: dict):
    plt = ins.pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    for label, r in result["variants"].items():
        g0 = r["grad_norm_at_init"]
        layers = range(1, len(g0) + 1)
        axes[0].semilogy(layers, [max(v, 1e-300) for v in g0], marker=".", label=label)
        last = sorted(r["grad_norms"], key=int)[-1] if r["grad_norms"] else None
        if last is not None:
            axes[1].semilogy(layers, [max(v, 1e-300) for v in r["grad_norms"][last]], marker=".",
                             label=f"{label} (step {last})")
        h = r["history"]
        axes[2].plot([e["step"] for e in h], [100 * e["train_acc"] for e in h], marker=".",
                     label=label)
    s = result["settings"]
    axes[0].set_title(f"per-layer gradient norm at init ({s['depth']} x {s['width']}, fan-in 2)")
    axes[1].set_title("per-layer gradient norm late in training")
    axes[2].set_title(f"training accuracy ({s['dataset']}, continuous)")
    for ax in axes[:2]:
        ax.set_xlabel("layer (1 = next to the inputs)")
        ax.set_ylabel("||dL/dparams|| (float64)")
    axes[2].set_xlabel("step")
    axes[2].set_ylabel("train accuracy (%)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


main = ins.experiment_command(
    "grad_depth", "Gradient norm versus depth: original vs IWP vs IWP + residual init.",
    "Digits, 24 layers: a few minutes.", run, plot)


if __name__ == "__main__":
    sys.exit(main())
