"""Training-time data augmentation on encoded image bits: random translations.

MNIST-sized logic gate networks overfit: the 12,000-gate fan-in-6 model reaches a training loss
near 0.01 while its test accuracy stops at ~97.1% (BENCHMARKS.md, Training). Shifting every training
image by a random (dy, dx) in ``-s..s`` pixels per step is the classic cure for that on MNIST, and
it costs nothing in hardware: only the training batches change.

The shift is applied to the *encoded* bits, which for image datasets are pixel-major
(``[H, W, T]`` per sample, T bits per pixel; see ``lgn_hw.encoding``): a pixel's bits move with
it, and the pixels shifted in from outside the image get the bits of a background pixel (raw
value 0), so a shifted-then-encoded image equals the encoded-then-shifted one. The shifts are a
function of (seed, step) alone, so ``--resume`` reproduces an uninterrupted run exactly.
"""
from __future__ import annotations

import numpy as np
import torch

from lgn_hw.datasets import IMAGE_SHAPES

MAX_SHIFT = 4


class AugmentError(ValueError):
    """Augmentation does not apply to this dataset or encoding; the message is one line."""


class ShiftAugment:
    """Random integer translations of encoded images, by at most ``shift`` pixels each way."""

    def __init__(self, dataset: str, encoding, shift: int, seed: int = 0):
        if not isinstance(shift, (int, np.integer)) or not 0 < shift <= MAX_SHIFT:
            raise AugmentError(f"--augment-shift must be in 1..{MAX_SHIFT}, got {shift!r}")
        if dataset not in IMAGE_SHAPES:
            raise AugmentError(f"--augment-shift needs an image dataset ({', '.join(IMAGE_SHAPES)}), "
                               f"got {dataset!r}")
        H, W = IMAGE_SHAPES[dataset]
        if encoding.n_features != H * W:
            raise AugmentError(f"--augment-shift: {dataset} has {encoding.n_features} features, "
                               f"expected {H}x{W} pixels")
        sizes = np.diff(encoding.offsets)
        if not (sizes == sizes[0]).all():
            raise AugmentError("--augment-shift needs the same number of bits for every pixel")
        self.H, self.W, self.T = H, W, int(sizes[0])
        self.shift, self.seed = int(shift), int(seed)
        background = encoding.encode(np.zeros((1, encoding.n_features), dtype=np.int64))
        self.background = torch.from_numpy(background.reshape(H, W, self.T)[0, 0].copy())

    def shifts(self, step: int, n: int) -> torch.Tensor:
        """int64[n, 2]: (dy, dx) per sample of the batch at ``step``."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + 7_777_777 + int(step))
        return torch.randint(-self.shift, self.shift + 1, (n, 2), generator=g)

    def apply(self, bits: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
        """bits[B, H*W*T] shifted by ``shifts[B, 2]`` (dy down, dx right); same dtype and shape."""
        B = bits.shape[0]
        H, W, T, s = self.H, self.W, self.T, self.shift
        img = bits.reshape(B, H, W, T)
        pad = self.background.to(bits.dtype).view(1, 1, 1, T).expand(B, H + 2 * s, W + 2 * s, T).clone()
        pad[:, s:s + H, s:s + W] = img
        # output pixel (r, c) reads padded pixel (r + s - dy, c + s - dx)
        rows = (torch.arange(H).view(1, H) + s - shifts[:, 0:1]).view(B, H, 1)
        cols = (torch.arange(W).view(1, W) + s - shifts[:, 1:2]).view(B, 1, W)
        b = torch.arange(B).view(B, 1, 1)
        return pad[b, rows, cols].reshape(B, H * W * T)

    def __call__(self, bits: torch.Tensor, step: int) -> torch.Tensor:
        return self.apply(bits, self.shifts(step, bits.shape[0]))
