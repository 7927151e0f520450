"""Launch plan of the backward pass: batch ranges (bounding the scratch memory) and batch slices
(filling the GPU for small layers). Pure Python, no CUDA: tested on the CPU.

Scratch memory. The input gradient goes through a partial buffer of one row per (gate, input)
pair, ``partial[G * n, width]`` float32 (train/kernels/reverse_index.py). Over the whole batch that
is n times the layer output (100 GB for G = 1M, n = 6, B = 4096), so the backward kernel runs
over consecutive batch ranges of ``width`` samples and the gather kernel sums each range into its
columns of dL/dx; the partial buffer is allocated once per backward call at that width.

    bound: partial bytes = 4 * G * n * width <= max(SCRATCH_BYTES, 4 * G * n * MIN_RANGE)

i.e. at most SCRATCH_BYTES (256 MiB), unless even MIN_RANGE (32) samples of a layer exceed it
(G * n > 2M pairs), then 32 samples' worth (768 MiB at G = 1M, n = 6). The parameter gradient is
summed over the ranges in place (the kernel adds its range to the previous ones), in a fixed order.

Batch slices. The backward grid is (ceil(G / 4), S): one warp per gate, S slices of the range
along grid.y. A layer of few gates (fewer than ~530 at 4 gates per block on 132 SMs) would
otherwise leave SMs idle, so S grows until the grid has TARGET_BLOCKS_PER_SM blocks per SM, as
long as every slice keeps at least MIN_SLICE samples (four per lane). Each slice writes its own
parameter-gradient row ``gparams[S, G, P]``, summed afterwards (S > 1 only for small layers, so
that buffer stays under ``4 * P * 4 * TARGET_BLOCKS_PER_SM * SMs`` bytes, about 2 MB).
"""
from __future__ import annotations

from dataclasses import dataclass

from .compile import GATES_PER_BLOCK

SCRATCH_BYTES = 256 << 20
MIN_RANGE = 32
MIN_SLICE = 128
TARGET_BLOCKS_PER_SM = 8
FLOAT_BYTES = 4


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class BackwardPlan:
    width: int  # samples per batch range (the partial buffer's row length)
    ranges: tuple[tuple[int, int], ...]  # [b_begin, b_end) of each backward launch
    slices: int  # S: grid.y of every launch (the widest range's)
    span: int  # samples per slice
    scratch_bytes: int  # the partial buffer (0 without input gradient)

    def slices_of(self, begin: int, end: int) -> int:
        return _ceil(end - begin, self.span)


def range_width(G: int, n: int, B: int, need_gx: bool, scratch_bytes: int = SCRATCH_BYTES) -> int:
    """Samples per backward launch: the whole batch, or as many as keep the partial buffer within
    ``scratch_bytes`` (a multiple of 32 samples, at least MIN_RANGE)."""
    if not need_gx or B <= MIN_RANGE:
        return max(B, 0)
    per_sample = FLOAT_BYTES * G * n
    width = (scratch_bytes // max(per_sample, 1)) // 32 * 32
    return min(B, max(MIN_RANGE, width))


def backward_plan(G: int, n: int, B: int, need_gx: bool, sm_count: int,
                  scratch_bytes: int = SCRATCH_BYTES) -> BackwardPlan:
    """The ranges and slices of one backward call (G gates of fan-in n, batch B)."""
    if G < 0 or B < 0 or n < 1 or sm_count < 1:
        raise ValueError(f"bad backward shape G={G}, n={n}, B={B}, SMs={sm_count}")
    width = range_width(G, n, B, need_gx, scratch_bytes)
    ranges = tuple((b, min(B, b + width)) for b in range(0, B, width)) if B and width else ()
    gate_blocks = max(1, _ceil(G, GATES_PER_BLOCK))
    want = _ceil(TARGET_BLOCKS_PER_SM * sm_count, gate_blocks)
    slices = max(1, min(want, width // MIN_SLICE)) if width else 1
    span = _ceil(_ceil(width, slices), 32) * 32 if width else 32
    slices = _ceil(width, span) if width else 1
    scratch = FLOAT_BYTES * G * n * width if need_gx else 0
    return BackwardPlan(width, ranges, slices, span, scratch)
