"""Torch modules of a logic gate network: the IWP n-input layer, the original 16-way softmax
layer (n = 2), GroupSum; fixed random connections and the parameter initialisations.

Layout is feature-major: a layer maps ``x: float[in_dim, B]`` to ``y: float[G, B]``. In training
mode gates are relaxed (multilinear extension of rho(theta) or of the softmax-mixed tables); in
eval mode they use hard tables (rho > 0.5, or the argmax function), so the module is Boolean on
Boolean inputs and agrees exactly with the discretized Netlist.

Dispatch: CUDA float32 tensors use ``train.kernels`` when it reports ``available()`` (imported lazily;
soft, hard and straight-through modes), CPU float tensors use the fused C kernel (train/cext.py)
when it could be built; everything else uses the pure-torch reference (train/functional.py).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from . import functional as F

INITS = ("residual", "gaussian")
MAX_FAN_IN = 6
#: Heavy-tail residual init: theta = +-mu + N(0, sigma^2) around a pass-through table.
RESIDUAL_MU = {"sin": 1.2, "sigmoid": 3.0}
RESIDUAL_SIGMA = 0.25
#: Original parametrisation, residual init: the logit of function 3 ("A", pass input 0).
ORIGINAL_PASS_FUNCTION = 3
ORIGINAL_PASS_LOGIT = 5.0


def random_connections(in_dim: int, out_dim: int, fan_in: int, rng: np.random.Generator) -> np.ndarray:
    """int64[out_dim, fan_in] input rows for each gate.

    Inputs are dealt from concatenated random permutations, so every input is read about equally
    often (none is left unused when out_dim * fan_in >= in_dim); a gate's inputs are distinct
    whenever in_dim >= fan_in (rows with a repeat are redrawn without replacement).
    """
    if in_dim < 1 or out_dim < 1:
        raise ValueError(f"layer needs in_dim >= 1 and out_dim >= 1 (got {in_dim}, {out_dim})")
    total = out_dim * fan_in
    reps = -(-total // in_dim)
    flat = np.concatenate([rng.permutation(in_dim) for _ in range(reps)])[:total]
    idx = flat.reshape(out_dim, fan_in)
    if in_dim >= fan_in and fan_in > 1:
        srt = np.sort(idx, axis=1)
        bad = np.flatnonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))
        for g in bad:
            idx[g] = rng.choice(in_dim, size=fan_in, replace=False)
    return idx.astype(np.int64)


def straight_through(hard: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
    """Hard table values in the forward pass, the soft ones' gradient in the backward pass."""
    return hard.detach() + (soft - soft.detach())


def _check_fan_in(fan_in: int) -> int:
    if not isinstance(fan_in, (int, np.integer)) or not 1 <= fan_in <= MAX_FAN_IN:
        raise ValueError(f"fan-in must be an integer in 1..{MAX_FAN_IN}, got {fan_in!r}")
    return int(fan_in)


class _LogicLayer(nn.Module):
    """Common part: fixed connections and dispatch to the fastest available implementation."""

    def __init__(self, in_dim: int, out_dim: int, fan_in: int, rng: np.random.Generator):
        super().__init__()
        #: training mode only: forward with the hard (rounded) tables, backward through the soft
        #: ones (straight-through); set by the training loop for --hard-finetune
        self.straight_through = False
        self.in_dim, self.out_dim, self.fan_in = int(in_dim), int(out_dim), _check_fan_in(fan_in)
        idx = torch.from_numpy(random_connections(self.in_dim, self.out_dim, self.fan_in, rng))
        self.register_buffer("idx", idx)
        self.register_buffer("idx32", idx.to(torch.int32), persistent=False)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.idx32 = self.idx.to(torch.int32)

    def set_connections(self, idx) -> None:
        """Replace the fixed connections (e.g. by ``train.wiring.local_connections``)."""
        idx = torch.as_tensor(idx, dtype=torch.int64)
        if idx.shape != self.idx.shape or idx.min() < 0 or idx.max() >= self.in_dim:
            raise ValueError(f"connections must be ints in [0, {self.in_dim}) of shape {tuple(self.idx.shape)}")
        self.idx.copy_(idx)
        self.idx32 = self.idx.to(torch.int32)

    def coefficients(self, hard: bool) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _kernel_forward(self, x: torch.Tensor, idx32: torch.Tensor, mode: str) -> torch.Tensor:
        """The layer on train.kernels (CUDA, or their CPU emulation) with connections idx32."""
        raise NotImplementedError  # pragma: no cover - abstract

    def kernel_mode(self) -> str:
        """The CUDA kernels' mode: soft (training), hard (eval) or ste (straight-through)."""
        if not self.training:
            return "hard"
        return "ste" if self.straight_through else "soft"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[0] != self.in_dim:
            raise ValueError(f"expected activations of shape ({self.in_dim}, B), got {tuple(x.shape)}")
        hard = not self.training
        ste = self.training and self.straight_through
        from . import kernels

        if kernels.wants(x):
            return self._kernel_forward(x, self.idx32, self.kernel_mode())
        coef = straight_through(self.coefficients(True), self.coefficients(False)) if ste \
            else self.coefficients(hard)
        if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
            from . import cext

            if cext.available(x.dtype):
                return cext.multilinear(x, self.idx32, coef.to(x.dtype))
        return F.multilinear_reference(x, self.idx, coef.to(x.dtype))

    def reference_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The same layer through the readable pure-torch path (the oracle)."""
        return F.multilinear_reference(x, self.idx, self.coefficients(not self.training).to(x.dtype))

    def tables(self) -> np.ndarray:
        """uint64[G]: the discretized truth tables (what eval mode computes)."""
        from lgn_hw.gates import pack_table

        with torch.no_grad():
            bits = self.coefficients(hard=True).detach().cpu().numpy() > 0.5
        return pack_table(bits)

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}, fan_in={self.fan_in}"


class IWPLayer(_LogicLayer):
    """Input-wise parametrised gates: theta[G, 2**n], coefficients rho(theta)."""

    param = "iwp"

    def __init__(self, in_dim: int, out_dim: int, fan_in: int = 2, estimator: str = "sin",
                 init: str = "residual", seed: int = 0, mu: float | None = None,
                 sigma: float = RESIDUAL_SIGMA):
        rng = np.random.default_rng(seed)
        super().__init__(in_dim, out_dim, fan_in, rng)
        if estimator not in F.ESTIMATORS:
            raise ValueError(f"unknown estimator {estimator!r} (expected one of {', '.join(F.ESTIMATORS)})")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r} (expected one of {', '.join(INITS)})")
        self.estimator, self.init = estimator, init
        P = 1 << self.fan_in
        noise = rng.standard_normal((self.out_dim, P))
        if init == "residual":
            mu = RESIDUAL_MU[estimator] if mu is None else mu
            bits = (np.arange(P) & 1).astype(np.float64)  # pass-through of input 0
            theta = (2 * bits - 1) * mu + sigma * noise
        else:
            theta = noise
        self.theta = nn.Parameter(torch.from_numpy(theta.astype(np.float32)))

    def coefficients(self, hard: bool) -> torch.Tensor:
        coef = F.rho(self.theta, self.estimator)
        return F.hard_coefficients(coef) if hard else coef

    def _kernel_forward(self, x, idx32, mode):
        from . import kernels

        return kernels.iwp_apply(x, idx32, self.theta, self.fan_in, self.estimator, mode=mode)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", estimator={self.estimator}"


class OriginalLayer(_LogicLayer):
    """difflogic's parametrisation: logits[G, 16] over the two-input functions (fan-in 2)."""

    param = "original"

    def __init__(self, in_dim: int, out_dim: int, fan_in: int = 2, init: str = "residual",
                 seed: int = 0):
        if fan_in != 2:
            raise ValueError(f"the original parametrisation has fan-in 2, got {fan_in}")
        if init not in INITS:
            raise ValueError(f"unknown init {init!r} (expected one of {', '.join(INITS)})")
        rng = np.random.default_rng(seed)
        super().__init__(in_dim, out_dim, 2, rng)
        self.init = init
        if init == "residual":
            logits = np.zeros((self.out_dim, 16))
            logits[:, ORIGINAL_PASS_FUNCTION] = ORIGINAL_PASS_LOGIT
        else:
            logits = rng.standard_normal((self.out_dim, 16))
        self.logits = nn.Parameter(torch.from_numpy(logits.astype(np.float32)))

    def coefficients(self, hard: bool) -> torch.Tensor:
        return F.original_coefficients(self.logits, hard)

    def _kernel_forward(self, x, idx32, mode):
        from . import kernels

        return kernels.original_apply(x, idx32, self.logits, mode=mode)


class GroupSum(nn.Module):
    """Class scores from the last layer: C equal contiguous groups, each summed and divided by tau.

    Input feature-major ``y[W, B]``; output ``logits[B, C]``.
    """

    def __init__(self, classes: int, tau: float = 1.0):
        super().__init__()
        if classes < 1:
            raise ValueError(f"GroupSum needs at least one class, got {classes}")
        if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau > 0):
            raise ValueError(f"tau must be a positive number, got {tau!r}")
        self.classes, self.tau = int(classes), float(tau)

    def check_width(self, width: int) -> None:
        if width % self.classes:
            raise ValueError(f"last layer width {width} is not divisible by the number of "
                             f"classes {self.classes}")

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        self.check_width(y.shape[0])
        return y.reshape(self.classes, y.shape[0] // self.classes, y.shape[1]).sum(1).t() / self.tau

    def extra_repr(self) -> str:
        return f"classes={self.classes}, tau={self.tau}"
