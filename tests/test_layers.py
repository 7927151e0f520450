"""train.layers: float64 gradcheck of the IWP layer (n = 1..6) and the original layer, on the
fused path and on the reference; connections; initialisations; hard eval mode; GroupSum."""
import numpy as np
import pytest
import torch

from lgn_hw.gates import passthrough_table
from train import cext
from train import functional as F
from train.layers import (ORIGINAL_PASS_FUNCTION, GroupSum, IWPLayer, OriginalLayer,
                          random_connections)


def _x(D, B, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (0.05 + 0.9 * torch.rand(D, B, dtype=torch.float64, generator=g)).requires_grad_(True)


@pytest.mark.parametrize("estimator", ["sin", "sigmoid"])
@pytest.mark.parametrize("n", range(1, 7))
def test_iwp_gradcheck(n, estimator):
    layer = IWPLayer(8, 5, n, estimator=estimator, init="gaussian", seed=n).double()
    x = _x(8, 3, n)
    torch.autograd.gradcheck(lambda a: layer(a), (x,))  # input gradient
    torch.autograd.gradcheck(lambda t: F.multilinear_reference(x, layer.idx, F.rho(t, estimator)),
                             (layer.theta.detach().clone().requires_grad_(True),))
    # parameter gradient through the module's own dispatch (fused kernel when available)
    theta = layer.theta

    def f(t):
        coef = F.rho(t, estimator)
        if cext.available(torch.float64):
            return cext.multilinear(x, layer.idx32, coef)
        return F.multilinear_reference(x, layer.idx, coef)

    torch.autograd.gradcheck(f, (theta.detach().clone().requires_grad_(True),))


def test_original_gradcheck():
    layer = OriginalLayer(6, 4, init="gaussian", seed=3).double()
    x = _x(6, 3)
    torch.autograd.gradcheck(lambda a: layer(a), (x,))
    torch.autograd.gradcheck(
        lambda w: F.reference_forward(x, layer.idx, w, param="original"),
        (layer.logits.detach().clone().requires_grad_(True),))
    # module forward+backward equals the reference path
    w = layer.logits
    y = layer(x)
    y.sum().backward()
    g_fast = w.grad.clone()
    w.grad = None
    layer.reference_forward(x).sum().backward()
    torch.testing.assert_close(g_fast, w.grad)


@pytest.mark.parametrize("n", range(1, 7))
def test_fast_path_equals_reference(n):
    layer = IWPLayer(40, 30, n, init="gaussian", seed=n)
    x = torch.rand(40, 50, requires_grad=True)
    y = layer(x)
    dy = torch.randn_like(y)
    gx, gt = torch.autograd.grad(y, (x, layer.theta), dy)
    yr = layer.reference_forward(x)
    rx, rt = torch.autograd.grad(yr, (x, layer.theta), dy)
    torch.testing.assert_close(y, yr, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(gx, rx, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(gt, rt, atol=1e-4, rtol=1e-4)


def test_connections_distinct_and_balanced():
    rng = np.random.default_rng(0)
    idx = random_connections(100, 300, 6, rng)
    assert idx.shape == (300, 6) and idx.min() >= 0 and idx.max() < 100
    assert all(len(set(row)) == 6 for row in idx)
    counts = np.bincount(idx.ravel(), minlength=100)
    assert counts.min() >= 1  # every input is read
    small = random_connections(3, 4, 5, np.random.default_rng(1))  # in_dim < fan-in: repeats allowed
    assert small.shape == (4, 5) and small.max() < 3


def test_connections_seeded():
    a = IWPLayer(50, 20, 3, seed=7)
    b = IWPLayer(50, 20, 3, seed=7)
    c = IWPLayer(50, 20, 3, seed=8)
    assert torch.equal(a.idx, b.idx) and torch.equal(a.theta, b.theta)
    assert not torch.equal(a.idx, c.idx)


@pytest.mark.parametrize("estimator,mu", [("sin", 1.2), ("sigmoid", 3.0)])
@pytest.mark.parametrize("n", [1, 2, 4, 6])
def test_residual_init_is_passthrough(n, estimator, mu):
    layer = IWPLayer(20, 2000, n, estimator=estimator, init="residual", seed=1)
    assert np.all(layer.tables() == passthrough_table(n, 0))
    bits = (np.arange(1 << n) & 1).astype(bool)
    th = layer.theta.detach().numpy()
    # heavy-tail shift: +-mu + N(0, 0.25^2)
    assert abs(th[:, bits].mean() - mu) < 0.02 and abs(th[:, ~bits].mean() + mu) < 0.02
    assert abs(th[:, bits].std() - 0.25) < 0.02


def test_gaussian_init_and_original_residual():
    layer = IWPLayer(20, 3000, 2, init="gaussian", seed=2)
    th = layer.theta.detach()
    assert abs(float(th.mean())) < 0.05 and abs(float(th.std()) - 1) < 0.05
    orig = OriginalLayer(20, 10, init="residual")
    assert torch.all(orig.logits[:, ORIGINAL_PASS_FUNCTION] == 5.0)
    assert float(orig.logits.detach().abs().sum()) == 50.0
    assert np.all(orig.tables() == passthrough_table(2, 0))


@pytest.mark.parametrize("make", [lambda: IWPLayer(30, 25, 4, init="gaussian"),
                                  lambda: OriginalLayer(30, 25, init="gaussian")])
def test_eval_mode_is_boolean_and_matches_tables(make):
    from lgn_hw.gates import eval_tables

    layer = make().eval()
    bits = (torch.rand(30, 70) > 0.5).float()
    y = layer(bits)
    assert set(y.unique().tolist()) <= {0.0, 1.0}
    idx = layer.idx.numpy()
    want = eval_tables(layer.tables()[:, None], layer.fan_in,
                       np.stack([bits.numpy()[idx[:, k]] for k in range(layer.fan_in)], -1))
    np.testing.assert_array_equal(y.numpy(), want)


def test_layer_errors():
    with pytest.raises(ValueError, match="fan-in must be an integer in 1..6"):
        IWPLayer(10, 5, 7)
    with pytest.raises(ValueError, match="fan-in must be an integer in 1..6"):
        IWPLayer(10, 5, 0)
    with pytest.raises(ValueError, match="original parametrisation has fan-in 2"):
        OriginalLayer(10, 5, fan_in=3)
    with pytest.raises(ValueError, match="unknown init"):
        IWPLayer(10, 5, 2, init="xavier")
    with pytest.raises(ValueError, match=r"expected activations of shape \(10, B\)"):
        IWPLayer(10, 5, 2)(torch.rand(11, 3))


def test_groupsum():
    gs = GroupSum(3, tau=2.0)
    y = torch.arange(12, dtype=torch.float32).reshape(6, 2)  # [W=6, B=2]
    out = gs(y)
    assert out.shape == (2, 3)
    torch.testing.assert_close(out[0], torch.tensor([0 + 2, 4 + 6, 8 + 10]) / 2.0)
    with pytest.raises(ValueError, match="width 7 is not divisible by the number of classes 3"):
        gs(torch.rand(7, 2))
    with pytest.raises(ValueError, match="tau must be a positive number"):
        GroupSum(3, tau=0.0)


def test_state_dict_roundtrip_restores_int32_connections():
    a = IWPLayer(50, 20, 3, seed=1)
    b = IWPLayer(50, 20, 3, seed=2)
    b.load_state_dict(a.state_dict())
    assert torch.equal(b.idx32, a.idx.int())
    x = torch.rand(50, 8)
    torch.testing.assert_close(a(x), b(x))


@pytest.mark.gpu
@pytest.mark.parametrize("make", [lambda: IWPLayer(64, 48, 3, init="gaussian", seed=1),
                                  lambda: OriginalLayer(64, 48, init="gaussian", seed=1)])
def test_cuda_layer_matches_cpu(make):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cpu = make()
    gpu = make().cuda()
    x = torch.rand(64, 40, requires_grad=True)
    xg = x.detach().cuda().requires_grad_(True)
    y, yg = cpu(x), gpu(xg)
    dy = torch.randn_like(y)
    y.backward(dy)
    yg.backward(dy.cuda())
    torch.testing.assert_close(yg.cpu(), y, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(xg.grad.cpu(), x.grad, atol=1e-4, rtol=1e-4)
    for p, pg in zip(cpu.parameters(), gpu.parameters()):
        torch.testing.assert_close(pg.grad.cpu(), p.grad, atol=1e-4, rtol=1e-4)
    cpu.eval()
    gpu.eval()
    bits = (torch.rand(64, 100) > 0.5).float()
    assert torch.equal(gpu(bits.cuda()).cpu(), cpu(bits))


@pytest.mark.parametrize("kind", ["iwp", "original", "learned"])
def test_straight_through_forward_is_the_hard_network_with_soft_gradients(kind):
    """--hard-finetune: in training mode with straight_through set, the forward pass equals eval
    mode (the discretized gates) and gradients still reach every parameter kind."""
    from train.connections import LearnedConnectionsIWPLayer
    from train.layers import IWPLayer, OriginalLayer

    torch.manual_seed(0)
    if kind == "iwp":
        layer = IWPLayer(12, 20, 3, init="gaussian", seed=1)
    elif kind == "original":
        layer = OriginalLayer(12, 20, 2, init="gaussian", seed=1)
    else:
        layer = LearnedConnectionsIWPLayer(12, 20, 3, init="gaussian", seed=1, candidates=3)
        with torch.no_grad():
            layer.conn.normal_()
    x = torch.randint(0, 2, (12, 33)).double()
    layer.double().eval()
    hard = layer(x).detach()
    layer.train()
    soft = layer(x).detach()
    layer.straight_through = True
    y = layer(x)
    assert torch.equal(y.detach(), hard) and not torch.allclose(soft, hard)
    y.square().sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
