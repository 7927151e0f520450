"""How big a training run may be, checked before anything is allocated.

The network must fit the Netlist format (``lgn_hw.netlist.MAX_SIGNALS``: input bits plus gates),
its encoded data and its training step must fit the memory of the machine (or the GPU). The memory
figures are lower bounds, so a refusal is certain to be right: the run could not have fitted.
Violations are ``ConfigError`` (the sizes come from options) or ``DataError`` (from the data).
"""
from __future__ import annotations

import os

__all__ = ["check_signals", "training_bytes", "memory_bytes", "check_training", "check_data"]


def check_signals(width, n_inputs: int) -> None:
    """``n_inputs`` + all gates within ``lgn_hw.netlist.MAX_SIGNALS``."""
    from lgn_hw.netlist import MAX_SIGNALS

    from .config import ConfigError

    signals = n_inputs + sum(width)
    if signals > MAX_SIGNALS:
        raise ConfigError(f"--width {','.join(map(str, width))}: the network has {signals:,} "
                          f"signals (input bits + gates), more than the {MAX_SIGNALS:,} a netlist "
                          f"may have (lgn_hw.netlist.MAX_SIGNALS)")


def training_bytes(cfg) -> int:
    """A lower bound on the memory of a training step: every gate's 2**fan_in float32 parameters
    with their gradient and two Adam moments, and one batch of the layers' outputs with their
    gradients (every parametrisation has at least this much)."""
    params = sum(w << f for w, f in zip(cfg.width, cfg.fan_in))
    return 16 * params + 8 * sum(cfg.width) * cfg.batch_size


def memory_bytes(device=None) -> int | None:
    """The memory of a CUDA ``device``, else of this machine within its cgroup limit (None: not
    known)."""
    if device is not None and getattr(device, "type", str(device)) == "cuda":
        import torch

        return int(torch.cuda.get_device_properties(device).total_memory)
    sizes = []
    try:
        sizes.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit.isdigit():
            sizes.append(int(limit))
    except OSError:
        pass
    return min(sizes) if sizes else None


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_training(cfg, n_inputs: int, device=None) -> None:
    """The network of ``cfg`` on ``n_inputs`` bits fits the netlist limits and the memory."""
    from .config import ConfigError

    check_signals(cfg.width, n_inputs)
    need, have = training_bytes(cfg), memory_bytes(device)
    if have is not None and need > have:
        raise ConfigError(f"--width {','.join(map(str, cfg.width))} with --batch-size "
                          f"{cfg.batch_size}: training needs at least {_gib(need)} (parameters, "
                          f"gradients, Adam state and one batch of activations), more than the "
                          f"{_gib(have)} of memory here")


def check_data(name: str, rows: int, n_bits: int) -> None:
    """``rows`` samples of ``n_bits`` encoded bits (one byte each) fit the netlist and memory."""
    from lgn_hw.netlist import MAX_SIGNALS

    from .data import DataError

    if n_bits > MAX_SIGNALS:
        raise DataError(f"{name} encodes to {n_bits:,} input bits, more than the {MAX_SIGNALS:,} "
                        f"signals a netlist may have (fewer --thresholds)")
    have = memory_bytes()
    if have is not None and rows * n_bits > have:
        raise DataError(f"{name}: {rows:,} samples of {n_bits:,} encoded bits need "
                        f"{_gib(rows * n_bits)}, more than the {_gib(have)} of memory here "
                        f"(fewer --thresholds)")
