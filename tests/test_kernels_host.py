"""The CUDA kernels' device arithmetic (lgn_math.cuh, warp_reduce.cuh), compiled as host code
(train/kernels/host.py), against the torch reference (train.functional) and lgn_hw.gates."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lgn_hw import gates
from train import functional as F
from train.kernels import host
from train.kernels.reverse_index import build_reverse_index

CONFIGS = [("iwp", n, est, hard) for n in range(1, 7) for est in ("sin", "sigmoid")
           for hard in (False, True)] + [("original", 2, None, False), ("original", 2, None, True)]


def _case(param, n, in_dim, G, B, seed, scale=1.5):
    rng = np.random.default_rng(seed)
    idx = np.stack([rng.choice(in_dim, size=n, replace=False) for _ in range(G)]).astype(np.int32)
    P = 16 if param == "original" else 1 << n
    return (rng.random((in_dim, B)), idx, rng.normal(0, scale, (G, P)), rng.normal(size=(G, B)))


def _reference(x, idx, w, gy, param, est, hard):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    y = F.reference_forward(xt, torch.as_tensor(idx).long(), wt, param=param, estimator=est or "sin",
                            hard=hard)
    y.backward(torch.tensor(gy, dtype=torch.float64))
    return y.detach().numpy(), xt.grad.numpy(), (None if hard else wt.grad.numpy())


def _rel(a, b):
    assert np.isfinite(a).all(), "an output element was never written (NaN poison survived)"
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("param,n,est,hard", CONFIGS)
def test_host_shim_matches_torch_reference(param, n, est, hard):
    in_dim, G, B = 23, 19, 37  # no multiple of anything
    x, idx, w, gy = _case(param, n, in_dim, G, B, seed=n * 7 + hard)
    y_ref, gx_ref, gw_ref = _reference(x, idx, w, gy, param, est, hard)
    slot, ptr = build_reverse_index(torch.as_tensor(idx), in_dim)
    for dtype, tol_y, tol_g in ((np.float64, 1e-12, 1e-12), (np.float32, 2e-6, 2e-5)):
        y = host.forward(param, x, idx, w, n, est, hard, dtype=dtype)
        gx, gw = host.backward(param, x, idx, w, gy, n, est, hard, slot.numpy(), ptr.numpy(), dtype)
        assert _rel(y, y_ref) < tol_y
        assert _rel(gx, gx_ref) < tol_g
        if hard:
            assert gw is None
        else:
            assert _rel(gw, gw_ref) < tol_g


def test_hard_forward_equals_discretized_tables_on_boolean_inputs():
    rng = np.random.default_rng(3)
    for n in range(1, 7):
        for est in ("sin", "sigmoid"):
            in_dim, G = 2 * n + 3, 40
            x = (rng.random((in_dim, 64)) < 0.5).astype(np.float64)
            idx = np.stack([rng.choice(in_dim, size=n, replace=False) for _ in range(G)])
            theta = rng.normal(0, 2, (G, 1 << n)).astype(np.float32).astype(np.float64)
            y = host.forward("iwp", x, idx, theta, n, est, True, dtype=np.float64)
            rho = F.rho(torch.tensor(theta), est).numpy()
            tables = gates.table_from_coefficients(rho)
            bits = x[idx].transpose(0, 2, 1).astype(np.uint8)  # [G, B, n]
            want = gates.eval_tables(tables[:, None], n, bits)
            np.testing.assert_array_equal(y, want)


def test_forward_equals_lgn_hw_multilinear():
    rng = np.random.default_rng(4)
    n, in_dim, G, B = 4, 9, 12, 10
    x = rng.random((in_dim, B))
    idx = np.stack([rng.choice(in_dim, size=n, replace=False) for _ in range(G)])
    theta = rng.normal(0, 1, (G, 1 << n))
    y = host.forward("iwp", x, idx, theta, n, "sigmoid", False, dtype=np.float64)
    coef = 1 / (1 + np.exp(-theta))
    want = gates.multilinear(coef[:, None, :], x[idx].transpose(0, 2, 1))
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-14)


def test_original_function_order_matches_two_input_tables():
    x = np.array([[0, 1, 0, 1], [0, 0, 1, 1]], dtype=np.float64)  # p = A + 2B
    for f in range(16):
        logits = np.full((1, 16), -5.0)
        logits[0, f] = 5.0
        y = host.forward("original", x, np.array([[0, 1]]), logits, 2, None, True, dtype=np.float64)
        assert int(gates.pack_table(y[0] > 0.5)) == int(gates.TWO_INPUT_TABLES[f]), f


def test_extreme_parameters_stay_finite_and_agree():
    # |theta| far beyond 2 pi takes sinf's slow argument reduction; sigmoid saturates to 0/1.
    in_dim, G, B, n = 7, 6, 9, 3
    x, idx, _, gy = _case("iwp", n, in_dim, G, B, seed=5)
    theta = np.array([1e6, -1e6, 3e4, -80.0, 80.0, 1e-30, 0.0, -0.0] * 6)[: G * 8].reshape(G, 8)
    theta = theta.astype(np.float32).astype(np.float64)
    slot, ptr = build_reverse_index(torch.as_tensor(idx), in_dim)
    for est in ("sin", "sigmoid"):
        y_ref, gx_ref, gw_ref = _reference(x, idx, theta, gy, "iwp", est, False)
        y = host.forward("iwp", x, idx, theta, n, est, False)
        gx, gw = host.backward("iwp", x, idx, theta, gy, n, est, False, slot.numpy(), ptr.numpy())
        assert _rel(y, y_ref) < 1e-5 and _rel(gx, gx_ref) < 1e-5
        np.testing.assert_allclose(gw, gw_ref, atol=1e-5 * np.abs(gw_ref).max())


def test_wrong_reverse_index_is_detected():
    # Negative twin: the comparison above must be able to fail. Swapping two slots routes two
    # contributions to the wrong inputs.
    in_dim, G, B, n = 11, 9, 13, 2
    x, idx, w, gy = _case("iwp", n, in_dim, G, B, seed=6)
    _, gx_ref, _ = _reference(x, idx, w, gy, "iwp", "sin", False)
    slot, ptr = build_reverse_index(torch.as_tensor(idx), in_dim)
    slot = slot.numpy().copy()
    a = (0, 0)
    b = next((g, k) for g in range(G) for k in range(n) if idx[g, k] != idx[a])
    slot[a], slot[b] = slot[b], slot[a]
    gx, _ = host.backward("iwp", x, idx, w, gy, n, "sin", False, slot, ptr.numpy())
    assert _rel(gx, gx_ref) > 1e-3


@pytest.mark.parametrize("m", [2, 4, 8, 16, 32, 64])
def test_warp_reduce_scatter(m):
    rng = np.random.default_rng(m)
    values = rng.normal(size=(32, m)).astype(np.float32)
    out, base, owner = host.warp_reduce_scatter(values)
    total = values.astype(np.float64).sum(0)
    r = max(m // 32, 1)
    covered = np.zeros(m, dtype=int)
    for lane in np.flatnonzero(owner):
        for j in range(r):
            covered[base[lane] + j] += 1
            assert abs(out[lane, j] - total[base[lane] + j]) < 1e-5 * (1 + abs(total).max())
    np.testing.assert_array_equal(covered, 1)  # every coefficient written by exactly one lane
    assert owner.sum() == m // r


def test_host_shim_rejects_bad_configuration():
    with pytest.raises(host.HostShimError, match="unsupported configuration"):
        host.forward("iwp", np.zeros((3, 2)), np.zeros((1, 7), np.int32), np.zeros((1, 128)), 7,
                     "sin", False)
    with pytest.raises(host.HostShimError, match="float32 and float64"):
        host.forward("iwp", np.zeros((3, 2)), np.zeros((1, 1), np.int32), np.zeros((1, 2)), 1,
                     "sin", False, dtype=np.float16)
