"""train.cext: the fused C kernel equals the torch reference (values and gradients), in float32
and float64, for fan-in 1..6, odd batch sizes and 1 or 2 threads; results are deterministic."""
import pytest
import torch

from train import cext
from train import functional as F

pytestmark = pytest.mark.skipif(not (cext.available(torch.float32) and cext.available(torch.float64)),
                                reason="no C compiler: fused kernel not built")


def _case(n, B, dtype, G=37, D=23, seed=0):
    g = torch.Generator().manual_seed(seed * 100 + n * 10 + B)
    x = torch.rand(D, B, dtype=dtype, generator=g)
    idx = torch.stack([torch.randperm(D, generator=g)[:n] for _ in range(G)]).to(torch.int32)
    c = torch.rand(G, 1 << n, dtype=dtype, generator=g)
    dy = torch.randn(G, B, dtype=dtype, generator=g)
    return x, idx, c, dy


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
@pytest.mark.parametrize("n", range(1, 7))
def test_fused_equals_reference(n, dtype, tol, threads):
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for B in (1, 15, 16, 33, 130):
            x, idx, c, dy = _case(n, B, dtype)
            x.requires_grad_(True)
            c.requires_grad_(True)
            y = cext.multilinear(x, idx, c)
            gx, gc = torch.autograd.grad(y, (x, c), dy)
            yr = F.multilinear_reference(x, idx.long(), c)
            rx, rc = torch.autograd.grad(yr, (x, c), dy)
            scale = max(1.0, B / 16)
            torch.testing.assert_close(y, yr, atol=tol, rtol=tol)
            torch.testing.assert_close(gx, rx, atol=tol * scale, rtol=tol)
            torch.testing.assert_close(gc, rc, atol=tol * scale * 4, rtol=tol)
    finally:
        torch.set_num_threads(old)


def test_repeated_inputs_accumulate():
    # in_dim < fan-in forces a gate to read one row twice: both partials must land in dx
    x = torch.rand(2, 20, dtype=torch.float64, requires_grad=True)
    idx = torch.tensor([[0, 0, 1], [1, 1, 1]], dtype=torch.int32)
    c = torch.rand(2, 8, dtype=torch.float64)
    dy = torch.randn(2, 20, dtype=torch.float64)
    gx, = torch.autograd.grad(cext.multilinear(x, idx, c), x, dy)
    rx, = torch.autograd.grad(F.multilinear_reference(x, idx.long(), c), x, dy)
    torch.testing.assert_close(gx, rx)


def test_no_input_gradient_path():
    x, idx, c, dy = _case(3, 40, torch.float64)
    c.requires_grad_(True)
    y = cext.multilinear(x, idx, c)  # x needs no grad: the kernel skips dx
    gc, = torch.autograd.grad(y, c, dy)
    rc, = torch.autograd.grad(F.multilinear_reference(x, idx.long(), c), c, dy)
    torch.testing.assert_close(gc, rc)


def test_deterministic():
    x, idx, c, dy = _case(4, 128, torch.float32)
    a = cext.backward(x, idx, c, dy, True)
    b = cext.backward(x, idx, c, dy, True)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_hard_coefficients_are_exact_on_bits():
    x, idx, c, _ = _case(5, 64, torch.float32)
    bits = (x > 0.5).float()
    hard = F.hard_coefficients(c)
    assert torch.equal(cext.forward(bits, idx, hard), F.multilinear_reference(bits, idx.long(), hard))


def test_gradcheck_fused_float64():
    x, idx, c, _ = _case(3, 5, torch.float64, G=4, D=6)
    torch.autograd.gradcheck(lambda a, b: cext.multilinear(a, idx, b),
                             (x.requires_grad_(True), c.requires_grad_(True)))


def test_rejects_unsupported_dtype():
    x, idx, c, _ = _case(2, 4, torch.float64)
    with pytest.raises(TypeError, match="float32/float64"):
        cext.forward(x.half(), idx, c.half())
