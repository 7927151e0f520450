"""What a training run leaves in its output directory, all written atomically:
``config.json``, ``checkpoint.pt``, ``metrics.json``, ``netlist.json`` and ``curves.png``.
"""
from __future__ import annotations

import io
from pathlib import Path

import torch

from lgn_hw.atomic import write_bytes_atomic, write_json_atomic

CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"
NETLIST = "netlist.json"
CURVES = "curves.png"


def save_checkpoint(path, state: dict) -> Path:
    buf = io.BytesIO()
    torch.save(state, buf)
    return write_bytes_atomic(path, buf.getvalue())


def load_checkpoint(path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def write_json(path, obj) -> Path:
    return write_json_atomic(path, obj)


def plot_curves(path, history: list, title: str = "") -> Path:
    """Train loss and validation accuracies (continuous, discretized) per epoch, as a PNG (the
    test split is evaluated once, at the end, and is not plotted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(ep, [h["train_loss"] for h in history], marker=".")
    a1.set_xlabel("epoch")
    a1.set_ylabel("train loss (cross-entropy)")
    a1.set_yscale("log")
    a1.grid(alpha=0.3)
    if all("valid_acc_discrete" in h for h in history):
        a2.plot(ep, [100 * h["valid_acc_continuous"] for h in history], marker=".", label="continuous")
        a2.plot(ep, [100 * h["valid_acc_discrete"] for h in history], marker=".",
                label="discretized netlist")
        a2.legend()
    else:
        a2.text(0.5, 0.5, "no validation split (--valid-fraction 0)", ha="center", va="center",
                transform=a2.transAxes)
    a2.set_xlabel("epoch")
    a2.set_ylabel("validation accuracy (%)")
    a2.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return write_bytes_atomic(path, buf.getvalue())
