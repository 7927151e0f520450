"""The autograd Functions and launch plumbing of train.kernels.

Without a GPU, the launches are emulated: each "kernel" binds its arguments by the parameter names
parsed from the CUDA signatures in layer_kernels.cu, checks that the grid covers every gate/row and
sample, and computes with the host shim (the kernels' own device arithmetic compiled for the CPU).
That checks argument order, launch shapes, the reverse index hand-off and the autograd wiring; only
the device execution itself is left to the @gpu tests, which skip without a CUDA device.
"""
from __future__ import annotations

import contextlib
import functools
import re
import subprocess
import sys
import types

import numpy as np
import pytest
import torch

import train.kernels as kernels
from train import functional as F
from train.kernels import checks, functions, host
from train.kernels import compile as kc

CONFIGS = [("iwp", n, est, hard) for n in range(1, 7) for est in ("sin", "sigmoid")
           for hard in (False, True)] + [("original", 2, None, False), ("original", 2, None, True)]


def _signatures() -> dict[str, list[str]]:
    src = kc.source_path("layer_kernels.cu").read_text()
    sigs = {}
    for name in ("iwp_forward", "iwp_backward", "orig_forward", "orig_backward", "gather_rows"):
        m = re.search(rf"\n{name}\(([^)]*)\)\s*\{{", src)
        sigs[name] = [re.findall(r"\w+", p)[-1] for p in m.group(1).split(",")]
    return sigs


SIGS = _signatures()


class EmulatedKernel:
    def __init__(self, kind, param, n, est, hard, log):
        self.kind, self.param, self.n, self.est, self.hard, self.log = kind, param, n, est, hard, log

    def __call__(self, grid, block, args):
        prefix = "iwp" if self.param == "iwp" else "orig"
        name = {"forward": f"{prefix}_forward", "backward_gx": f"{prefix}_backward",
                "backward": f"{prefix}_backward", "gather": "gather_rows"}[self.kind]
        sig = SIGS[name]
        assert len(args) == len(sig), (name, len(args), sig)
        a = {k: (int(v) if isinstance(v, np.integer) else v) for k, v in zip(sig, args)}
        for k, v in a.items():
            assert isinstance(v, (int, torch.Tensor)), (name, k, type(v))
        self.log.append(self.kind)
        w = a["theta" if self.param == "iwp" else "logits"].numpy() if self.kind != "gather" else None
        if self.kind == "forward":
            G, B, chunk = a["G"], a["B"], a["chunk"]
            assert block == (128,) and (grid[0] - 1) * 4 < G <= grid[0] * 4
            assert (grid[1] - 1) * chunk < B <= grid[1] * chunk
            y = host.forward(self.param, a["x"].numpy(), a["idx"].numpy(), w, self.n, self.est,
                             self.hard)
            a["y"].copy_(torch.from_numpy(y))
        elif self.kind in ("backward", "backward_gx"):
            G = a["G"]
            assert block == (128,) and len(grid) == 1 and (grid[0] - 1) * 4 < G <= grid[0] * 4
            slot = a["slot"].numpy() if self.kind == "backward_gx" else np.zeros(a["idx"].shape, np.int32)
            gw, partial = host.backward_partial(self.param, a["x"].numpy(), a["idx"].numpy(), w,
                                                a["gy"].numpy(), self.n, self.est, self.hard, slot)
            if not self.hard:
                a["gtheta" if self.param == "iwp" else "glogits"].copy_(torch.from_numpy(gw))
            if self.kind == "backward_gx":
                a["partial"].copy_(torch.from_numpy(partial))
        else:
            rows, B, chunk = a["rows"], a["B"], a["chunk"]
            assert block == (256,) and (grid[0] - 1) * 8 < rows <= grid[0] * 8
            assert (grid[1] - 1) * chunk < B <= grid[1] * chunk
            a["gx"].copy_(torch.from_numpy(host.gather(a["partial"].numpy(), a["ptr"].numpy(), rows)))


@pytest.fixture
def emulated(monkeypatch):
    log: list[str] = []

    def get_kernels(device_index, param, n, estimator, hard):
        return {k: EmulatedKernel(k, param, n, estimator, hard, log)
                for k in ("forward", "backward_gx", "backward", "gather")}

    @contextlib.contextmanager
    def stream(device):
        yield types.SimpleNamespace(from_dlpack=lambda t: t)

    monkeypatch.setattr(kc, "get_kernels", get_kernels)
    monkeypatch.setattr(functions, "_torch_stream", stream)
    monkeypatch.setattr(functions, "check_layer_args",
                        functools.partial(checks.check_layer_args, require_cuda=False))
    return log


def _inputs(param, n, in_dim, G, B, seed, device="cpu"):
    rng = np.random.default_rng(seed)
    idx = np.stack([rng.choice(in_dim, size=n, replace=False) for _ in range(G)])
    P = 16 if param == "original" else 1 << n
    x = torch.tensor(rng.random((in_dim, B)), dtype=torch.float32, device=device)
    w = torch.tensor(rng.normal(0, 1.5, (G, P)), dtype=torch.float32, device=device)
    return x, torch.tensor(idx, dtype=torch.int32, device=device), w


def _apply(param, x, idx, w, n, est, hard):
    if param == "iwp":
        return kernels.iwp_apply(x, idx, w, n, est, hard)
    return kernels.original_apply(x, idx, w, hard)


def _check_against_reference(param, n, est, hard, x, idx, w, gy_fn, tol=3e-5):
    xk, wk = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    with functions.poison_outputs():
        y = _apply(param, xk, idx, wk, n, est, hard)
        gy_fn(y).backward()
    xr = x.detach().cpu().double().requires_grad_(True)
    wr = w.detach().cpu().double().requires_grad_(True)
    yr = F.reference_forward(xr, idx.cpu().long(), wr, param=param, estimator=est or "sin", hard=hard)
    gy_fn(yr).backward()
    for got, ref in ((y, yr), (xk.grad, xr.grad), (wk.grad, wr.grad)):
        if ref is None:
            assert got is None
            continue
        got = got.detach().cpu().double()
        assert torch.isfinite(got).all()
        assert (got - ref).abs().max() <= tol * ref.abs().max()


def _weighted(seed):
    def fn(y):
        g = torch.Generator().manual_seed(seed)
        return (y * torch.randn(y.shape, generator=g, dtype=torch.float64).to(y)).sum()
    return fn


@pytest.mark.parametrize("param,n,est,hard", CONFIGS)
def test_emulated_launches_match_reference(emulated, param, n, est, hard):
    x, idx, w = _inputs(param, n, 29, 23, 41, seed=n)
    _check_against_reference(param, n, est, hard, x, idx, w, _weighted(n))
    assert emulated == ["forward", "backward_gx", "gather"]


def test_batch_beyond_one_chunk_and_gates_beyond_one_block(emulated):
    x, idx, w = _inputs("iwp", 3, 37, 9, kc.BATCH_CHUNK + 77, seed=1)
    _check_against_reference("iwp", 3, "sin", False, x, idx, w, _weighted(2))


def test_no_input_gradient_skips_partials_and_gather(emulated):
    x, idx, w = _inputs("iwp", 4, 17, 11, 19, seed=2)
    wk = w.clone().requires_grad_(True)
    _apply("iwp", x, idx, wk, 4, "sigmoid", False).sum().backward()
    assert emulated == ["forward", "backward"]
    wr = w.double().requires_grad_(True)
    F.reference_forward(x.double(), idx.long(), wr, estimator="sigmoid").sum().backward()
    torch.testing.assert_close(wk.grad.double(), wr.grad, rtol=1e-4, atol=1e-5)


def test_frozen_parameters_input_gradient_only(emulated):
    x, idx, w = _inputs("iwp", 3, 19, 13, 21, seed=7)
    xk = x.clone().requires_grad_(True)
    y = kernels.iwp_apply(xk, idx, w, 3, "sin")  # w does not require grad
    gy = torch.randn(y.shape, generator=torch.Generator().manual_seed(1))
    gy_copy = gy.clone()
    y.backward(gy)
    assert torch.equal(gy, gy_copy)  # the output gradient is never used as scratch space
    xr = x.double().requires_grad_(True)
    F.reference_forward(xr, idx.long(), w.double()).backward(gy.double())
    torch.testing.assert_close(xk.grad.double(), xr.grad, rtol=1e-4, atol=1e-5)
    assert w.grad is None and emulated == ["forward", "backward_gx", "gather"]


def test_hard_mode_without_input_gradient_launches_no_backward(emulated):
    x, idx, w = _inputs("original", 2, 9, 5, 7, seed=3)
    y = _apply("original", x, idx, w.requires_grad_(True), 2, None, True)
    assert y.requires_grad
    y.sum().backward()
    assert emulated == ["forward"]  # hard mode has no parameter gradient, x needs none
    assert w.grad is None


def test_groupsum_gradient_is_not_contiguous_and_works(emulated):
    from train.layers import GroupSum

    x, idx, w = _inputs("iwp", 2, 21, 12, 15, seed=4)
    head = GroupSum(3, tau=2.0)
    _check_against_reference("iwp", 2, "sin", False, x, idx, w,
                             lambda y: (head(y) * torch.arange(3.0).to(y)).sum())


def test_empty_batch(emulated):
    x, idx, w = _inputs("iwp", 2, 5, 3, 0, seed=5)
    xk, wk = x.requires_grad_(True), w.requires_grad_(True)
    y = kernels.iwp_apply(xk, idx, wk, 2, "sin")
    assert y.shape == (3, 0)
    y.sum().backward()
    assert xk.grad.shape == (5, 0) and torch.equal(wk.grad, torch.zeros_like(wk))
    assert emulated == []


def test_out_of_range_connection_is_refused_before_launch(emulated):
    x, idx, w = _inputs("iwp", 2, 5, 3, 4, seed=6)
    idx[2, 1] = 5
    with pytest.raises(kernels.KernelArgumentError, match=r"idx\[2, 1\] = 5 is out of range"):
        kernels.iwp_apply(x, idx, w, 2, "sin")
    assert emulated == []


def test_poison_outputs_context():
    like = torch.zeros(1)
    with functions.poison_outputs():
        assert torch.isnan(functions._alloc((2, 3), like)).all()
    assert functions._alloc((2,), like).shape == (2,)
    assert not getattr(functions._state, "poison")


# ---- argument checks (real, no emulation) ----

def _ok(param="iwp", n=2, G=3, B=4, in_dim=5):
    P = 16 if param == "original" else 1 << n
    return (torch.zeros(in_dim, B), torch.zeros(G, n, dtype=torch.int32), torch.zeros(G, P))


@pytest.mark.parametrize("mutate,kwargs,message", [
    (lambda x, i, w: (x.double(), i, w), {}, "x must be float32"),
    (lambda x, i, w: (x, i.long(), w), {}, "idx must be int32, got torch.int64"),
    (lambda x, i, w: (x, i, w.half()), {}, "parameters must be float32"),
    (lambda x, i, w: (x[0], i, w), {}, r"x must have shape \(in_dim, B\), got \(4\)"),
    (lambda x, i, w: (x, i[:, :1], w), {}, r"idx must have shape \(G, 2\), got \(3, 1\)"),
    (lambda x, i, w: (x, i, w[:, :3]), {}, r"theta must have shape \(3, 4\), got \(3, 3\)"),
    (lambda x, i, w: (x, i, w), {"fan_in": 7}, "fan_in must be an integer in 1..6, got 7"),
    (lambda x, i, w: (x, i, w), {"estimator": "tanh"}, "unknown estimator 'tanh'"),
    (lambda x, i, w: (x, i, w), {}, "the CUDA kernels need CUDA tensors, got cpu"),
])
def test_check_layer_args_messages(mutate, kwargs, message):
    x, i, w = mutate(*_ok())
    args = {"param": "iwp", "fan_in": 2, "estimator": "sin", **kwargs}
    with pytest.raises(kernels.KernelArgumentError, match=message):
        checks.check_layer_args(x, i, w, **args)


def test_check_layer_args_original():
    x, i, w = _ok("original")
    checks.check_layer_args(x, i, w, param="original", fan_in=2, estimator=None, require_cuda=False)
    with pytest.raises(kernels.KernelArgumentError, match=r"logits must have shape \(3, 16\)"):
        checks.check_layer_args(x, i, w[:, :4], param="original", fan_in=2, estimator=None,
                                require_cuda=False)


def test_public_functions_refuse_cpu_tensors_with_one_line():
    x, i, w = _ok()
    with pytest.raises(kernels.KernelArgumentError, match="need CUDA tensors"):
        kernels.iwp_apply(x, i, w, 2, "sin")
    x, i, w = _ok("original")
    with pytest.raises(kernels.KernelArgumentError, match="need CUDA tensors"):
        kernels.original_apply(x, i, w)


def test_available_is_false_here_and_never_raises(monkeypatch):
    assert isinstance(kernels.available(), bool)
    if not torch.cuda.is_available():
        assert kernels.available() is False
    monkeypatch.setenv("LGN_HW_NO_CUDA_KERNELS", "1")
    assert kernels.available() is False


def test_importing_kernels_does_not_import_cupy():
    code = ("import sys, train.kernels as k, train.kernels.functions, train.kernels.host; "
            "assert 'cupy' not in sys.modules, 'cupy imported'; k.available(); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# ---- on a GPU (skip cleanly without one) ----

gpu = pytest.mark.skipif(not kernels.available(), reason="no CUDA device (or CuPy) available")


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("param,n,est,hard", CONFIGS)
def test_gpu_kernels_match_reference(param, n, est, hard):
    x, idx, w = _inputs(param, n, 1000, 1001, 333, seed=n, device="cuda")
    _check_against_reference(param, n, est, hard, x, idx, w, _weighted(n))


@pytest.mark.gpu
@gpu
def test_gpu_backward_is_deterministic():
    x, idx, w = _inputs("iwp", 6, 300, 500, 257, seed=9, device="cuda")
    grads = []
    for _ in range(2):
        xk, wk = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        kernels.iwp_apply(xk, idx, wk, 6, "sin").square().sum().backward()
        grads.append((xk.grad, wk.grad))
    assert torch.equal(grads[0][0], grads[1][0]) and torch.equal(grads[0][1], grads[1][1])


@pytest.mark.gpu
@gpu
def test_gpu_layers_dispatch_to_kernels():
    from train.layers import IWPLayer, OriginalLayer

    for layer in (IWPLayer(300, 200, fan_in=4, seed=1), OriginalLayer(300, 200, seed=1)):
        layer = layer.cuda()
        x = torch.rand(300, 77, device="cuda")
        for training in (True, False):
            layer.train(training)
            torch.testing.assert_close(layer(x), layer.reference_forward(x), rtol=1e-5, atol=1e-5)
