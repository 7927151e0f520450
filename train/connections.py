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
"""
from __future__ import annotations

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
        logits = torch.zeros(G, n, C)
        logits[:, :, 0] = CHOSEN_BIAS if C > 1 else 0.0
        self.conn = nn.Parameter(logits)
        flat = torch.arange(G * n, dtype=torch.int64).view(G, n)
        self.register_buffer("flat_idx", flat, persistent=False)
        self.register_buffer("flat_idx32", flat.to(torch.int32), persistent=False)

    @property
    def n_candidates(self) -> int:
        return int(self.candidates.shape[2])

    def hard_idx(self) -> torch.Tensor:
        """int64[G, n]: the chosen (argmax) candidate of every gate input."""
        with torch.no_grad():
            pick = self.conn.argmax(dim=2, keepdim=True)
            return self.candidates.gather(2, pick).squeeze(2)

    def sync_idx(self) -> None:
        """Make ``idx`` (what the base layer and its kernels read) the current hard choice."""
        hard = self.hard_idx()
        self.idx.copy_(hard)
        self.idx32.copy_(hard.to(torch.int32))

    def mixed_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """x[in_dim, B] -> the relaxed gate inputs [G * n, B] (softmax mix of candidates)."""
        G, n, C = self.candidates.shape
        w = torch.softmax(self.conn, dim=2).to(x.dtype)
        if self.straight_through:  # the argmax candidate forward, the softmax's gradient backward
            onehot = torch.zeros_like(w).scatter_(2, self.conn.argmax(dim=2, keepdim=True), 1.0)
            w = w + (onehot - w).detach()
        xc = x.index_select(0, self.candidates.reshape(-1)).view(G, n, C, x.shape[1])
        return (w.unsqueeze(-1) * xc).sum(2).reshape(G * n, x.shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[0] != self.in_dim:
            raise ValueError(f"expected activations of shape ({self.in_dim}, B), got {tuple(x.shape)}")
        if not self.training:
            self.sync_idx()
            return super().forward(x)
        xin = self.mixed_inputs(x)
        coef = self.coefficients(hard=False).to(x.dtype)
        if self.straight_through:
            from .layers import straight_through
            coef = straight_through(self.coefficients(hard=True).to(x.dtype), coef)
        if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
            from . import cext

            if cext.available(x.dtype):
                return cext.multilinear(xin.contiguous(), self.flat_idx32, coef)
        return F.multilinear_reference(xin, self.flat_idx, coef)

    def reference_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            self.sync_idx()
            return super().reference_forward(x)
        return F.multilinear_reference(self.mixed_inputs(x), self.flat_idx,
                                       self.coefficients(hard=False).to(x.dtype))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.sync_idx()

    def extra_repr(self) -> str:
        return super().extra_repr() + f", learned connections (C={self.n_candidates})"
