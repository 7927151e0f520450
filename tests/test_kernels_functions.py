"""The autograd Functions, launch plan and launch plumbing of train.kernels, with the kernels
themselves executed: without a GPU through train.kernels.emulate (layer_kernels.cu compiled as host
C++ under a CUDA thread/warp model), on a GPU through CuPy (the @gpu tests, skipped without one).

The emulated tests run the unchanged launch code (train/kernels/functions.py: plan, grids,
argument order checked against each kernel's own signature, reverse index, autograd) and the
kernels' own source for every block and thread, with every output NaN-poisoned first; only the
device and NVRTC's code generation are left to the @gpu tests (and tests/test_kernels_compile.py).
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import train.kernels as kernels
from train import functional as F
from train.kernels import checks, functions, plan
from train.kernels import compile as kc
from train.kernels.emulate import EmulatedKernel, EmulatorError, emulation
from train.kernels.reverse_index import CACHE as REVERSE_INDEX

CONFIGS = kc.all_configs()


def _inputs(param, n, in_dim, G, B, seed, device="cpu"):
    rng = np.random.default_rng(seed)
    idx = np.stack([rng.choice(in_dim, size=n, replace=False) for _ in range(G)])
    P = 16 if param == "original" else 1 << n
    x = torch.tensor(rng.random((in_dim, B)), dtype=torch.float32, device=device)
    w = torch.tensor(rng.normal(0, 1.5, (G, P)), dtype=torch.float32, device=device)
    return x, torch.tensor(idx, dtype=torch.int32, device=device), w


def _apply(param, x, idx, w, n, est, mode):
    if param == "iwp":
        return kernels.iwp_apply(x, idx, w, n, est, mode=mode)
    return kernels.original_apply(x, idx, w, mode=mode)


def reference(param, n, est, mode, x, idx, w):
    """float64 torch: soft, hard, or straight-through (hard coefficients forward, soft gradient)."""
    est = est or "sin"
    if param == "iwp":
        soft = F.rho(w, est)
        hard = F.hard_coefficients(soft)
    else:
        soft, hard = F.original_coefficients(w, False), F.original_coefficients(w, True)
    coef = {"soft": soft, "hard": hard, "ste": hard.detach() + soft - soft.detach()}[mode]
    return F.multilinear_reference(x, idx.long(), coef)


def _check_against_reference(param, n, est, mode, x, idx, w, gy_fn, tol=3e-5, need_x=True):
    xk = x.clone().requires_grad_(need_x)
    wk = w.clone().requires_grad_(True)
    with functions.poison_outputs():
        y = _apply(param, xk, idx, wk, n, est, mode)
        gy_fn(y).backward()
    xr = x.detach().cpu().double().requires_grad_(need_x)
    wr = w.detach().cpu().double().requires_grad_(True)
    yr = reference(param, n, est, mode, xr, idx.cpu(), wr)
    gy_fn(yr).backward()
    pairs = [(y, yr), (wk.grad, None if mode == "hard" else wr.grad)]
    if need_x:
        pairs.append((xk.grad, xr.grad))
    for got, ref in pairs:
        if ref is None:
            assert got is None
            continue
        got = got.detach().cpu().double()
        assert torch.isfinite(got).all(), "an output element was never written"
        assert (got - ref).abs().max() <= tol * ref.abs().max()


def _weighted(seed):
    def fn(y):
        g = torch.Generator().manual_seed(seed)
        return (y * torch.randn(y.shape, generator=g, dtype=torch.float64).to(y)).sum()
    return fn


@pytest.fixture
def emulator():
    with emulation() as emu:
        yield emu


@pytest.fixture
def emulated(emulator):
    return emulator.log


@pytest.mark.parametrize("param,n,est,mode", CONFIGS)
def test_emulated_kernels_match_reference(emulated, param, n, est, mode):
    x, idx, w = _inputs(param, n, 29, 23, 41, seed=n)
    _check_against_reference(param, n, est, mode, x, idx, w, _weighted(n))
    assert emulated == ["forward", "backward_gx", "gather"]


@pytest.mark.parametrize("need_x", [True, False])
def test_backward_in_ranges_and_slices(emulated, monkeypatch, need_x):
    """A batch split into several ranges (bounded scratch) of several slices each, the last range
    shorter (fewer slices): values and gradients still match, and each range is one launch."""
    G, n, B = 9, 3, 700
    monkeypatch.setattr(plan, "SCRATCH_BYTES", 4 * G * n * 320)  # ranges of 320 samples
    p = plan.backward_plan(G, n, B, True, 132, plan.SCRATCH_BYTES)
    assert p.ranges == ((0, 320), (320, 640), (640, 700)) and p.slices == 2
    assert p.slices_of(640, 700) == 1
    x, idx, w = _inputs("iwp", n, 37, G, B, seed=1)
    _check_against_reference("iwp", n, "sin", "soft", x, idx, w, _weighted(2), need_x=need_x)
    if need_x:
        assert emulated == ["forward"] + ["backward_gx", "gather"] * 3
    else:  # no input gradient: no scratch, so one range of the whole batch, sliced
        assert emulated == ["forward", "backward"]


def test_first_layer_expanded_output_gradient_over_several_ranges(emulated, monkeypatch):
    """The first layer's backward (x needs no gradient) with a stride-0 output gradient (y.sum())
    and a batch of several ranges, in every mode that has a parameter gradient."""
    monkeypatch.setattr(plan, "SCRATCH_BYTES", 4 * 11 * 4 * 64)
    for mode in ("soft", "ste"):
        emulated.clear()
        x, idx, w = _inputs("iwp", 4, 17, 11, 300, seed=2)
        _check_against_reference("iwp", 4, "sigmoid", mode, x, idx, w, lambda y: y.sum(),
                                 need_x=False)
        assert emulated == ["forward", "backward"]


def test_a_dropped_range_is_caught(emulated, monkeypatch):
    """Negative twin of the range tests: a plan that forgets the last range leaves poisoned
    (NaN) input-gradient columns, and the check fails."""
    real = functions.backward_plan

    def short(*args):
        p = real(*args)
        return plan.BackwardPlan(p.width, p.ranges[:-1], p.slices, p.span, p.scratch_bytes)

    monkeypatch.setattr(plan, "SCRATCH_BYTES", 4 * 9 * 3 * 64)
    monkeypatch.setattr(functions, "backward_plan", short)
    x, idx, w = _inputs("iwp", 3, 37, 9, 300, seed=1)
    with pytest.raises(AssertionError):  # the parameter gradient misses a range, gx is NaN
        _check_against_reference("iwp", 3, "sin", "soft", x, idx, w, _weighted(2))


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
    y = _apply("original", x, idx, w.requires_grad_(True), 2, None, "hard")
    assert y.requires_grad
    y.sum().backward()
    assert emulated == ["forward"]  # hard mode has no parameter gradient, x needs none
    assert w.grad is None


def test_groupsum_gradient_is_not_contiguous_and_works(emulated):
    from train.layers import GroupSum

    x, idx, w = _inputs("iwp", 2, 21, 12, 15, seed=4)
    head = GroupSum(3, tau=2.0)
    _check_against_reference("iwp", 2, "sin", "soft", x, idx, w,
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


def test_emulated_launch_checks_arguments_against_the_kernel_signature():
    k = EmulatedKernel("gather_rows")
    assert k.signature == "pppiiiii"
    t = torch.zeros(4)
    with pytest.raises(EmulatorError, match="7 arguments for 8 parameters"):
        k((1,), (256,), (t, t, t) + (np.int32(1),) * 4)
    with pytest.raises(EmulatorError, match="argument 1 must be a tensor"):
        k((1,), (256,), (t, np.int32(0), t) + (np.int32(1),) * 5)
    with pytest.raises(EmulatorError, match="no kernel instantiation"):
        EmulatedKernel("iwp_forward<7, 0, false>")


def test_kernel_objects_are_built_once_per_device_and_configuration(monkeypatch):
    built = []

    def build(device_index, names, options):
        built.append((device_index, names))
        return {kind: object() for kind in kc.KERNEL_KINDS}

    monkeypatch.setattr(kc, "_build_kernels", build)
    monkeypatch.setattr(kc, "_kernels", {})
    a = kc.get_kernels(0, "iwp", 6, "sin", "soft")
    assert kc.get_kernels(0, "iwp", 6, "sin", "soft") is a
    assert all(a[k] is kc.get_kernels(0, "iwp", 6, "sin", "soft")[k] for k in kc.KERNEL_KINDS)
    kc.get_kernels(1, "iwp", 6, "sin", "soft")
    kc.get_kernels(0, "iwp", 6, "sin", "ste")
    kc.get_kernels(0, "iwp", 6, "sin", "soft")
    assert [d for d, _ in built] == [0, 1, 0] and kc.cached_configurations() == 3


def test_launch_plan_bounds_scratch_and_fills_small_layers():
    # the example: G = 1M, n = 6, B = 4096 needed a 100 GB partial buffer
    big = plan.backward_plan(1 << 20, 6, 4096, True, 132)
    assert big.scratch_bytes <= max(plan.SCRATCH_BYTES, 4 * (1 << 20) * 6 * plan.MIN_RANGE)
    assert big.width == plan.MIN_RANGE and big.slices == 1 and len(big.ranges) == 4096 // 32
    mid = plan.backward_plan(131072, 2, 2048, True, 132)
    assert mid.scratch_bytes <= plan.SCRATCH_BYTES and mid.width % 32 == 0
    assert mid.ranges[0] == (0, mid.width) and mid.ranges[-1][1] == 2048
    small = plan.backward_plan(200, 4, 4096, True, 132)  # 50 gate blocks for 132 SMs
    assert small.ranges == ((0, 4096),) and small.slices > 1 and small.span >= plan.MIN_SLICE
    assert 50 * small.slices >= 132  # every SM gets blocks
    assert plan.backward_plan(200, 4, 4096, False, 132).scratch_bytes == 0
    tiny = plan.backward_plan(3, 2, 100, True, 132)
    assert tiny.slices == 1 and tiny.ranges == ((0, 100),)
    with pytest.raises(ValueError, match="bad backward shape"):
        plan.backward_plan(3, 0, 100, True, 132)


@pytest.mark.parametrize("kind", ["iwp", "original", "learned"])
def test_layers_dispatch_to_the_kernels(emulator, kind):
    """Every layer kind in training, straight-through and eval mode runs on the (emulated)
    kernels and equals the CPU path."""
    from train.connections import LearnedConnectionsIWPLayer
    from train.layers import IWPLayer, OriginalLayer

    make = {"iwp": lambda: IWPLayer(30, 20, 4, init="gaussian", seed=1),
            "original": lambda: OriginalLayer(30, 20, init="gaussian", seed=1),
            "learned": lambda: LearnedConnectionsIWPLayer(30, 20, 4, init="gaussian", seed=1,
                                                          candidates=3)}[kind]
    emu_layer, cpu_layer = make(), make()
    if kind == "learned":
        with torch.no_grad():
            emu_layer.conn.normal_(generator=torch.Generator().manual_seed(0))
            cpu_layer.conn.copy_(emu_layer.conn)
    x = torch.rand(30, 37)
    for training, ste in ((True, False), (True, True), (False, False)):
        for lay in (emu_layer, cpu_layer):
            lay.train(training)
            lay.straight_through = ste
        emulator.log.clear()
        y = emu_layer(x)
        assert emulator.log == ["forward"]
        functions.set_emulator(None)  # the CPU path for the comparison
        try:
            y_cpu = cpu_layer(x)
        finally:
            functions.set_emulator(emulator)
        torch.testing.assert_close(y, y_cpu, rtol=2e-5, atol=2e-5)


def test_learned_eval_keeps_the_reverse_index(emulator):
    """Eval forwards of a learned-connection layer do not rebuild the kernels' reverse index;
    it is rebuilt only when a training step changes the chosen candidates."""
    from train.connections import LearnedConnectionsIWPLayer

    lay = LearnedConnectionsIWPLayer(30, 20, 3, seed=1, candidates=4).eval()
    x = torch.rand(30, 16)
    lay(x)
    builds = REVERSE_INDEX.builds
    for _ in range(3):
        lay(x)
    assert REVERSE_INDEX.builds == builds
    with torch.no_grad():
        lay.conn.add_(1e-3)  # a step that changes no choice: idx untouched
    lay(x)
    assert REVERSE_INDEX.builds == builds
    with torch.no_grad():
        lay.conn[0, 0, 1] += 10.0  # a step that changes one choice
    lay(x)
    assert REVERSE_INDEX.builds == builds + 1
    assert int(lay.idx[0, 0]) == int(lay.candidates[0, 0, 1])


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


def test_poison_outputs_context():
    like = torch.zeros(1)
    with functions.poison_outputs():
        assert torch.isnan(functions._alloc((2, 3), like)).all()
    assert functions._alloc((2,), like).shape == (2,)
    assert not getattr(functions._state, "poison")


# ---- on a GPU (skip cleanly without one) ----

gpu = pytest.mark.skipif(not kernels.available(), reason="no CUDA device (or CuPy) available")


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("param,n,est,mode", CONFIGS)
def test_gpu_kernels_match_reference(param, n, est, mode):
    x, idx, w = _inputs(param, n, 1000, 1001, 333, seed=n, device="cuda")
    _check_against_reference(param, n, est, mode, x, idx, w, _weighted(n))


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("param,n,est", [("iwp", 2, "sin"), ("iwp", 6, "sigmoid"),
                                         ("original", 2, None)])
def test_gpu_first_layer_expanded_gradient_several_ranges_and_slices(monkeypatch, param, n, est):
    """The backward kernels without input gradient (the first layer) with a stride-0 output
    gradient, and with input gradient, over batches of several ranges, slices on and off."""
    G, B = 300, 2500  # 75 gate blocks: sliced along the batch
    monkeypatch.setattr(plan, "SCRATCH_BYTES", 4 * G * n * 1024)  # ranges of 1024 samples
    assert len(plan.backward_plan(G, n, B, True, 132, plan.SCRATCH_BYTES).ranges) == 3
    for mode in ("soft", "ste"):
        x, idx, w = _inputs(param, n, 700, G, B, seed=n, device="cuda")
        _check_against_reference(param, n, est, mode, x, idx, w, lambda y: y.sum(), need_x=False)
        _check_against_reference(param, n, est, mode, x, idx, w, _weighted(n), need_x=True)
    x, idx, w = _inputs(param, n, 3000, 4400, 200, seed=1, device="cuda")  # 1100 blocks: no slices
    assert plan.backward_plan(4400, n, 200, False, 132).slices == 1
    _check_against_reference(param, n, est, "soft", x, idx, w, lambda y: y.sum(), need_x=False)


@pytest.mark.gpu
@gpu
def test_gpu_backward_is_deterministic():
    x, idx, w = _inputs("iwp", 6, 300, 500, 2570, seed=9, device="cuda")
    grads = []
    for _ in range(2):
        xk, wk = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        kernels.iwp_apply(xk, idx, wk, 6, "sin").square().sum().backward()
        grads.append((xk.grad, wk.grad))
    assert torch.equal(grads[0][0], grads[1][0]) and torch.equal(grads[0][1], grads[1][1])


@pytest.mark.gpu
@gpu
def test_gpu_kernel_objects_are_cached():
    x, idx, w = _inputs("iwp", 5, 64, 50, 100, seed=3, device="cuda")
    w.requires_grad_(True)
    kernels.iwp_apply(x, idx, w, 5, "sin").sum().backward()
    before = kc.cached_configurations()
    first = kc.get_kernels(torch.cuda.current_device(), "iwp", 5, "sin", "soft")
    for _ in range(3):
        kernels.iwp_apply(x, idx, w, 5, "sin").sum().backward()
    assert kc.cached_configurations() == before
    again = kc.get_kernels(torch.cuda.current_device(), "iwp", 5, "sin", "soft")
    assert all(first[k] is again[k] for k in kc.KERNEL_KINDS)


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("kind", ["iwp", "original", "learned"])
def test_gpu_layers_dispatch_to_kernels(kind, monkeypatch):
    from train import functional
    from train.connections import LearnedConnectionsIWPLayer
    from train.layers import IWPLayer, OriginalLayer

    make = {"iwp": lambda: IWPLayer(300, 200, fan_in=4, seed=1),
            "original": lambda: OriginalLayer(300, 200, seed=1),
            "learned": lambda: LearnedConnectionsIWPLayer(300, 200, 6, seed=1, candidates=4)}[kind]
    layer = make().cuda()
    if kind == "learned":
        with torch.no_grad():
            layer.conn.normal_()
    x = torch.rand(300, 77, device="cuda")
    real = functional.multilinear_reference

    def torch_path(*a, **k):
        raise AssertionError("the torch path ran instead of the kernels")

    for training, ste in ((True, False), (True, True), (False, False)):
        layer.train(training)
        layer.straight_through = ste
        monkeypatch.setattr(functional, "multilinear_reference", torch_path)
        y = layer(x)
        monkeypatch.setattr(functional, "multilinear_reference", real)
        layer.straight_through = False
        if not ste:
            torch.testing.assert_close(y, layer.reference_forward(x), rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
@gpu
def test_gpu_learned_eval_keeps_the_reverse_index():
    from train.connections import LearnedConnectionsIWPLayer

    lay = LearnedConnectionsIWPLayer(300, 200, 6, seed=1, candidates=4).cuda().eval()
    x = (torch.rand(300, 64, device="cuda") > 0.5).float()
    y0 = lay(x)
    builds = REVERSE_INDEX.builds
    for _ in range(3):
        assert torch.equal(lay(x), y0)
    assert REVERSE_INDEX.builds == builds
