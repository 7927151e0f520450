"""The training loop: Adam on cross-entropy over GroupSum logits, per-epoch evaluation of the
continuous and the discretized model, checkpoints that resume exactly, and the run's outputs.

Batch order is a function of (seed, epoch) only, so a run resumed from any checkpoint (taken at an
epoch end or on Ctrl-C mid-epoch) replays the same batches as an uninterrupted run and produces
the same netlist (on the same machine and thread count).

Under torchrun (train/distributed.py) every rank runs this loop on its shard of each global batch;
gradients, losses and evaluation counts are summed across the ranks, and rank 0 alone writes.
"""
from __future__ import annotations

import contextlib
import io
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
from .limits import check_training
from .data import EncodedData
from .discretize import discretize, gate_kinds
from .distributed import DistributedError, Ranks, start_items, state_items
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
                    image_shape=IMAGE_SHAPES.get(cfg.dataset), mapping_gradient=cfg.mapping_gradient)


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
def correct_continuous(model: LogicNet, bits, y, device, batch: int = 2048) -> int:
    """How many of ``bits`` the relaxed model classifies as ``y``."""
    was = model.training
    model.train()  # relaxed gates
    correct = 0
    for s in range(0, len(y), batch):
        logits = model(bits[s:s + batch].to(device))
        correct += int((logits.argmax(1).cpu() == y[s:s + batch]).sum())
    model.train(was)
    return correct


def netlist_meta(cfg: TrainConfig, data: EncodedData, record: dict | None) -> dict:
    meta = {"producer": "lgn-hw train", "dataset": dict(data.source) if data.source else data.name,
            "class_names": list(data.class_names), "config": cfg.to_dict(),
            "n_test": int(len(data.y_test)), "valid": dict(data.valid)}
    if record:
        meta.update({k: record[k] for k in ("test_acc_discrete", "test_acc_continuous",
                                             "discretization_gap", "valid_acc_discrete",
                                             "valid_acc_continuous", "epoch", "step",
                                             "selected_epoch") if k in record})
    return meta


#: The record keys of a split's accuracies: (continuous, discretized, gap).
SPLIT_KEYS = {"valid": ("valid_acc_continuous", "valid_acc_discrete", "valid_discretization_gap"),
              "test": ("test_acc_continuous", "test_acc_discrete", "discretization_gap")}


def evaluate(model: LogicNet, cfg: TrainConfig, data: EncodedData, device,
             split: str = "valid", ranks: Ranks | None = None) -> tuple:
    """(record of ``split``'s accuracies, discretized netlist). Training evaluates the validation
    split every epoch; the test split is evaluated once, for the model the run hands on. With
    several ranks each evaluates its shard and the correct counts are summed (exact)."""
    ranks = ranks or Ranks()
    bits, y = (data.bits_valid, data.y_valid) if split == "valid" else (data.bits_test, data.y_test)
    part = ranks.shard(len(y))
    bits, n = bits[part], len(y)
    correct_c = correct_continuous(model, bits, y[part], device)
    net = discretize(model, data.encoding, netlist_meta(cfg, data, None))
    _, pred = net.evaluate(bits.numpy())
    correct_c, correct_d = ranks.sum_counts([correct_c, int((pred == y[part].numpy()).sum())],
                                            f"the {split} evaluation")
    acc_c, acc_d = correct_c / max(1, n), (correct_d / n if n else 0.0)
    kc, kd, kg = SPLIT_KEYS[split]
    return {kc: acc_c, kd: acc_d, kg: acc_c - acc_d}, net


def has_valid(data: EncodedData) -> bool:
    return data.y_valid is not None and len(data.y_valid) > 0


class _StopFlag:
    """Turns Ctrl-C into a flag checked between optimiser steps, so that a checkpoint taken on
    interruption never holds a half-applied step. With several ranks SIGTERM (what torchrun sends
    when another rank failed) sets it too, and a second signal does not stop at once: the ranks
    agree on the flag in the next all-reduce and stop at the same step."""

    def __init__(self, distributed: bool = False):
        self.requested, self.distributed = False, distributed
        self._old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM) if distributed else (signal.SIGINT,):
                self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        if self.requested and not self.distributed:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.requested = True

    def restore(self):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}


def _read_shared(ranks: Ranks, path: Path, option: str, *, resume: bool = False) -> dict:
    """A checkpoint read by rank 0 and parsed by every rank from the same bytes (so that the other
    ranks, on other machines, need no copy of it); never executes code from the file."""
    def read():
        if not path.exists():
            raise TrainingError(f"{option}: no checkpoint at {path}")
        try:
            return outputs.read_checkpoint_bytes(path)
        except outputs.CheckpointError as exc:
            raise TrainingError(f"{option}{':' if option == '--resume' else ''} {exc}") from None

    data = ranks.from_main(read, f"reading {option} {path}")
    try:
        return outputs.load_checkpoint(io.BytesIO(data), resume=resume, name=path)
    except outputs.CheckpointError as exc:
        raise TrainingError(f"{option}{':' if option == '--resume' else ''} {exc}") from None


def train(cfg: TrainConfig, data: EncodedData, out: str | Path, *, resume: bool = False,
          progress: bool = True, step_hook=None, ranks: Ranks | None = None) -> dict:
    """Train, writing every output to ``out`` (locked for the run by rank 0; train/outputs.py says
    how the folder stays consistent); returns the final metrics dict.

    ``step_hook(step)`` is called after each optimiser step (tests use it to interrupt a run).
    ``ranks`` (train.distributed.from_env) runs this process as one rank of a data-parallel run.
    """
    out, ranks = Path(out), ranks or Ranks()
    try:
        with contextlib.ExitStack() as stack:
            def lock():
                stack.enter_context(outputs.locked(out))

            ranks.from_main(lock, f"locking {out}")
            return _train(cfg, data, out, resume, progress, step_hook, ranks)
    except outputs.OutputError as exc:
        raise TrainingError(str(exc)) from None


def _resume_state(cfg: TrainConfig, out: Path, model, opt, ranks: Ranks) -> dict:
    """Load ``out``'s checkpoint into the model and optimiser; its step, history, run and best."""
    ck_path = out / outputs.CHECKPOINT
    ck = _read_shared(ranks, ck_path, "--resume", resume=True)
    old = {k: v for k, v in TrainConfig.from_dict(ck["config"]).to_dict().items()  # defaults for new keys
           if k not in ("epochs", "steps", "device")}
    new = {k: v for k, v in cfg.to_dict().items() if k not in ("epochs", "steps", "device")}
    if old != new:
        diff = sorted(k for k in new if old.get(k) != new[k])
        raise TrainingError(f"--resume: {ck_path} was trained with different settings "
                            f"({', '.join(diff)})")
    try:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["rng_torch"])
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as exc:
        why = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise TrainingError(f"--resume: {ck_path} does not fit this model ({why[:160]})") from None
    return ck


def _train(cfg: TrainConfig, data: EncodedData, out: Path, resume: bool, progress: bool,
           step_hook, ranks: Ranks) -> dict:
    split_fraction = data.valid.get("fraction", 0.0)
    if split_fraction != cfg.valid_fraction:
        raise TrainingError(f"the data holds out a validation fraction of {split_fraction}, the "
                            f"configuration asks for {cfg.valid_fraction} (load it with "
                            f"train.data.load_for(cfg))")
    device = ranks.device if ranks.enabled else resolve_device(cfg.device)
    check_training(cfg, data.n_inputs, device)
    model = build_model(cfg, data.n_inputs, data.n_classes)
    # fused: one kernel over all parameters (3.4x faster per step for a learnable mapping
    # of 7 M scores on one thread); supported on CPU and CUDA
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=0.0, fused=True)
    n = len(data.y_train)
    spe = math.ceil(n / cfg.batch_size)
    total = cfg.steps if cfg.steps is not None else cfg.epochs * spe
    step, history, run = 0, [], {"loss_sum": 0.0, "loss_n": 0, "grad_sq": None, "train_time": 0.0,
                                 "samples": 0}
    best = None  # --select best: {"epoch", "step", "valid_acc_discrete", "model"} of the best epoch
    if cfg.init_from and not resume:
        src = Path(cfg.init_from)
        try:
            state = _read_shared(ranks, src, "--init-from")["model"]
            model.load_state_dict(state)
        except (KeyError, RuntimeError, OSError, ValueError) as exc:
            # torch's message starts with a header line ending in ':'; the first detail says what differs
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()] or [type(exc).__name__]
            why = next((ln for ln in lines if not ln.endswith(":")), lines[0])
            raise TrainingError(f"--init-from {src}: not a checkpoint of this architecture "
                                f"({why[:200]})") from None
    if resume:
        ck = _resume_state(cfg, out, model, opt, ranks)
        step, history, run = ck["step"], ck["history"], ck["run"]
        best = ck.get("best")
        if step > total:
            raise TrainingError(f"--resume: {out / outputs.CHECKPOINT} is at step {step}, past the "
                                f"{total} steps asked for (--epochs and --steps may only grow)")
    ranks.check_same("the start-up state", start_items(cfg, data, model, opt, step))
    ranks.begin_steps()  # in step from here: a silent rank is given up on after --dist-timeout
    model.to(device)
    for state in opt.state.values():
        for k, v in state.items():
            if torch.is_tensor(v) and k != "step":
                state[k] = v.to(device)

    def prepare():
        outputs.begin_run(out, resume)
        outputs.write_json(out / outputs.CONFIG, {**cfg.to_dict(), **ranks.describe()})

    ranks.from_main(prepare, f"preparing {out}")
    saved = step if resume else None  # the step of the checkpoint on disk

    wall_base, session_t0 = run.get("wall", 0.0), time.perf_counter()

    def wall() -> float:
        return wall_base + time.perf_counter() - session_t0

    def checkpoint():
        nonlocal saved
        saved = step
        if not ranks.is_main:
            return
        run["wall"] = wall()
        outputs.save_checkpoint(out / outputs.CHECKPOINT, {
            "config": cfg.to_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(),
            "rng_torch": torch.get_rng_state(), "step": step, "epoch": step / spe,
            "history": history, "run": run, "best": best})

    bar = tqdm(total=total, initial=step, disable=not (progress and ranks.is_main), unit="step",
               mininterval=0.5,
               desc=f"train {cfg.dataset}")
    bits_train, y_train = data.bits_train, data.y_train
    augment = None
    if cfg.augment_shift:
        try:
            augment = ShiftAugment(data.name, data.encoding, cfg.augment_shift, cfg.seed)
        except AugmentError as exc:
            raise TrainingError(str(exc)) from None
    budget = None
    if cfg.encoder_budget is not None:  # train/mapping.py: cut the costly input bits to a budget
        from .mapping import EncoderBudget
        try:
            budget = EncoderBudget(model.layers[0], data.encoding.free_bits(), cfg.encoder_budget,
                                   total, spe)
        except ValueError as exc:
            raise TrainingError(str(exc)) from None
    order, order_epoch = None, -1
    model.train()
    stop, agreed = _StopFlag(ranks.enabled), False
    try:
        while step < total:
            if agreed or (stop.requested and not ranks.enabled):
                raise KeyboardInterrupt
            epoch, i = divmod(step, spe)
            if order_epoch != epoch:
                order, order_epoch = epoch_order(cfg.seed, epoch, n), epoch
            t0 = time.perf_counter()
            for group in opt.param_groups:  # a function of the step alone: resumes exactly
                group["lr"] = learning_rate(cfg, step, total)
            idx = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]  # the global batch
            mine = ranks.shard(len(idx))  # this rank's part of it
            ste = cfg.hard_finetune > 0 and step >= total - round(cfg.hard_finetune * total)
            for layer in model.layers:
                layer.straight_through = ste
            opt.zero_grad(set_to_none=True)
            loss = torch.zeros((), device=device)
            if mine.stop > mine.start:  # a rank may have no samples of a short last batch
                x = bits_train[idx[mine]]
                if augment is not None:  # the global batch's shifts, this rank's part of them
                    x = augment.apply(x, augment.shifts(step, len(idx))[mine])
                # this rank's summed loss / the global batch: the ranks' gradients add up to the
                # gradient of the global mean loss, however unevenly the batch splits
                loss = torch.nn.functional.cross_entropy(
                    model(x.to(device)), y_train[idx[mine]].to(device), reduction="sum") / len(idx)
                loss.backward()
            for layer in model.layers:
                layer.straight_through = False
            try:
                lv, agreed = ranks.reduce_gradients(model.parameters(), loss, stop.requested,
                                                    f"the gradient all-reduce of step {step + 1}")
            except DistributedError as exc:  # parameters and optimizer still hold step `step`
                checkpoint()
                saving = "the checkpoint of step {} saved" if ranks.is_main else \
                    "rank 0, if it still runs, saves the checkpoint of step {}"
                raise TrainingError(f"{exc}; {saving.format(step)}: continue with --resume --out "
                                    f"{out} (any number of ranks)") from None
            if not math.isfinite(lv):
                raise TrainingError(f"training diverged: loss is {lv} at step {step} (epoch {epoch + 1}); "
                                    f"try a lower --lr (last good checkpoint: {out / outputs.CHECKPOINT})")
            if cfg.grad_norms:
                sq = [float(sum((p.grad.double() ** 2).sum() for p in layer.parameters()))
                      for layer in model.layers]
                run["grad_sq"] = sq if run["grad_sq"] is None else [a + b for a, b in zip(run["grad_sq"], sq)]
            opt.step()
            run["train_time"] += time.perf_counter() - t0
            run["samples"] += len(idx)  # global samples per second
            run["loss_sum"] += lv * len(idx)
            run["loss_n"] += len(idx)
            step += 1
            bar.update(1)
            if step_hook is not None:
                step_hook(step)
            if step % spe == 0 or step == total:
                cut = budget.apply(step) if budget is not None else {}  # the same on every rank
                ranks.check_same(f"the model after step {step}", state_items("model", model.state_dict()))
                rec = evaluate(model, cfg, data, device, ranks=ranks)[0] if has_valid(data) else {}
                rec = {"epoch": math.ceil(step / spe), "step": step,
                       "train_loss": run["loss_sum"] / max(1, run["loss_n"]), **rec, **cut,
                       "train_time_s": run["train_time"], "wall_time_s": wall(),
                       "samples_per_s": run["samples"] / max(run["train_time"], 1e-9),
                       "world_size": ranks.world_size}
                if run["grad_sq"] is not None:
                    steps_in_epoch = step - (math.ceil(step / spe) - 1) * spe
                    rec["grad_norm_per_layer"] = [math.sqrt(s / steps_in_epoch) for s in run["grad_sq"]]
                history.append(rec)
                run.update(loss_sum=0.0, loss_n=0, grad_sq=None)
                within = budget is None or budget.met(step)  # an epoch over the budget is never handed on
                if cfg.select == "best" and within and (
                        best is None or rec["valid_acc_discrete"] > best["valid_acc_discrete"]):
                    best = {"epoch": rec["epoch"], "step": step, "valid_acc_discrete": rec["valid_acc_discrete"],
                            "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
                post = {"loss": f"{rec['train_loss']:.3f}"}
                if "valid_acc_discrete" in rec:
                    post["valid"] = f"{100 * rec['valid_acc_discrete']:.2f}%"
                bar.set_postfix(post)
                checkpoint()
    except KeyboardInterrupt:
        checkpoint()
        raise TrainingError(f"interrupted at step {step}/{total}; checkpoint saved, continue with "
                            f"--resume --out {out}") from None
    except DistributedError as exc:
        kept = f"the checkpoint of step {saved} is intact" if saved is not None else "no checkpoint yet"
        raise TrainingError(f"{exc}; {kept} ({out / outputs.CHECKPOINT})") from None
    finally:
        stop.restore()
        bar.close()
    run["wall"] = wall()
    selected = history[-1]["epoch"] if history else 0
    if best is not None:
        model.load_state_dict(best["model"])
        selected = best["epoch"]
    return finish(model, cfg, data, device, out, history, run, selected, ranks)


def finish(model, cfg, data, device, out: Path, history: list, run: dict, selected: int,
           ranks: Ranks | None = None) -> dict:
    """Evaluate the handed-on model (validation, then the test split, once) and write the netlist,
    metrics and curves (rank 0)."""
    ranks = ranks or Ranks()
    rec = evaluate(model, cfg, data, device, ranks=ranks)[0] if has_valid(data) else {}
    test, net = evaluate(model, cfg, data, device, split="test", ranks=ranks)
    rec = {**test, **rec, "selected_epoch": selected}
    net.meta.update(netlist_meta(cfg, data, rec))
    bits_test = data.bits_test[ranks.shard(len(data.y_test))]
    counts_model = model.counts(bits_test.to(device)).cpu().numpy()
    counts_net, _ = net.evaluate(bits_test.numpy())
    differ = ranks.sum_counts([int((counts_model != counts_net).any(axis=1).sum())],
                              "comparing the model with its netlist")[0]
    final = {**rec, "epochs": history[-1]["epoch"] if history else 0,
             "steps": history[-1]["step"] if history else 0,
             "train_loss": history[-1]["train_loss"] if history else None,
             "train_time_s": run["train_time"], "wall_time_s": run["wall"],
             "samples_per_s": run["samples"] / max(run["train_time"], 1e-9),
             "threads": torch.get_num_threads(), "device": str(device), **ranks.describe(),
             "gates": int(model.n_gates), "gates_per_layer": model.widths,
             "fan_in_per_layer": [layer.fan_in for layer in model.layers],
             "parameters": int(sum(p.numel() for p in model.parameters())),
             "n_inputs": data.n_inputs, "classes": data.n_classes,
             "gate_kinds": gate_kinds(net),
             "torch_eval_matches_netlist": differ == 0,
             "valid": dict(data.valid)}
    net.meta.update({"final": {k: final[k] for k in ("test_acc_discrete", "test_acc_continuous",
                                                      "discretization_gap", "valid_acc_discrete",
                                                      "selected_epoch", "gates") if k in final}})

    def write():
        outputs.write_json(out / outputs.METRICS, {"config": cfg.to_dict(), "epochs": history, "final": final})
        if history:
            outputs.plot_curves(out / outputs.CURVES, history,
                                f"{cfg.dataset}: {'x'.join(map(str, cfg.width))} gates, fan-in "
                                f"{','.join(map(str, sorted(set(cfg.fan_in))))}, {cfg.param}")
        net.save(out / outputs.NETLIST)  # last: it marks the run finished (train/outputs.py)

    ranks.from_main(write, f"writing the outputs to {out}")
    return final
