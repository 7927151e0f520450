"""train.functional: estimators, hard rounding, and the torch lerp tree against lgn_hw.gates."""
import numpy as np
import pytest
import torch

from lgn_hw.gates import TWO_INPUT_TABLES, multilinear, table_from_coefficients, unpack_table
from train import functional as F


@pytest.mark.parametrize("n", range(1, 7))
def test_reference_matches_numpy_multilinear(n):
    rng = np.random.default_rng(n)
    G, D, B = 7, 9, 11
    coef = rng.random((G, 1 << n))
    x = rng.random((D, B))
    idx = np.stack([rng.choice(D, n, replace=False) for _ in range(G)])
    y = F.multilinear_reference(torch.from_numpy(x), torch.from_numpy(idx), torch.from_numpy(coef))
    # gates.multilinear is the direct sum over corners: an independent oracle
    xg = np.stack([x[idx[:, k]] for k in range(n)], axis=-1)  # [G, B, n]
    want = multilinear(coef[:, None, :], xg)
    np.testing.assert_allclose(y.numpy(), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", range(1, 7))
def test_corners_give_table_bits(n):
    rng = np.random.default_rng(10 + n)
    coef = torch.from_numpy(rng.random((5, 1 << n)))
    P = 1 << n
    x = torch.tensor([[(p >> k) & 1 for p in range(P)] for k in range(n)], dtype=torch.float64)
    idx = torch.arange(n).repeat(5, 1)
    y = F.multilinear_reference(x, idx, coef)
    assert torch.equal(y, coef)  # at corner p the extension equals c_p exactly


def test_rho_estimators():
    t = torch.linspace(-6, 6, 101, dtype=torch.float64)
    assert torch.allclose(F.rho(t, "sin"), 0.5 + 0.5 * torch.sin(t))
    assert torch.allclose(F.rho(t, "sigmoid"), torch.sigmoid(t))
    with pytest.raises(ValueError, match="unknown estimator 'tanh'"):
        F.rho(t, "tanh")


def test_hard_rounding_matches_gates_rule():
    c = torch.tensor([[0.5, 0.5000001, 0.4999999, 1.0], [0.0, 0.75, 0.5, 0.2]], dtype=torch.float32)
    hard = F.hard_coefficients(c).numpy() > 0.5
    np.testing.assert_array_equal(hard, unpack_table(table_from_coefficients(c.numpy()), 2).astype(bool))
    assert hard[0].tolist() == [False, True, False, True]  # strict > 0.5


def test_original_coefficients_mix_tables():
    bits = unpack_table(TWO_INPUT_TABLES, 2).astype(np.float64)
    w = torch.randn(6, 16, dtype=torch.float64)
    soft = F.original_coefficients(w, hard=False)
    np.testing.assert_allclose(soft.numpy(), torch.softmax(w, 1).numpy() @ bits, atol=1e-12)
    hard = F.original_coefficients(w, hard=True)
    np.testing.assert_array_equal(hard.numpy(), bits[w.argmax(1).numpy()])


def test_reference_forward_modes():
    x = torch.rand(4, 3, dtype=torch.float64)
    idx = torch.tensor([[0, 1], [2, 3]])
    theta = torch.randn(2, 4, dtype=torch.float64)
    soft = F.reference_forward(x, idx, theta)
    assert torch.allclose(soft, F.multilinear_reference(x, idx, F.rho(theta)))
    hard = F.reference_forward((x > 0.5).double(), idx, theta, hard=True)
    assert set(hard.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="unknown parametrisation"):
        F.reference_forward(x, idx, theta, param="walsh")
    with pytest.raises(ValueError, match="coef has shape"):
        F.multilinear_reference(x, idx, theta[:, :3])
