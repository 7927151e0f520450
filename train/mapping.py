"""Learnable mapping: every input of every gate of a layer chooses its signal among **all** the
layer's inputs (``--first-layer learned``).

Input ``j`` of the layer (gate ``j // n``, position ``j % n``) has one trainable score per input
signal, ``map_w[j, :]``. The forward pass always reads the argmax signal, in training as in eval
mode, so the gates only ever see the signals the netlist will wire (for a first layer: hard input
bits, never a blend). The backward pass gives every score a gradient, as if the gate input were a
linear read of all signals: ``d map_w[j, i] = sum_b g[j, b] * (2 x[i, b] - 1)``, where ``g`` is the
loss gradient with respect to gate input ``j`` (the multilinear gate's finite difference at a hard
input). A signal whose value agrees with the direction the loss wants input ``j`` to move gains
score; when it overtakes the current choice the wire moves. This is the straight-through estimator
of DWN's learnable mapping (Bacellar et al., ICML 2024), over IWP gates.

The scores cost ``G * n * in_dim`` parameters (first layer of MNIST with 2,000 fan-in-6 gates over
784 bits: 9.4 M) and one ``[G*n, B] x [B, in_dim]`` matrix product per backward pass, so it is
meant for the first layer, whose inputs are the encoded features; later layers keep their
``--connections``. The chosen wiring is an ordinary Netlist: the choice costs nothing in hardware.

**Encoder budget** (``--encoder-budget K``, ``EncoderBudget``). What the wiring reads does cost
something in one place: every encoded bit that is not a wire of the raw input (``x >= 64`` of a
pixel is ``x[7] | x[6]``; ``lgn_hw.encoding.Encoding.free_bits``) is a comparator in the hardware
encoder, half a LUT6 on 7-series. A budget caps how many distinct such bits the first layer may
read: at every epoch end over the first ``BUDGET_END`` of the steps, the costly bits still allowed
are cut to those the most gate inputs read (ties: the higher best score), keeping K plus a share
of the excess the wiring reads over K that falls linearly to 0 at the last cut; a cut bit's scores
are set to ``PRUNED``, so no gate input chooses it again and the inputs that read it move to their
next-best signal. The rest of the run trains the tables on the final wiring.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from . import functional as F
from .layers import IWPLayer, straight_through

#: Scores start uniform in [0, MAP_INIT): the initial wiring is a random draw, as DWN starts.
MAP_INIT = 1.0
#: How a mapped first layer (hard 0/1 inputs) differentiates its gates with respect to their
#: inputs, for the score gradients: ``fd``, the multilinear derivative (a finite difference of two
#: table entries), or ``efd``, the extended finite difference (every entry, weighted by
#: ``EFD_BETA`` per Hamming step away from the addressed one; DWN's estimator).
GRADIENTS = ("fd", "efd")
EFD_BETA = 1.0 / 3.0
_EFD_CACHE: dict = {}
#: The score of an input cut by an encoder budget: far below any trained score, and so large
#: that Adam's steps (about the learning rate each) cannot move it in float32.
PRUNED = -1.0e9
#: The encoder budget is reached at the first epoch end at or past this fraction of the training
#: steps (one cut per epoch end up to there; the rest of the run adapts the tables to the wiring).
BUDGET_END = 0.5


def efd_weights(n: int, dtype, device) -> torch.Tensor:
    """W[k, a, p]: the weight of table entry p in the EFD derivative with respect to input k at
    address a: ``EFD_BETA ** H(a, p without bit k)``, signed +1 where bit k of p is set, else -1.
    At EFD_BETA 0 it is the plain finite difference."""
    key = (n, dtype, str(device))
    if key not in _EFD_CACHE:
        P = 1 << n
        a = np.arange(P)[:, None]
        p = np.arange(P)[None, :]
        w = np.empty((n, P, P))
        for k in range(n):
            dist = np.vectorize(lambda v: bin(int(v)).count("1"))((a ^ p) & ~(1 << k))
            w[k] = EFD_BETA ** dist * np.where((p >> k) & 1, 1.0, -1.0)
        _EFD_CACHE[key] = torch.as_tensor(w, dtype=dtype, device=device)
    return _EFD_CACHE[key]


class MappedLookupEFD(torch.autograd.Function):
    """Gates over hard 0/1 inputs x[in_dim, B] wired by ``sel``: forward, the addressed table
    entry of ``coef[G, P]`` (what the multilinear gate computes at a 0/1 point); backward, the
    exact gradient for ``coef`` and the straight-through score gradient of ``MapSelect`` with the
    gate-input derivatives taken by the extended finite difference."""

    @staticmethod
    def forward(ctx, x, scores, sel, coef, n):
        G, B = coef.shape[0], x.shape[1]
        xin = x.index_select(0, sel).view(G, n, B)
        shifts = torch.arange(n, device=x.device).view(1, n, 1)
        addr = (xin.to(torch.int64) << shifts).sum(1)
        ctx.save_for_backward(x, addr, coef)
        ctx.n = n
        return coef.gather(1, addr)

    @staticmethod
    def backward(ctx, g):
        x, addr, coef = ctx.saved_tensors
        n = ctx.n
        G, B = addr.shape
        gcoef = torch.zeros_like(coef).scatter_add_(1, addr, g)
        deriv = torch.einsum("gp,kap->gak", coef, efd_weights(n, coef.dtype, coef.device))
        gin = deriv.gather(1, addr.unsqueeze(2).expand(G, B, n)) * g.unsqueeze(2)  # [G, B, n]
        gin = gin.permute(0, 2, 1).reshape(G * n, B)
        return None, torch.mm(gin, (2 * x - 1).t()), None, gcoef, None


class MapSelect(torch.autograd.Function):
    """x[in_dim, B] -> x[sel] ([G*n, B]); backward: the exact gradient for x (the selected rows),
    the straight-through linear gradient for the scores."""

    @staticmethod
    def forward(ctx, x, scores, sel):
        ctx.save_for_backward(x, sel)
        return x.index_select(0, sel)

    @staticmethod
    def backward(ctx, g):
        x, sel = ctx.saved_tensors
        gx = gs = None
        if ctx.needs_input_grad[0]:
            gx = torch.zeros_like(x).index_add_(0, sel, g)
        if ctx.needs_input_grad[1]:
            gs = torch.mm(g, (2 * x - 1).t())
        return gx, gs, None


class MappedIWPLayer(IWPLayer):
    """An IWP layer whose gate inputs are chosen among all ``in_dim`` inputs (see the module)."""

    def __init__(self, in_dim: int, out_dim: int, fan_in: int = 2, estimator: str = "sin",
                 init: str = "residual", seed=0, gradient: str = "fd"):
        super().__init__(in_dim, out_dim, fan_in, estimator=estimator, init=init, seed=seed)
        if gradient not in GRADIENTS:
            raise ValueError(f"unknown mapping gradient {gradient!r} (expected one of {', '.join(GRADIENTS)})")
        #: "efd" needs hard 0/1 inputs: only for a first layer over encoded bits
        self.gradient = gradient
        G, n = self.out_dim, self.fan_in
        rng = np.random.default_rng([*np.atleast_1d(seed).tolist(), 6151])
        scores = rng.random((G * n, self.in_dim), dtype=np.float32) * MAP_INIT
        self.map_w = torch.nn.Parameter(torch.from_numpy(scores))
        flat = torch.arange(G * n, dtype=torch.int64).view(G, n)
        self.register_buffer("flat_idx", flat, persistent=False)
        self.register_buffer("flat_idx32", flat.to(torch.int32), persistent=False)
        self.sync_idx()

    def hard_idx(self) -> torch.Tensor:
        """int64[G, n]: the chosen (argmax) input of every gate input."""
        with torch.no_grad():
            return self.map_w.max(dim=1).indices.view(self.out_dim, self.fan_in)

    def pruned_inputs(self) -> torch.Tensor:
        """bool[in_dim]: the inputs an encoder budget has cut (never chosen again)."""
        with torch.no_grad():
            return self.map_w[0] <= PRUNED / 2

    def prune(self, inputs: torch.Tensor) -> None:
        """Cut ``inputs`` (int64 indices): no gate input chooses them from now on."""
        with torch.no_grad():
            self.map_w[:, inputs.to(self.map_w.device)] = PRUNED
        self.sync_idx()

    def sync_idx(self) -> None:
        """Make ``idx`` (what the base layer and its kernels read) the current choice."""
        hard = self.hard_idx()
        self.idx.copy_(hard)
        self.idx32 = hard.to(torch.int32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[0] != self.in_dim:
            raise ValueError(f"expected activations of shape ({self.in_dim}, B), got {tuple(x.shape)}")
        if not self.training:
            self.sync_idx()
            return super().forward(x)
        sel = self.map_w.detach().max(dim=1).indices  # (faster than argmax on the CPU)
        coef = self.coefficients(hard=False).to(x.dtype)
        if self.straight_through:
            coef = straight_through(self.coefficients(hard=True).to(x.dtype), coef)
        if self.gradient == "efd":
            return MappedLookupEFD.apply(x, self.map_w, sel, coef, self.fan_in)
        xin = MapSelect.apply(x, self.map_w, sel)
        if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
            from . import cext

            if cext.available(x.dtype):
                return cext.multilinear(xin.contiguous(), self.flat_idx32, coef)
        return F.multilinear_reference(xin, self.flat_idx, coef)

    def reference_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            self.sync_idx()
            return super().reference_forward(x)
        xin = MapSelect.apply(x, self.map_w, self.map_w.detach().max(dim=1).indices)
        return F.multilinear_reference(xin, self.flat_idx, self.coefficients(hard=False).to(x.dtype))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.sync_idx()

    def extra_repr(self) -> str:
        return super().extra_repr() + f", learnable mapping over all inputs ({self.gradient})"


class EncoderBudget:
    """``--encoder-budget``: the first (mapped) layer reads at most ``budget`` distinct costly
    input bits from the epoch end at ``BUDGET_END`` of the ``total`` steps on (module docstring).
    ``apply(step)`` at every epoch end (``spe`` steps) cuts and says what the wiring reads."""

    def __init__(self, layer: MappedIWPLayer, free_bits: np.ndarray, budget: int, total: int, spe: int):
        if not isinstance(layer, MappedIWPLayer):
            raise ValueError("--encoder-budget prunes a learned mapping: add --first-layer learned")
        free = np.asarray(free_bits, dtype=bool)
        if free.shape != (layer.in_dim,):
            raise ValueError(f"--encoder-budget: {free.shape[0]} encoded bits for a layer of "
                             f"{layer.in_dim} inputs")
        if budget < 0:
            raise ValueError(f"--encoder-budget must be >= 0, got {budget}")
        if not free.any() and budget == 0:
            raise ValueError("--encoder-budget 0: every input bit of this encoding costs logic, "
                             "so nothing would be left to read")
        self.layer, self.budget, self.total, self.spe = layer, int(budget), int(total), int(spe)
        self.costly = torch.from_numpy(~free)
        self.n_costly = int(self.costly.sum())
        #: the cut that reaches the budget: the first epoch end at or past BUDGET_END of the run
        self.end = min(self.total, math.ceil(BUDGET_END * self.total / self.spe) * self.spe)

    def cuts_left(self, step: int) -> int:
        """Cuts from ``step`` to the one reaching the budget, both counted (0 past it)."""
        if step > self.end:
            return 0
        # the epoch ends in [step, end), then the cut at end itself
        return max(0, (self.end - 1) // self.spe - math.ceil(step / self.spe) + 1) + 1

    def met(self, step: int) -> bool:
        """True once the cut at ``step`` has reached the budget."""
        return step >= self.end or self.n_costly <= self.budget

    def read(self) -> int:
        """Distinct costly bits the current wiring reads."""
        idx = self.layer.hard_idx().view(-1).cpu()
        return int(torch.unique(idx[self.costly[idx]]).numel())

    def apply(self, step: int) -> dict:
        """Cut at ``step``; ``{"encoder_bits_read", "encoder_bits_allowed"}`` after it.

        Each cut keeps the budget plus ``(m - 1) / m`` of what the wiring reads beyond it (``m``
        cuts left, this one counted): the excess falls linearly to 0 at the last cut. The bits
        kept are the most read, then the highest best score; unread bits go first."""
        layer = self.layer
        reads = np.bincount(layer.hard_idx().view(-1).cpu().numpy(), minlength=layer.in_dim)
        read, m = int(((reads > 0) & self.costly.numpy()).sum()), self.cuts_left(step)
        keep = self.budget if m <= 1 else self.budget + math.ceil(max(0, read - self.budget) * (m - 1) / m)
        candidates = np.flatnonzero((self.costly & ~layer.pruned_inputs().cpu()).numpy())
        if len(candidates) > keep:
            with torch.no_grad():
                best = layer.map_w.max(dim=0).values.double().cpu().numpy()
            # most read first, then the highest best score, then the lower index (stable)
            order = np.lexsort((candidates, -best[candidates], -reads[candidates]))
            layer.prune(torch.from_numpy(candidates[order[keep:]]))
        return {"encoder_bits_read": self.read(),
                "encoder_bits_allowed": int(min(keep, len(candidates)))}
