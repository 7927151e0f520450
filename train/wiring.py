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


def patch_connections(image_shape, bits_per_pixel: int, out_dim: int, fan_in: int,
                      rng: np.random.Generator, window: int = DEFAULT_WINDOW) -> np.ndarray:
    """int64[out_dim, fan_in]: first-layer inputs from 2-D image patches (``--connections patch``).

    Row-major pixel order makes a 1-D window of an image layer a horizontal strip of one or two
    rows, so ``local_connections`` starves the first layer of vertical structure. Here gate ``g``
    is centred on a pixel of a raster over the image's inner region (a margin of H/7, W/7 pixels:
    MNIST's 20x20 centre, where the strokes are), and reads ``fan_in`` distinct bits from the
    ``s x s`` patch of pixels around it (all ``bits_per_pixel`` bits of each; ``s`` the side whose
    area in bits is closest to ``window``, at least enough bits for the fan-in). Patches are moved
    inside the image at its borders. Input bit of pixel p, threshold t: ``p * bits_per_pixel + t``
    (the encoding's pixel-major order).
    """
    H, W = (int(v) for v in image_shape)
    T = int(bits_per_pixel)
    if H < 1 or W < 1 or T < 1 or out_dim < 1:
        raise ValueError(f"patch connections need a non-empty image and layer (got {H}x{W}x{T}, {out_dim})")
    if fan_in > H * W * T:
        raise ValueError(f"fan-in {fan_in} exceeds the {H * W * T} input bits")
    s = max(1, int(round(np.sqrt(window / T))))
    while s * s * T < fan_in:
        s += 1
    sh, sw = min(s, H), min(s, W)
    while sh * sw * T < fan_in:  # a thin image: widen the other side
        sh, sw = min(sh + 1, H), min(sw + 1, W)
    mh, mw = H // 7, W // 7
    ih, iw = H - 2 * mh, W - 2 * mw
    p = ((np.arange(out_dim) + 0.5) * (ih * iw) / out_dim).astype(np.int64)
    r, c = mh + p // iw, mw + p % iw
    r0 = np.clip(r - sh // 2, 0, H - sh)
    c0 = np.clip(c - sw // 2, 0, W - sw)
    n_cand = sh * sw * T
    pick = np.argsort(rng.random((out_dim, n_cand)), axis=1)[:, :fan_in]  # distinct per gate
    dr, rest = pick // (sw * T), pick % (sw * T)
    dc, t = rest // T, rest % T
    return (((r0[:, None] + dr) * W + (c0[:, None] + dc)) * T + t).astype(np.int64)
