"""What a training run leaves in its output directory, and how the directory is kept consistent.

Outputs, all written atomically: ``config.json``, ``checkpoint.pt``, ``metrics.json``,
``curves.png`` and, last, ``netlist.json``. The netlist marks a finished run: a run that starts
first removes it and the other results of the previous run (a fresh run also its checkpoint and
config, a resumed one keeps the checkpoint it continues from), and writes it only after everything
else. So a folder holds either a finished run whose files all belong together, or an unfinished
one without ``netlist.json``, which every ``lgn-hw`` command refuses and ``--resume`` continues.

``locked(out)`` holds an exclusive ``flock`` on the folder itself for a whole run: a second
training into the same folder gets a one-line ``OutputError``. The lock belongs to the open
directory, so it dies with its process: a run killed by SIGKILL never leaves a stale lock behind,
and no lock file is left in the folder. While the lock is held, temporary files that a killed
writer left (``.checkpoint.pt.*.tmp``) are removed. A run that fails before writing anything
removes the folder again if it created it. ``flock`` needs a local file system (NFS emulates it
with a POSIX lock, also released on exit).

Checkpoints are loaded without executing code: ``torch.load(weights_only=True)`` from a regular
file of bounded size, which accepts only tensors and plain data (a pickle that would call a
function is refused, not run); then the content is checked. Anything else, a truncated or empty
file included, is a one-line ``CheckpointError``. A distributed run's rank 0 uses the same lock and
checkpoint functions.
"""
from __future__ import annotations

import fcntl
import io
import os
from contextlib import contextmanager
from pathlib import Path

import torch

from lgn_hw.atomic import make_folders, remove_empty, stale_temps, write_bytes_atomic, write_json_atomic
from lgn_hw.untrusted import FileRefused, open_regular

CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"
NETLIST = "netlist.json"
CURVES = "curves.png"
#: What a run writes; NETLIST, the finished-run marker, goes first on removal and last on writing.
OUTPUTS = (NETLIST, METRICS, CURVES, CHECKPOINT, CONFIG)
#: The largest checkpoint file read (the largest preset's is about 100 MB).
MAX_CHECKPOINT_BYTES = 1 << 34
#: What a checkpoint that ``--resume`` continues from holds, with the type of each entry.
RESUME_KEYS = {"config": dict, "model": dict, "optimizer": dict, "rng_torch": torch.Tensor,
               "step": int, "history": list, "run": dict}


class OutputError(Exception):
    """The output folder cannot be used (in use by another run, not writable); one line."""


class CheckpointError(OutputError):
    """A file that is not a checkpoint this trainer can continue or start from; one line."""


@contextmanager
def locked(out: str | os.PathLike):
    """Hold the output folder's lock for the duration of the ``with`` block (see the module)."""
    out = Path(out)
    try:
        made = make_folders(out)
        fd = os.open(out, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(f"--out {out} is in use by another training; wait for it to finish "
                              f"or choose another --out") from None
        if not os.access(out, os.W_OK):
            raise OutputError(f"--out {out}: cannot write there (permission denied)")
        for tmp in stale_temps(out, OUTPUTS):
            tmp.unlink(missing_ok=True)
        yield out
    except BaseException:
        remove_empty(made)  # only while empty: nothing was written
        raise
    finally:
        os.close(fd)


def begin_run(out: Path, resume: bool) -> None:
    """Remove the previous run's results, the finished-run marker first (lock held); a resumed
    run keeps the checkpoint it continues from."""
    for name in OUTPUTS:
        if not (resume and name in (CHECKPOINT, CONFIG)):
            (Path(out) / name).unlink(missing_ok=True)


def save_checkpoint(path, state: dict) -> Path:
    buf = io.BytesIO()
    torch.save(state, buf)
    return write_bytes_atomic(path, buf.getvalue())


def read_checkpoint_bytes(path) -> bytes:
    """The bytes of a checkpoint file: a regular file of at most ``MAX_CHECKPOINT_BYTES``."""
    try:
        f = open_regular(path, MAX_CHECKPOINT_BYTES, "checkpoint")
    except FileRefused as exc:
        raise CheckpointError(str(exc)) from None
    with f:
        return f.read()


def load_checkpoint(path, *, resume: bool = False, name=None) -> dict:
    """A checkpoint's content: model weights at least (``--init-from``), everything in
    ``RESUME_KEYS`` with ``resume``. Never executes code from the file. ``path`` may also be a
    binary file object (bytes read by ``read_checkpoint_bytes``), then ``name`` names it."""
    if isinstance(path, (str, os.PathLike)):
        try:
            f = open_regular(path, MAX_CHECKPOINT_BYTES, "checkpoint")
        except FileRefused as exc:
            raise CheckpointError(str(exc)) from None
    else:
        f, path = path, name if name is not None else "checkpoint"
    with f:
        try:
            ck = torch.load(f, map_location="cpu", weights_only=True)
        except Exception as exc:  # untrusted bytes: any failure of the parser is the file's fault
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            why = lines[0] if lines else type(exc).__name__
            if "Unsupported global" in str(exc) or "weights_only" in str(exc):
                why = "it holds objects other than tensors and plain data; refused without loading them"
            elif isinstance(exc, EOFError):
                why = "empty or truncated"
            raise CheckpointError(f"{path}: not a checkpoint of `python -m train` ({why[:160]})") from None
    need = RESUME_KEYS if resume else {"model": dict}
    if not isinstance(ck, dict):
        raise CheckpointError(f"{path}: not a checkpoint of `python -m train` (it holds a "
                              f"{type(ck).__name__}, not a dict)")
    for key, kind in need.items():
        if not isinstance(ck.get(key), kind) or isinstance(ck.get(key), bool):
            raise CheckpointError(f"{path}: not a checkpoint of `python -m train` ({key!r} is "
                                  f"{'missing' if key not in ck else type(ck[key]).__name__})")
    if not all(isinstance(k, str) and torch.is_tensor(v) for k, v in ck["model"].items()):
        raise CheckpointError(f"{path}: not a checkpoint of `python -m train` (its model weights "
                              f"are not named tensors)")
    if resume and ck["step"] < 0:
        raise CheckpointError(f"{path}: not a checkpoint of `python -m train` (step {ck['step']})")
    return ck


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
