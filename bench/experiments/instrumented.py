"""The instrumented training loop shared by the paper-claim experiments in ``bench/experiments``.

It trains the project's own ``train.model.LogicNet`` (the same layers, estimators, initialisations
and CPU kernels as ``python -m train``) with Adam on cross-entropy, but records what the
experiments need and ``python -m train`` does not: per-layer gradient norms at chosen steps,
training accuracy every few steps (to count steps to a target), and continuous vs discretized
accuracy on a fixed evaluation set. Eval-mode accuracy of a LogicNet is the discretized network's
accuracy; ``netlist_agreement`` checks that claim against ``train.discretize`` + ``Netlist.evaluate``
at the end of every run. Results are written atomically as JSON (+ a PNG made by each script).
"""
from __future__ import annotations

import math
import platform
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"


class ExperimentError(Exception):
    """A setting cannot be run (bad widths, data missing); the message is one line."""


def load_data(dataset: str, data_root=None, thresholds: int = 4, train_limit: int | None = None,
              test_limit: int | None = None, seed: int = 0):
    """``train.data.EncodedData`` for ``dataset``, optionally a fixed random subset of each split."""
    from train.data import DataError, load_encoded

    try:
        data = load_encoded(dataset, data_root, thresholds, "uniform")
    except DataError as exc:
        raise ExperimentError(str(exc)) from None
    rng = np.random.default_rng(seed)
    if train_limit is not None and train_limit < len(data.y_train):
        keep = torch.from_numpy(np.sort(rng.permutation(len(data.y_train))[:train_limit]))
        data.bits_train, data.y_train = data.bits_train[keep], data.y_train[keep]
    if test_limit is not None and test_limit < len(data.y_test):
        keep = np.sort(rng.permutation(len(data.y_test))[:test_limit])
        data.bits_test, data.y_test = data.bits_test[torch.from_numpy(keep)], data.y_test[torch.from_numpy(keep)]
        data.x_test = data.x_test[keep]
    return data


def build_model(data, widths, fan_in, *, param="iwp", estimator="sin", init="residual",
                tau=None, seed=0, dtype=torch.float32):
    """A LogicNet for ``data``; ``fan_in`` is one int or one per layer."""
    from train.model import LogicNet

    widths = [int(w) for w in widths]
    fans = [int(fan_in)] * len(widths) if np.isscalar(fan_in) else [int(f) for f in fan_in]
    if widths[-1] % data.n_classes:
        raise ExperimentError(f"last width {widths[-1]} not divisible by {data.n_classes} classes")
    if tau is None:  # difflogic's rule of thumb: tau grows like sqrt(gates per class)
        tau = max(1.0, math.sqrt(widths[-1] / data.n_classes))
    try:
        model = LogicNet(data.n_inputs, widths, fans, data.n_classes, param=param,
                         estimator=estimator, init=init, tau=float(tau), seed=seed)
    except ValueError as exc:
        raise ExperimentError(str(exc)) from None
    return model.to(dtype)


def layer_grad_norms(model) -> list:
    """L2 norm of the gradient of each logic layer's parameters (after ``backward``)."""
    out = []
    for layer in model.layers:
        sq = sum(float((p.grad.double() ** 2).sum()) for p in layer.parameters() if p.grad is not None)
        out.append(math.sqrt(sq))
    return out


@torch.no_grad()
def accuracy(model, bits, y, *, hard: bool, batch: int = 2048) -> float:
    """Accuracy with relaxed gates (``hard=False``) or hard gates (the discretized network)."""
    was = model.training
    model.train(not hard)
    try:
        correct = 0
        for s in range(0, len(y), batch):
            correct += int((model(bits[s:s + batch]).argmax(1) == y[s:s + batch]).sum())
        return correct / max(1, len(y))
    finally:
        model.train(was)


def netlist_agreement(model, data) -> dict:
    """Discretize ``model`` and compare ``Netlist.evaluate`` with the model's eval-mode counts."""
    from train.discretize import discretize

    net = discretize(model, data.encoding)
    counts, pred = net.evaluate(data.bits_test.numpy())
    mine = model.counts(data.bits_test).numpy()
    return {"netlist_counts_equal_model": bool((counts == mine).all()),
            "netlist_test_acc": float((pred == data.y_test.numpy()).mean()),
            "gates": int(net.n_gates)}


def grad_norms_at(model, data, batch_size: int, seed: int, batches: int = 4) -> list:
    """Per-layer gradient norms (RMS over ``batches`` random batches) without an optimiser step."""
    g = torch.Generator().manual_seed(seed)
    model.train()
    acc = None
    for _ in range(batches):
        idx = torch.randint(len(data.y_train), (batch_size,), generator=g)
        model.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(data.bits_train[idx]), data.y_train[idx])
        loss.backward()
        sq = [v * v for v in layer_grad_norms(model)]
        acc = sq if acc is None else [a + b for a, b in zip(acc, sq)]
    model.zero_grad(set_to_none=True)
    return [math.sqrt(a / batches) for a in acc]


def train_run(model, data, *, steps: int, batch_size: int = 64, lr: float = 0.01, seed: int = 0,
              eval_every: int = 50, grad_steps=(), target: float | None = None,
              eval_test: bool = True, desc: str = "train", progress: bool = True) -> dict:
    """Train ``model``; returns ``{"history", "grad_norms", "steps_to_target", "seconds", ...}``.

    Every ``eval_every`` steps (and at 0 and the end) a record holds the running train loss, the
    continuous training accuracy on the whole (possibly subset) training split, and, with
    ``eval_test``, continuous and discretized test accuracy. ``grad_steps``: steps at which
    per-layer gradient norms are taken (before that step's update). ``target``: stop once the
    continuous training accuracy reaches it; ``steps_to_target`` is the first evaluated step at or
    above it (None if never reached within ``steps``).
    """
    from tqdm import tqdm

    from train.loop import epoch_order

    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=0.0)
    n = len(data.y_train)
    spe = max(1, math.ceil(n / batch_size))
    history, grads, reached = [], {}, None
    grad_steps = set(int(s) for s in grad_steps)
    loss_sum, loss_n, t_train = 0.0, 0, 0.0

    def record(step):
        nonlocal loss_sum, loss_n, reached
        rec = {"step": step, "train_loss": loss_sum / loss_n if loss_n else None,
               "train_acc": accuracy(model, data.bits_train, data.y_train, hard=False)}
        if eval_test:
            rec["test_acc_continuous"] = accuracy(model, data.bits_test, data.y_test, hard=False)
            rec["test_acc_discrete"] = accuracy(model, data.bits_test, data.y_test, hard=True)
        history.append(rec)
        loss_sum, loss_n = 0.0, 0
        if target is not None and reached is None and rec["train_acc"] >= target:
            reached = step
        return rec

    bar = tqdm(total=steps, desc=desc, unit="step", disable=not progress, leave=False,
               mininterval=1.0)
    record(0)
    step, order, order_epoch = 0, None, -1
    model.train()
    while step < steps and reached is None:
        epoch, i = divmod(step, spe)
        if order_epoch != epoch:
            order, order_epoch = epoch_order(seed, epoch, n), epoch
        idx = order[i * batch_size:(i + 1) * batch_size]
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(data.bits_train[idx]), data.y_train[idx])
        lv = float(loss.detach())
        if not math.isfinite(lv):
            raise ExperimentError(f"{desc}: loss is {lv} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if step in grad_steps:
            grads[step] = layer_grad_norms(model)
        opt.step()
        t_train += time.perf_counter() - t0
        loss_sum += lv
        loss_n += 1
        step += 1
        bar.update(1)
        if step % eval_every == 0 or step == steps:
            rec = record(step)
            bar.set_postfix(acc=f"{100 * rec['train_acc']:.1f}%")
    bar.close()
    if history[-1]["step"] != step:
        record(step)
    return {"history": history, "grad_norms": {str(k): v for k, v in sorted(grads.items())},
            "steps_run": step, "steps_to_target": reached, "train_seconds": round(t_train, 2),
            "final": history[-1]}


def environment(threads: int | None = None) -> dict:
    """Where the numbers were taken (the machine is shared and noisy: see BENCHMARKS.md)."""
    return {"torch_threads": torch.get_num_threads(), "machine": platform.machine(),
            "python": platform.python_version(), "torch": torch.__version__,
            "note": "2-core machine shared with other jobs; timings are noisy"}


def set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise ExperimentError(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)


def write_outputs(out_dir, name: str, result: dict, fig) -> dict:
    """Write ``<out>/<name>.json`` and ``<out>/<name>.png`` atomically; returns their paths."""
    import io

    from lgn_hw.atomic import write_bytes_atomic, write_json_atomic

    out = Path(out_dir)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    paths = {"json": out / f"{name}.json", "png": out / f"{name}.png"}
    write_json_atomic(paths["json"], result)
    write_bytes_atomic(paths["png"], buf.getvalue())
    return paths


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def experiment_command(name: str, doc: str, quick_help: str, run, plot):
    """The command line every experiment script shares: ``--quick`` / ``--tiny`` / full mode,
    ``--out``, ``--data-root``, ``--seed``, ``--threads``; writes ``<name>_<mode>.json/.png``."""
    import click

    @click.command(help=doc)
    @click.option("--quick", is_flag=True, help=quick_help)
    @click.option("--tiny", is_flag=True, help="Seconds; for tests only (numbers mean little).")
    @click.option("--out", type=click.Path(file_okay=False), default=str(RESULTS), show_default=True)
    @click.option("--data-root", type=click.Path(file_okay=False), default=None)
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option("--threads", type=int, default=None, help="torch CPU threads.")
    def main(quick, tiny, out, data_root, seed, threads):
        mode = "tiny" if tiny else "quick" if quick else "full"
        try:
            set_threads(threads)
            result = run(mode, data_root, seed)
        except ExperimentError as exc:
            raise click.ClickException(str(exc)) from None
        result["environment"] = environment()
        paths = write_outputs(out, f"{name}_{mode}", result, plot(result))
        click.echo(f"wrote {paths['json']} and {paths['png']}")

    return main
