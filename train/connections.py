"""Learned connections: each gate input chooses its signal among a few candidates during training.

Fixed random connections (``train.layers.random_connections``) are the paper's default; the issue
asks whether learned ones do better (LILogicNet reports 98.45% on MNIST with 8K two-input gates and
learnable top-k connectivity). Here input k of gate g has C fixed random candidate signals (the
first one is the layer's ordinary random connection) and trainable logits ``conn[g, k, :]``. In
training the input value is the softmax-weighted mix of the candidates' values (a convex mix of
values in [0, 1], so the gate's multilinear relaxation is unchanged); in eval mode and in
``hard_idx()`` -- what ``train.discretize`` records -- it is the argmax candidate, so a discretized
network is an ordinary Netlist of the same size: the choice costs nothing in hardware.

Training cost grows with C (the mix reads G * n * C signals per sample), so C is small (default 8).

Where it runs: on the CPU the mix and the gate are one fused C kernel (train/cext.py,
``mixed_multilinear``; torch only computes the [G, n, C] softmax weights); on CUDA the mix is
torch (an index_select and a weighted sum) and the gates run on the CUDA kernels over the mixed
inputs (train/kernels, identity connections). Eval mode reads the argmax candidates through the
base layer's path; ``idx`` is re-synced only when the connection logits changed, and only
rewritten when the choice did, so the kernels' cached reverse index stays valid between evals.
Set ``LGN_HW_NO_FUSED_MIX=1`` to mix in torch on the CPU too (the fused gate kernel over the
mixed inputs; bench/train_speed.py compares the two).
"""
from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from . import functional as F
from .layers import IWPLayer

CONNECTIONS = ("random", "learned")
DEFAULT_CANDIDATES = 8
#: Initial logit of candidate 0 (the random connection): softmax weight ~0.5 with C = 8, so a
#: fresh layer starts close to the fixed-connection network but every candidate gets gradient.
CHOSEN_BIAS = 2.0


def _torch_mix() -> bool:
    return os.environ.get("LGN_HW_NO_FUSED_MIX", "") not in ("", "0")


class LearnedConnectionsIWPLayer(IWPLayer):
    """An IWP layer whose gate inputs are chosen (softmax in training, argmax when hard)."""

    def __init__(self, in_dim: int, out_dim: int, fan_in: int = 2, estimator: str = "sin",
                 init: str = "residual", seed=0, candidates: int = DEFAULT_CANDIDATES):
        super().__init__(in_dim, out_dim, fan_in, estimator=estimator, init=init, seed=seed)
        if not isinstance(candidates, (int, np.integer)) or candidates < 1:
            raise ValueError(f"candidates must be a positive integer, got {candidates!r}")
        G, n, C = self.out_dim, self.fan_in, int(min(candidates, self.in_dim))
        rng = np.random.default_rng([*np.atleast_1d(seed).tolist(), 7919])
        cand = np.empty((G, n, C), dtype=np.int64)
        cand[:, :, 0] = self.idx.numpy()
        if C > 1:
            cand[:, :, 1:] = rng.integers(0, self.in_dim, size=(G, n, C - 1))
        self.register_buffer("candidates", torch.from_numpy(cand))
        self.register_buffer("candidates32", self.candidates.to(torch.int32), persistent=False)
        logits = torch.zeros(G, n, C)
        logits[:, :, 0] = CHOSEN_BIAS if C > 1 else 0.0
        self.conn = nn.Parameter(logits)
        flat = torch.arange(G * n, dtype=torch.int64).view(G, n)
        self.register_buffer("flat_idx", flat, persistent=False)
        self.register_buffer("flat_idx32", flat.to(torch.int32), persistent=False)
        self._synced = None  # (version, storage, device, dtype) of conn when idx was last synced

    @property
    def n_candidates(self) -> int:
        return int(self.candidates.shape[2])

    def hard_idx(self) -> torch.Tensor:
        """int64[G, n]: the chosen (argmax) candidate of every gate input."""
        with torch.no_grad():
            pick = self.conn.argmax(dim=2, keepdim=True)
            return self.candidates.gather(2, pick).squeeze(2)

    def sync_idx(self) -> None:
        """Make ``idx`` (what the base layer and its kernels read) the current hard choice; a
        no-op unless ``conn`` changed since the last sync, and ``idx`` is only written (which
        would invalidate the kernels' reverse index) when the choice itself changed."""
        c = self.conn
        key = (c._version, c.data_ptr(), c.device, c.dtype)
        if key == self._synced:
            return
        hard = self.hard_idx()
        if not torch.equal(hard, self.idx):
            self.idx.copy_(hard)
            self.idx32.copy_(hard.to(torch.int32))
        self._synced = key

    def mixing_weights(self, dtype: torch.dtype) -> torch.Tensor:
        """w[G, n, C]: softmax over each input's candidates; in the straight-through pass the
        argmax one-hot forward with the softmax's gradient backward."""
        w = torch.softmax(self.conn, dim=2).to(dtype)
        if self.straight_through:
            onehot = torch.zeros_like(w).scatter_(2, self.conn.argmax(dim=2, keepdim=True), 1.0)
            w = w + (onehot - w).detach()
        return w

    def mixed_inputs(self, x: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
        """x[in_dim, B] -> the relaxed gate inputs [G * n, B] (softmax mix of candidates)."""
        G, n, C = self.candidates.shape
        w = self.mixing_weights(x.dtype) if w is None else w
        xc = x.index_select(0, self.candidates.reshape(-1)).view(G, n, C, x.shape[1])
        return (w.unsqueeze(-1) * xc).sum(2).reshape(G * n, x.shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[0] != self.in_dim:
            raise ValueError(f"expected activations of shape ({self.in_dim}, B), got {tuple(x.shape)}")
        if not self.training:
            self.sync_idx()
            return super().forward(x)
        w = self.mixing_weights(x.dtype)
        from . import kernels

        if kernels.wants(x):  # CUDA (or the CPU emulation of the kernels): torch mix, kernel gates
            return self._kernel_forward(self.mixed_inputs(x, w), self.flat_idx32, self.kernel_mode())
        coef = self.coefficients(hard=False).to(x.dtype)
        if self.straight_through:
            from .layers import straight_through
            coef = straight_through(self.coefficients(hard=True).to(x.dtype), coef)
        if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
            from . import cext

            if cext.available(x.dtype):
                if self.n_candidates <= cext.max_candidates() and not _torch_mix():
                    return cext.mixed_multilinear(x, self.candidates32, w, coef)
                return cext.multilinear(self.mixed_inputs(x, w), self.flat_idx32, coef)
        return F.multilinear_reference(self.mixed_inputs(x, w), self.flat_idx, coef)

    def reference_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            self.sync_idx()
            return super().reference_forward(x)
        return F.multilinear_reference(self.mixed_inputs(x), self.flat_idx,
                                       self.coefficients(hard=False).to(x.dtype))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.candidates32 = self.candidates.to(torch.int32)
        self._synced = None
        self.sync_idx()

    def extra_repr(self) -> str:
        return super().extra_repr() + f", learned connections (C={self.n_candidates})"
