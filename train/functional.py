"""Pure-torch reference maths for logic layers: estimators, hard tables, the multilinear lerp tree.

Everything here is readable rather than fast. It is the oracle the fused CPU kernel
(train/cext.py) and the CUDA kernels (train/kernels/) are tested against, and the fallback on
machines without a C compiler. Layout is feature-major: activations are ``x[in_dim, B]``.
"""
from __future__ import annotations

import torch

ESTIMATORS = ("sin", "sigmoid")


def rho(theta: torch.Tensor, estimator: str = "sin") -> torch.Tensor:
    """Map raw parameters to table coefficients in [0, 1]."""
    if estimator == "sin":
        return 0.5 + 0.5 * torch.sin(theta)
    if estimator == "sigmoid":
        return torch.sigmoid(theta)
    raise ValueError(f"unknown estimator {estimator!r} (expected one of {', '.join(ESTIMATORS)})")


def hard_coefficients(coef: torch.Tensor) -> torch.Tensor:
    """Round coefficients to table bits, exactly like lgn_hw.gates.table_from_coefficients
    (bit p is 1 iff rho_p > 0.5, strict)."""
    return (coef > 0.5).to(coef.dtype)


def two_input_bits(dtype=torch.float32, device=None) -> torch.Tensor:
    """bits[16, 4]: row f is the truth table of difflogic function f (lgn_hw.gates order)."""
    from lgn_hw.gates import TWO_INPUT_TABLES, unpack_table

    bits = unpack_table(TWO_INPUT_TABLES, 2)
    return torch.as_tensor(bits.astype("float64"), dtype=dtype, device=device)


def original_coefficients(logits: torch.Tensor, hard: bool) -> torch.Tensor:
    """Coefficients of the original parametrisation: softmax over the 16 two-input functions
    mixes their truth tables (coef = softmax(w) @ bits); hard mode picks the argmax function."""
    bits = two_input_bits(logits.dtype, logits.device)
    if hard:
        choice = logits.argmax(dim=1)
        return bits[choice]
    return torch.softmax(logits, dim=1) @ bits


def multilinear_reference(x: torch.Tensor, idx: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """y[G, B] = sum_p coef[g, p] * prod_k (x_k if bit k of p else 1 - x_k), x_k = x[idx[g, k]].

    Evaluated as a lerp tree: fold input 0 first (bit 0 of p), pairing coefficients (2q, 2q+1),
    then input 1, and so on: 2**n - 1 lerps per sample instead of 2**n * n products.
    """
    G, n = idx.shape
    if coef.shape != (G, 1 << n):
        raise ValueError(f"coef has shape {tuple(coef.shape)}, expected ({G}, {1 << n})")
    level = coef.unsqueeze(-1)  # [G, 2**n, 1], broadcast over the batch
    for k in range(n):
        xk = x.index_select(0, idx[:, k].long()).unsqueeze(1)  # [G, 1, B]
        even, odd = level[:, 0::2], level[:, 1::2]
        level = even + xk * (odd - even)  # [G, 2**(n-k-1), B]
    return level[:, 0]


def reference_forward(x: torch.Tensor, idx: torch.Tensor, params: torch.Tensor, *,
                      param: str = "iwp", estimator: str = "sin", hard: bool = False) -> torch.Tensor:
    """A whole logic layer in plain torch: x[in_dim, B] -> y[G, B].

    ``param="iwp"``: params are theta[G, 2**n], coefficients rho(theta) (hard: rho > 0.5).
    ``param="original"``: params are logits[G, 16] (n = 2), softmax-mixed tables (hard: argmax).
    """
    if param == "iwp":
        coef = rho(params, estimator)
        if hard:
            coef = hard_coefficients(coef)
    elif param == "original":
        coef = original_coefficients(params, hard)
    else:
        raise ValueError(f"unknown parametrisation {param!r} (expected iwp or original)")
    return multilinear_reference(x, idx, coef)
