"""The training loop: Adam on cross-entropy over GroupSum logits, per-epoch evaluation of the
continuous and the discretized model, checkpoints that resume exactly, and the run's outputs.

Batch order is a function of (seed, epoch) only, so a run resumed from any checkpoint (taken at an
epoch end or on Ctrl-C mid-epoch) replays the same batches as an uninterrupted run and produces
the same netlist (on the same machine and thread count).
"""
from __future__ import annotations

import math
import signal
import threading
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lgn_hw.datasets import IMAGE_SHAPES

from . import outputs
from .augment import AugmentError, ShiftAugment
from .config import ConfigError, TrainConfig
from .data import EncodedData
from .discretize import discretize, gate_kinds
from .model import LogicNet


class TrainingError(Exception):
    """Training failed (diverged, interrupted, checkpoint mismatch); the message is one line."""


def resolve_device(name: str) -> torch.device:
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available")
        return torch.device("cuda")
    return torch.device("cpu")


def build_model(cfg: TrainConfig, n_inputs: int, classes: int) -> LogicNet:
    if cfg.width[-1] % classes:
        raise ConfigError(f"last layer width {cfg.width[-1]} is not divisible by the number of "
                          f"classes ({classes}) of {cfg.dataset}")
    return LogicNet(n_inputs, cfg.width, cfg.fan_in, classes, param=cfg.param,
                    estimator=cfg.estimator, init=cfg.init, tau=cfg.tau, seed=cfg.seed,
                    connections=cfg.connections, candidates=cfg.candidates, window=cfg.window,
                    first_layer=cfg.first_layer, patch_window=cfg.patch_window,
                    image_shape=IMAGE_SHAPES.get(cfg.dataset))


def learning_rate(cfg: TrainConfig, step: int, total: int) -> float:
    """The learning rate of optimiser step ``step`` (0-based) of ``total``."""
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * step / max(1, total)))
    return cfg.lr


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The sample order of one epoch: a permutation determined by (seed, epoch) alone."""
    s = int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0] >> 1)
    return torch.randperm(n, generator=torch.Generator().manual_seed(s))


@torch.no_grad()
def accuracy_continuous(model: LogicNet, bits, y, device, batch: int = 2048) -> float:
    was = model.training
    model.train()  # relaxed gates
    correct = 0
    for s in range(0, len(y), batch):
        logits = model(bits[s:s + batch].to(device))
        correct += int((logits.argmax(1).cpu() == y[s:s + batch]).sum())
    model.train(was)
    return correct / max(1, len(y))


def netlist_meta(cfg: TrainConfig, data: EncodedData, record: dict | None) -> dict:
    meta = {"producer": "lgn-hw train", "dataset": data.name, "config": cfg.to_dict(),
            "n_test": int(len(data.y_test))}
    if record:
        meta.update({k: record[k] for k in ("test_acc_discrete", "test_acc_continuous",
                                             "discretization_gap", "epoch", "step") if k in record})
    return meta


def evaluate(model: LogicNet, cfg: TrainConfig, data: EncodedData, device) -> tuple:
    """(record of test accuracies, discretized netlist)."""
    acc_c = accuracy_continuous(model, data.bits_test, data.y_test, device)
    net = discretize(model, data.encoding, netlist_meta(cfg, data, None))
    _, pred = net.evaluate(data.bits_test.numpy())
    acc_d = float((pred == data.y_test.numpy()).mean()) if len(pred) else 0.0
    rec = {"test_acc_continuous": acc_c, "test_acc_discrete": acc_d,
           "discretization_gap": acc_c - acc_d}
    net.meta.update(netlist_meta(cfg, data, rec))
    return rec, net


class _StopFlag:
    """Turns Ctrl-C into a flag checked between optimiser steps, so that a checkpoint taken on
    interruption never holds a half-applied step."""

    def __init__(self):
        self.requested = False
        self._old = None
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame):
        if self.requested:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.requested = True

    def restore(self):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None


def train(cfg: TrainConfig, data: EncodedData, out: str | Path, *, resume: bool = False,
          progress: bool = True, step_hook=None) -> dict:
    """Train, writing every output to ``out``; returns the final metrics dict.

    ``step_hook(step)`` is called after each optimiser step (tests use it to interrupt a run).
    """
    out = Path(out)
    device = resolve_device(cfg.device)
    model = build_model(cfg, data.n_inputs, data.n_classes)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    n = len(data.y_train)
    spe = math.ceil(n / cfg.batch_size)
    total = cfg.steps if cfg.steps is not None else cfg.epochs * spe
    step, history, run = 0, [], {"loss_sum": 0.0, "loss_n": 0, "grad_sq": None, "train_time": 0.0,
                                 "samples": 0}
    if cfg.init_from and not resume:
        src = Path(cfg.init_from)
        if not src.is_file():
            raise TrainingError(f"--init-from: no checkpoint at {src}")
        try:
            state = outputs.load_checkpoint(src)["model"]
            model.load_state_dict(state)
        except (KeyError, RuntimeError, OSError, ValueError) as exc:
            # torch's message starts with a header line ending in ':'; the first detail says what differs
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()] or [type(exc).__name__]
            why = next((ln for ln in lines if not ln.endswith(":")), lines[0])
            raise TrainingError(f"--init-from {src}: not a checkpoint of this architecture "
                                f"({why[:200]})") from None
    if resume:
        ck_path = out / outputs.CHECKPOINT
        if not ck_path.exists():
            raise TrainingError(f"--resume: no checkpoint at {ck_path}")
        ck = outputs.load_checkpoint(ck_path)
        old = {k: v for k, v in TrainConfig.from_dict(ck["config"]).to_dict().items()  # defaults for new keys
               if k not in ("epochs", "steps", "device")}
        new = {k: v for k, v in cfg.to_dict().items() if k not in ("epochs", "steps", "device")}
        if old != new:
            diff = sorted(k for k in new if old.get(k) != new[k])
            raise TrainingError(f"--resume: {ck_path} was trained with different settings "
                                f"({', '.join(diff)})")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["rng_torch"])
        step, history, run = ck["step"], ck["history"], ck["run"]
    model.to(device)
    for state in opt.state.values():
        for k, v in state.items():
            if torch.is_tensor(v) and k != "step":
                state[k] = v.to(device)
    out.mkdir(parents=True, exist_ok=True)
    outputs.write_json(out / outputs.CONFIG, cfg.to_dict())

    wall_base, session_t0 = run.get("wall", 0.0), time.perf_counter()

    def wall() -> float:
        return wall_base + time.perf_counter() - session_t0

    def checkpoint():
        run["wall"] = wall()
        outputs.save_checkpoint(out / outputs.CHECKPOINT, {
            "config": cfg.to_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(),
            "rng_torch": torch.get_rng_state(), "step": step, "epoch": step / spe,
            "history": history, "run": run})

    bar = tqdm(total=total, initial=step, disable=not progress, unit="step", mininterval=0.5,
               desc=f"train {cfg.dataset}")
    bits_train, y_train = data.bits_train, data.y_train
    augment = None
    if cfg.augment_shift:
        try:
            augment = ShiftAugment(data.name, data.encoding, cfg.augment_shift, cfg.seed)
        except AugmentError as exc:
            raise TrainingError(str(exc)) from None
    order, order_epoch = None, -1
    model.train()
    stop = _StopFlag()
    try:
        while step < total:
            if stop.requested:
                raise KeyboardInterrupt
            epoch, i = divmod(step, spe)
            if order_epoch != epoch:
                order, order_epoch = epoch_order(cfg.seed, epoch, n), epoch
            t0 = time.perf_counter()
            for group in opt.param_groups:  # a function of the step alone: resumes exactly
                group["lr"] = learning_rate(cfg, step, total)
            idx = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            ste = cfg.hard_finetune > 0 and step >= total - round(cfg.hard_finetune * total)
            for layer in model.layers:
                layer.straight_through = ste
            x = bits_train[idx]
            if augment is not None:
                x = augment(x, step)
            x = x.to(device)
            y = y_train[idx].to(device)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            lv = float(loss.detach())
            if not math.isfinite(lv):
                raise TrainingError(f"training diverged: loss is {lv} at step {step} (epoch {epoch + 1}); "
                                    f"try a lower --lr (last good checkpoint: {out / outputs.CHECKPOINT})")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for layer in model.layers:
                layer.straight_through = False
            if cfg.grad_norms:
                sq = [float(sum((p.grad.double() ** 2).sum() for p in layer.parameters()))
                      for layer in model.layers]
                run["grad_sq"] = sq if run["grad_sq"] is None else [a + b for a, b in zip(run["grad_sq"], sq)]
            opt.step()
            run["train_time"] += time.perf_counter() - t0
            run["samples"] += len(idx)
            run["loss_sum"] += lv * len(idx)
            run["loss_n"] += len(idx)
            step += 1
            bar.update(1)
            if step_hook is not None:
                step_hook(step)
            if step % spe == 0 or step == total:
                rec, _ = evaluate(model, cfg, data, device)
                rec = {"epoch": math.ceil(step / spe), "step": step,
                       "train_loss": run["loss_sum"] / max(1, run["loss_n"]), **rec,
                       "train_time_s": run["train_time"], "wall_time_s": wall(),
                       "samples_per_s": run["samples"] / max(run["train_time"], 1e-9)}
                if run["grad_sq"] is not None:
                    steps_in_epoch = step - (math.ceil(step / spe) - 1) * spe
                    rec["grad_norm_per_layer"] = [math.sqrt(s / steps_in_epoch) for s in run["grad_sq"]]
                history.append(rec)
                run.update(loss_sum=0.0, loss_n=0, grad_sq=None)
                bar.set_postfix(loss=f"{rec['train_loss']:.3f}", acc=f"{100 * rec['test_acc_discrete']:.2f}%")
                checkpoint()
    except KeyboardInterrupt:
        checkpoint()
        raise TrainingError(f"interrupted at step {step}/{total}; checkpoint saved, continue with "
                            f"--resume --out {out}") from None
    finally:
        stop.restore()
        bar.close()
    run["wall"] = wall()
    return finish(model, cfg, data, device, out, history, run)


def finish(model, cfg, data, device, out: Path, history: list, run: dict) -> dict:
    rec, net = evaluate(model, cfg, data, device)
    counts_model = model.counts(data.bits_test.to(device)).cpu().numpy()
    counts_net, _ = net.evaluate(data.bits_test.numpy())
    final = {**rec, "epochs": history[-1]["epoch"] if history else 0,
             "steps": history[-1]["step"] if history else 0,
             "train_loss": history[-1]["train_loss"] if history else None,
             "train_time_s": run["train_time"], "wall_time_s": run["wall"],
             "samples_per_s": run["samples"] / max(run["train_time"], 1e-9),
             "threads": torch.get_num_threads(), "device": str(device),
             "gates": int(model.n_gates), "gates_per_layer": model.widths,
             "fan_in_per_layer": [layer.fan_in for layer in model.layers],
             "parameters": int(sum(p.numel() for p in model.parameters())),
             "n_inputs": data.n_inputs, "classes": data.n_classes,
             "gate_kinds": gate_kinds(net),
             "torch_eval_matches_netlist": bool((counts_model == counts_net).all())}
    net.meta.update({"final": {k: final[k] for k in ("test_acc_discrete", "test_acc_continuous",
                                                      "discretization_gap", "gates")}})
    net.save(out / outputs.NETLIST)
    outputs.write_json(out / outputs.METRICS, {"config": cfg.to_dict(), "epochs": history, "final": final})
    if history:
        outputs.plot_curves(out / outputs.CURVES, history,
                            f"{cfg.dataset}: {'x'.join(map(str, cfg.width))} gates, fan-in "
                            f"{','.join(map(str, sorted(set(cfg.fan_in))))}, {cfg.param}")
    return final
