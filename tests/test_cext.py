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


# ---- learned connections: the candidate mix fused into the kernel (cext.mixed_multilinear) ----

def _mixed_case(n, C, B, dtype, G=13, D=21, seed=0):
    g = torch.Generator().manual_seed(seed * 1000 + n * 100 + C * 10 + B)
    x = torch.rand(D, B, dtype=dtype, generator=g)
    cand = torch.randint(0, D, (G, n, C), generator=g).to(torch.int32)
    w = torch.softmax(torch.randn(G, n, C, dtype=dtype, generator=g) * 2, 2)
    c = torch.rand(G, 1 << n, dtype=dtype, generator=g)
    dy = torch.randn(G, B, dtype=dtype, generator=g)
    return x, cand, w, c, dy


def _mixed_reference(x, cand, w, c):
    G, n, C = cand.shape
    xin = (w.unsqueeze(-1) * x[cand.long().reshape(-1)].view(G, n, C, x.shape[1])).sum(2)
    return F.multilinear_reference(xin.reshape(G * n, -1), torch.arange(G * n).view(G, n), c)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 3e-5)])
@pytest.mark.parametrize("n,C", [(1, 1), (2, 3), (4, 4), (6, 4), (6, 16), (5, 7)])
def test_mixed_equals_reference_with_gradients(n, C, dtype, tol, threads):
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for B in (1, 16, 37):
            x, cand, w, c, dy = _mixed_case(n, C, B, dtype)
            args = [t.clone().requires_grad_(True) for t in (x, w, c)]
            y = cext.mixed_multilinear(args[0], cand, args[1], args[2])
            got = torch.autograd.grad(y, args, dy)
            ref_args = [t.clone().requires_grad_(True) for t in (x, w, c)]
            yr = _mixed_reference(ref_args[0], cand, ref_args[1], ref_args[2])
            want = torch.autograd.grad(yr, ref_args, dy)
            scale = max(1.0, B / 16) * C
            torch.testing.assert_close(y, yr, atol=tol, rtol=tol)
            for a, b in zip(got, want):
                torch.testing.assert_close(a, b, atol=tol * scale * 4, rtol=tol)
    finally:
        torch.set_num_threads(old)


def test_mixed_no_input_gradient_and_gradcheck():
    x, cand, w, c, dy = _mixed_case(3, 4, 9, torch.float64, G=4, D=6)
    wg, cg = w.clone().requires_grad_(True), c.clone().requires_grad_(True)
    y = cext.mixed_multilinear(x, cand, wg, cg)  # x needs no grad: the kernel skips dx
    got = torch.autograd.grad(y, (wg, cg), dy)
    wr, cr = w.clone().requires_grad_(True), c.clone().requires_grad_(True)
    want = torch.autograd.grad(_mixed_reference(x, cand, wr, cr), (wr, cr), dy)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)
    torch.autograd.gradcheck(lambda a, b, d: cext.mixed_multilinear(a, cand, b, d),
                             (x.clone().requires_grad_(True), w.clone().requires_grad_(True),
                              c.clone().requires_grad_(True)))


def test_mixed_repeated_candidates_accumulate_and_wrong_mix_is_caught():
    x, cand, w, c, dy = _mixed_case(2, 3, 20, torch.float64, G=3, D=2)  # 2 rows: many repeats
    xg = x.clone().requires_grad_(True)
    gx, = torch.autograd.grad(cext.mixed_multilinear(xg, cand, w, c), xg, dy)
    xr = x.clone().requires_grad_(True)
    rx, = torch.autograd.grad(_mixed_reference(xr, cand, w, c), xr, dy)
    torch.testing.assert_close(gx, rx)
    # negative twin: the same kernel with one candidate's weight moved is a different function
    w2 = w.clone()
    w2[0, 0] = w2[0, 0].flip(0)
    assert not torch.allclose(cext.mixed_forward(x, cand, w2, c), _mixed_reference(x, cand, w, c))


def test_mixed_rejects_bad_arguments():
    x, cand, w, c, _ = _mixed_case(2, 3, 4, torch.float64)
    with pytest.raises(TypeError, match="contiguous int32"):
        cext.mixed_multilinear(x, cand.long(), w, c)
    with pytest.raises(ValueError, match="mixed layer shapes"):
        cext.mixed_multilinear(x, cand, w[:, :1], c)
    big = torch.zeros(2, 2, cext.max_candidates() + 1, dtype=torch.int32)
    with pytest.raises(ValueError, match="supports 1..16 candidates"):
        cext.mixed_multilinear(x, big, torch.zeros(big.shape, dtype=x.dtype),
                               torch.zeros(2, 4, dtype=x.dtype))
