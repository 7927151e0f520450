"""Local (routing-friendly) fixed connections for logic layers.

Fixed random connections make every gate read four signals from anywhere in the previous layer:
on an FPGA the LUTs of one logic tile then need ~4 distinct far-away nets each, which saturates
the tile's local tracks. Measured on an iCE40 UP5K (digits default shape 600x300x200, fan-in 4,
UART wrapper): nextpnr's router never converged with random connections (5,400 wires still
overused after 80,000 iterations, ~40 % of the logic cells used) and routed in under a minute
when the first layers used windows of 16 signals (BENCHMARKS.md, "Routability").

``local_connections`` gives gate ``g`` of ``out_dim`` inputs drawn, without repeats, from a window
of ``window`` consecutive signals centred at ``(g + 0.5) * in_dim / out_dim`` (wrapping around), so
neighbouring gates share inputs and the netlist has a 1-D locality that placers exploit. With
``groups`` > 1 (the last layer, split into that many class groups by GroupSum) the centre follows
the gate's position *inside its group*, so every class still sees the whole previous layer.
"""

from __future__ import annotations

import numpy as np

#: Default window (signals) of ``--connections local``.
DEFAULT_WINDOW = 16


def local_connections(in_dim: int, out_dim: int, fan_in: int, rng: np.random.Generator,
                      window: int = DEFAULT_WINDOW, groups: int = 1) -> np.ndarray:
    """int64[out_dim, fan_in]: each gate's inputs, distinct whenever ``in_dim >= fan_in``."""
    if in_dim < 1 or out_dim < 1:
        raise ValueError(f"layer needs in_dim >= 1 and out_dim >= 1 (got {in_dim}, {out_dim})")
    if groups < 1 or out_dim % groups:
        raise ValueError(f"{out_dim} gates cannot be split into {groups} equal groups")
    if window < fan_in:
        raise ValueError(f"connection window {window} is smaller than the fan-in {fan_in}")
    window = min(window, in_dim)
    per_group = out_dim // groups
    pos = np.arange(out_dim) % per_group
    centre = ((pos + 0.5) * in_dim / per_group).astype(np.int64)
    start = centre - window // 2
    if in_dim >= fan_in:
        # fan_in distinct offsets in [0, window) per gate: argsort of random keys
        offs = np.argsort(rng.random((out_dim, window)), axis=1)[:, :fan_in]
    else:
        offs = rng.integers(0, window, size=(out_dim, fan_in))
    return ((start[:, None] + offs) % in_dim).astype(np.int64)
