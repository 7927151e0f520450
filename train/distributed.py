"""Data-parallel training over ``torch.distributed``: what ``torchrun ... -m train`` adds.

Owns the launch read from the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``/``MASTER_PORT``, as torchrun sets them), the process group (``gloo`` on the CPU,
``nccl`` on GPUs with one GPU per ``LOCAL_RANK``, a timeout on every collective), how a global batch
is split across the ranks, the per-step gradient all-reduce, exact integer reductions for
evaluation, work done by rank 0 alone, and the consistency checks between ranks. The training loop
(``train/loop.py``) calls it; with one process (``Ranks()``) every operation is a no-op.

Why an explicit all-reduce and not ``DistributedDataParallel``: both work with the layers' custom
autograd functions (the fused C kernel and the CUDA kernels only feed parameter gradients like any
op), but the loop needs three things DDP does not give. (1) The gradient of the *global* mean loss
when a batch does not split evenly: each rank's loss is the sum over its samples divided by the
global batch, and gradients are summed, where DDP divides by the number of ranks. (2) The loss and
the Ctrl-C flag travel in the same all-reduce, so every rank sees the same divergence and stops at
the same step. (3) DDP broadcasts rank 0's weights on construction, which would hide the start-up
mismatch this module reports. A logic network's gradients are a few tensors (one per layer, well
under DDP's 25 MiB bucket for most models), so DDP would also reduce them in one bucket after the
backward pass: overlapping communication with computation gains little here.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import re

import torch

#: Seconds a rank waits for the others in a collective of the training steps before it gives up
#: (it must cover rank 0's checkpoint, netlist and plot writes, which the others wait for).
DEFAULT_TIMEOUT_S = 300.0
#: Seconds the ranks may wait for each other until the first step (ranks start, import, load and
#: encode the data at different speeds, on other machines); at least --dist-timeout.
START_TIMEOUT_S = 900.0
#: The longest --dist-timeout (a week; the process group's timeout must fit a timedelta and the
#: backends' millisecond counters).
MAX_TIMEOUT_S = 7 * 86400.0
#: Config keys that may differ between ranks: where files are, not what they hold (the data's
#: content is compared, and --init-from / --resume files are read by rank 0 and broadcast).
LOCAL_KEYS = ("data_root", "init_from")


class DistributedError(Exception):
    """A rank died, hung or disagrees with the others; the message is one line."""


def _digest(value) -> int:
    """A 63-bit fingerprint of a tensor (dtype, shape and bytes) or of a JSON-able value."""
    h = hashlib.blake2b(digest_size=8)
    if torch.is_tensor(value):
        t = value.detach().cpu().contiguous().reshape(-1)
        h.update(f"{t.dtype}{tuple(value.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    else:
        h.update(json.dumps(value, sort_keys=True, default=str).encode())
    return int.from_bytes(h.digest(), "little") >> 1


def _reason(exc: BaseException) -> str:
    """The gist of a backend error: gloo's text without its source path and advice."""
    text = " ".join(str(exc).split())
    text = re.sub(r"^\[[^\]]*\.(?:cc|cpp|h)(?::\d+)?\]\s*", "", text)
    text = text.split(". This is typically")[0]
    return (text or type(exc).__name__)[:200]


class Ranks:
    """The ranks of a run and the collectives the training loop needs; ``Ranks()`` is one process."""

    def __init__(self, rank: int = 0, world_size: int = 1, local_rank: int = 0, device=None,
                 backend: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.rank, self.world_size, self.local_rank = int(rank), int(world_size), int(local_rank)
        self.device, self.backend, self.timeout_s = device, backend, float(timeout_s)
        self.group = None  # the default group (start-up timeout) until begin_steps()
        self.waiting_s = max(self.timeout_s, START_TIMEOUT_S)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only one that writes outputs and prints progress."""
        return self.rank == 0

    def describe(self) -> dict:
        """What config.json and metrics.json record about the launch."""
        return {"world_size": self.world_size, "backend": self.backend}

    def shard(self, n: int) -> slice:
        """This rank's contiguous part of ``n`` samples: sizes differ by at most one (the first
        ``n % world_size`` ranks take one more); a rank gets none when ``n < world_size``."""
        q, r = divmod(int(n), self.world_size)
        start = self.rank * q + min(self.rank, r)
        return slice(start, start + q + (1 if self.rank < r else 0))

    # -- collectives ------------------------------------------------------------------------
    def _call(self, what: str, op, *args, **kwargs):
        import torch.distributed as dist

        try:
            return op(*args, group=self.group, **kwargs)
        except (RuntimeError, dist.DistError) as exc:
            limit = (f"--dist-timeout {self.timeout_s:g} s" if self.group is not None
                     else f"{self.waiting_s:g} s at start-up")
            raise DistributedError(
                f"rank {self.rank} of {self.world_size}: {what} failed ({_reason(exc)}): another "
                f"rank died, hung or was stopped (a silent rank is given up on after {limit})") from None

    def begin_steps(self) -> None:
        """From here on (the ranks are in step) a silent rank is given up on after
        ``timeout_s``, not the start-up allowance: collectives move to a group with that timeout."""
        if self.enabled and self.group is None:
            import torch.distributed as dist

            try:
                self.group = dist.new_group(timeout=datetime.timedelta(seconds=self.timeout_s))
            except (RuntimeError, dist.DistError) as exc:
                raise DistributedError(f"rank {self.rank} of {self.world_size}: forming the "
                                       f"training group failed ({_reason(exc)})") from None

    def _tensor(self, values, dtype=torch.int64) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype, device=self.device)

    def reduce_gradients(self, params, loss_sum: torch.Tensor, stop: bool, what: str):
        """Sum every rank's gradients in place, with its loss and stop flag, in one all-reduce.

        ``loss_sum`` is this rank's summed loss divided by the *global* batch size, so the sums
        are the gradient and value of the global mean loss. Returns (global loss, any rank asked
        to stop). A parameter without a gradient (a rank with no samples) contributes zeros.
        """
        if not self.enabled:
            return float(loss_sum.detach()), bool(stop)
        import torch.distributed as dist

        params = list(params)
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        dtype = grads[0].dtype
        tail = torch.stack([loss_sum.detach().reshape(()).to(dtype),
                            torch.tensor(float(stop), dtype=dtype, device=loss_sum.device)])
        flat = torch.cat([g.reshape(-1).to(dtype) for g in grads] + [tail.to(grads[0].device)])
        self._call(what, dist.all_reduce, flat)
        offset = 0
        for p, g in zip(params, grads):
            part = flat[offset:offset + g.numel()].view_as(p).to(p.dtype)
            if p.grad is None:
                p.grad = part.clone()
            else:
                p.grad.copy_(part)
            offset += g.numel()
        loss, flag = flat[-2:].tolist()
        return loss, flag > 0

    def sum_counts(self, counts, what: str) -> list:
        """Integer counts summed over the ranks (exact: evaluation reduces correct counts)."""
        if not self.enabled:
            return [int(c) for c in counts]
        import torch.distributed as dist

        t = self._tensor([int(c) for c in counts])
        self._call(what, dist.all_reduce, t)
        return [int(v) for v in t.tolist()]

    def _gather(self, values: list, what: str) -> list:
        import torch.distributed as dist

        t = self._tensor(values)
        out = [torch.empty_like(t) for _ in range(self.world_size)]
        self._call(what, dist.all_gather, out, t)
        return [o.tolist() for o in out]

    def check_same(self, what: str, items: dict) -> None:
        """Every rank must hold the same ``items`` (name -> tensor or JSON-able value): compare
        fingerprints, and raise the same one-line error on every rank naming what differs."""
        if not self.enabled:
            return
        names = sorted(items)
        heads = self._gather([len(names), _digest(names)], f"comparing {what}")
        if any(h != heads[0] for h in heads):
            bad = [r for r, h in enumerate(heads) if h != heads[0]]
            raise DistributedError(f"rank {bad[0]} of {self.world_size} holds a different set of "
                                   f"{what} than rank 0 (different lgn-hw versions?)")
        rows = self._gather([_digest(items[k]) for k in names], f"comparing {what}")
        for r, row in enumerate(rows):
            diff = [names[j] for j, v in enumerate(row) if v != rows[0][j]]
            if diff:
                more = f" and {len(diff) - 3} more" if len(diff) > 3 else ""
                raise DistributedError(
                    f"rank {r} of {self.world_size} differs from rank 0 in {what} "
                    f"({', '.join(diff[:3])}{more}): every rank must be started with the same "
                    f"options, data and code (torchrun gives all of them one command line)")

    def from_main(self, fn, what: str):
        """Run ``fn()`` on rank 0 only and tell the others whether it worked; ``fn`` may return
        bytes (or None), which every rank then receives. Rank 0 re-raises its own error; the
        other ranks raise a DistributedError pointing at rank 0's message."""
        if not self.enabled:
            return fn()
        import torch.distributed as dist

        payload, error = None, None
        if self.is_main:
            try:
                payload = fn()
            except Exception as exc:  # reported on every rank, raised here after telling them
                error = exc
        n = -1 if error is not None else (-2 if payload is None else len(payload))
        size = self._tensor([n])
        try:
            self._call(what, dist.broadcast, size, src=0)
        except DistributedError:
            if error is not None:
                raise error from None
            raise
        if error is not None:
            raise error
        n = int(size.item())
        if n == -1:
            raise DistributedError(f"rank {self.rank} of {self.world_size}: rank 0 failed "
                                   f"{what} (its message says why)")
        if n == -2:
            return None
        if n == 0:
            return b""
        buf = (torch.frombuffer(bytearray(payload), dtype=torch.uint8) if self.is_main
               else torch.empty(n, dtype=torch.uint8))
        buf = buf.to(self.device)
        self._call(what, dist.broadcast, buf, src=0)
        return bytes(buf.cpu().numpy().tobytes())

    def main_first(self, fn, what: str):
        """``fn()`` on rank 0 first, then on the other ranks (e.g. a download into a shared
        folder); returns each rank's own result."""
        if not self.enabled:
            return fn()
        result = []
        self.from_main(lambda: result.append(fn()), what)
        return result[0] if result else fn()

    def close(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    def __enter__(self) -> "Ranks":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _env_int(name: str, default=None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        if default is None:
            raise DistributedError(f"${name} is not set: start several ranks with torchrun "
                                   f"(docs/training.md)")
        return default
    try:
        return int(raw)
    except ValueError:
        raise DistributedError(f"${name} must be an integer, got {raw!r}") from None


def from_env(device: torch.device, timeout_s: float | None = None) -> Ranks:
    """The ranks of this launch: one process unless ``WORLD_SIZE`` > 1, else join the process
    group (``gloo`` for a CPU ``device``; ``nccl`` for CUDA, this rank on GPU ``LOCAL_RANK``)."""
    timeout_s = DEFAULT_TIMEOUT_S if timeout_s is None else float(timeout_s)
    if not (math.isfinite(timeout_s) and timeout_s > 0):
        raise DistributedError(f"--dist-timeout must be a positive number of seconds, got {timeout_s:g}")
    if timeout_s > MAX_TIMEOUT_S:
        raise DistributedError(f"--dist-timeout must be at most {MAX_TIMEOUT_S:g} s (7 days), "
                               f"got {timeout_s:g}")
    world = _env_int("WORLD_SIZE", 1)
    if world < 1:
        raise DistributedError(f"$WORLD_SIZE must be >= 1, got {world}")
    if world == 1:
        return Ranks(timeout_s=timeout_s)
    rank = _env_int("RANK")
    local = _env_int("LOCAL_RANK", rank)
    if not 0 <= rank < world:
        raise DistributedError(f"$RANK {rank} is outside 0..{world - 1} ($WORLD_SIZE {world})")
    missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(k)]
    if missing:
        raise DistributedError(f"$WORLD_SIZE is {world} but ${' and $'.join(missing)} not set: "
                               f"start several ranks with torchrun (docs/training.md)")
    import torch.distributed as dist

    if device.type == "cuda":
        count = torch.cuda.device_count()
        if not 0 <= local < count:
            raise DistributedError(f"rank {rank}: $LOCAL_RANK {local} needs CUDA device {local}, "
                                   f"this node has {count}: one GPU per rank (--nproc-per-node "
                                   f"{count} at most), or --device cpu")
        device, backend = torch.device("cuda", local), "nccl"
        torch.cuda.set_device(device)
    else:
        device, backend = torch.device("cpu"), "gloo"
    where = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
    waiting = max(timeout_s, START_TIMEOUT_S)
    try:
        dist.init_process_group(backend, rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=waiting))
    except (RuntimeError, ValueError, dist.DistError) as exc:
        raise DistributedError(f"rank {rank} of {world}: could not join the other ranks at "
                               f"{where} within {waiting:g} s ({_reason(exc)})") from None
    return Ranks(rank, world, local, device, backend, timeout_s)


def state_items(prefix: str, state: dict) -> dict:
    """Fingerprintable items of a state dict (tensors as they are, the rest as JSON)."""
    return {f"{prefix}.{k}": v if torch.is_tensor(v) else json.dumps(v, sort_keys=True, default=str)
            for k, v in state.items()}


def start_items(cfg, data, model, opt, step: int) -> dict:
    """What every rank must agree on before the first step: the settings (but for file
    locations), the encoded data, the model's parameters and connections, the optimizer state."""
    items = {f"option {k}": v for k, v in cfg.to_dict().items() if k not in LOCAL_KEYS}
    for name in ("bits_train", "y_train", "bits_valid", "y_valid", "bits_test", "y_test"):
        t = getattr(data, name)
        if t is not None:
            items[f"data {name}"] = t
    items["data encoding"] = data.encoding.to_dict()
    items.update(state_items("model", model.state_dict()))
    opt_state = opt.state_dict()
    for i, st in opt_state["state"].items():
        items.update(state_items(f"optimizer.{i}", st))
    items["optimizer groups"] = opt_state["param_groups"]
    items["step"] = int(step)
    return items
