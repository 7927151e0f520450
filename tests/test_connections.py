"""Tests for train/connections.py (learned connections): the relaxed forward is the multilinear
extension over the softmax-mixed candidate inputs (fused kernel = pure-torch reference, gradients
reach the connection logits), hard mode and the discretized Netlist use the argmax candidates count
for count, C = 1 is exactly the fixed-connection layer, state survives a checkpoint, the options
are checked, and training through ``python -m train`` really moves connections."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from train import functional as F
from train.__main__ import main as train_main
from train.connections import LearnedConnectionsIWPLayer
from train.discretize import discretize
from train.layers import IWPLayer
from train.model import LogicNet


def layer(in_dim=12, out_dim=7, n=3, C=4, seed=(0, 1)):
    lay = LearnedConnectionsIWPLayer(in_dim, out_dim, n, seed=list(seed), candidates=C).double()
    with torch.no_grad():  # spread the logits so that mixing and argmax are non-trivial
        lay.conn.copy_(torch.randn(lay.conn.shape, generator=torch.Generator().manual_seed(3)))
    return lay


def brute_relaxed(lay, x):
    """Per gate, per sample: mixed inputs, then sum_p rho_p prod_k (x_k or 1 - x_k)."""
    w = torch.softmax(lay.conn, 2)
    coef = F.rho(lay.theta, lay.estimator).double()
    G, n, C = lay.candidates.shape
    out = torch.zeros(G, x.shape[1], dtype=torch.float64)
    for g in range(G):
        xin = [(w[g, k, :, None] * x[lay.candidates[g, k]]).sum(0) for k in range(n)]
        for p in range(1 << n):
            term = coef[g, p] * torch.ones(x.shape[1], dtype=torch.float64)
            for k in range(n):
                term = term * (xin[k] if (p >> k) & 1 else 1 - xin[k])
            out[g] += term
    return out


def test_relaxed_forward_matches_brute_force_and_reference():
    lay = layer().train()
    x = torch.rand(12, 9, dtype=torch.float64)
    y = lay(x)
    assert torch.allclose(y, brute_relaxed(lay, x), atol=1e-12)
    assert torch.allclose(y, lay.reference_forward(x), atol=1e-12)


def test_gradients_reach_connection_logits_and_match_reference():
    lay = layer().train()
    x = torch.rand(12, 9, dtype=torch.float64, requires_grad=True)
    grads = []
    for fwd in (lay, lay.reference_forward):
        lay.zero_grad()
        x.grad = None
        (fwd(x) ** 2).sum().backward()
        grads.append((lay.conn.grad.clone(), lay.theta.grad.clone(), x.grad.clone()))
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-10)
    assert grads[0][0].abs().sum() > 0
    torch.autograd.gradcheck(lambda c: torch.func.functional_call(lay, {"conn": c}, (x.detach(),)),
                             (lay.conn.detach().clone().requires_grad_(),))


def test_hard_mode_uses_argmax_candidates():
    lay = layer().eval()
    hard = lay.hard_idx()
    assert torch.equal(hard, lay.candidates.gather(2, lay.conn.argmax(2, keepdim=True)).squeeze(2))
    x = torch.randint(0, 2, (12, 16)).double()
    coef = F.hard_coefficients(F.rho(lay.theta, lay.estimator)).double()
    assert torch.equal(lay(x), F.multilinear_reference(x, hard, coef))
    assert torch.equal(lay.idx, hard)


def test_one_candidate_is_the_fixed_random_layer():
    x = torch.rand(12, 5, dtype=torch.float64)
    a = LearnedConnectionsIWPLayer(12, 7, 3, seed=[4, 0], candidates=1).double()
    b = IWPLayer(12, 7, 3, seed=[4, 0]).double()
    assert torch.equal(a.idx, b.idx) and torch.equal(a.theta, b.theta)
    for mode in (True, False):
        a.train(mode), b.train(mode)
        assert torch.allclose(a(x), b(x), atol=1e-12)


def test_discretized_netlist_counts_equal_model_counts():
    model = LogicNet(20, [30, 20], [4, 2], 5, seed=2, connections="learned", candidates=5)
    with torch.no_grad():
        for lay in model.layers:
            lay.conn.normal_(0, 2)
    bits = torch.randint(0, 2, (300, 20), dtype=torch.uint8)
    net = discretize(model)
    counts, _ = net.evaluate(bits.numpy())
    assert np.array_equal(counts, model.counts(bits).numpy())
    first = net.layers[0].inputs
    assert not np.array_equal(first, model.layers[0].candidates[:, :, 0].numpy())  # moved


def test_state_dict_round_trip_restores_choice():
    a = layer()
    b = layer(seed=(0, 1))
    with torch.no_grad():
        b.conn.zero_()
    b.load_state_dict(a.state_dict())
    assert torch.equal(b.idx, a.hard_idx()) and torch.equal(b.idx32, a.hard_idx().int())


def test_bad_candidates():
    with pytest.raises(ValueError, match="candidates must be a positive integer"):
        LearnedConnectionsIWPLayer(8, 4, 2, candidates=0)


@pytest.mark.parametrize("args, msg", [
    (["--connections", "learned", "--param", "original", "--fan-in", "2"],
     "--connections learned needs --param iwp"),
    (["--connections", "learned", "--candidates", "0"], "--candidates must be >= 1, got 0"),
])
def test_cli_errors_are_one_line(tmp_path, args, msg):
    r = CliRunner().invoke(train_main, [*args, "--out", str(tmp_path / "o"), "--quiet"])
    assert r.exit_code == 2
    assert r.output.strip().splitlines()[-1] == f"Error: {msg}"


def test_python_m_train_with_learned_connections(tmp_path):
    import json

    out = tmp_path / "run"
    r = CliRunner().invoke(train_main, [
        "--connections", "learned", "--candidates", "4", "--width", "60,30", "--steps", "60",
        "--threads", "1", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert final["torch_eval_matches_netlist"] is True
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["connections"] == "learned" and cfg["candidates"] == 4


@pytest.mark.slow
def test_learned_beats_random_at_equal_gates_on_digits():
    import sys
    from pathlib import Path

    sys.path.append(str(Path(__file__).resolve().parents[1] / "bench" / "experiments"))
    import instrumented as ins

    data = ins.load_data("digits", thresholds=4)
    acc = {}
    for conn in ("random", "learned"):
        model = LogicNet(data.n_inputs, [60, 30], [4, 4], 10, tau=1.7, seed=0, connections=conn)
        ins.train_run(model, data, steps=1000, lr=0.02, eval_every=500, progress=False)
        acc[conn] = ins.accuracy(model, data.bits_test, data.y_test, hard=True)
    assert acc["learned"] > acc["random"] + 0.03, acc


@pytest.mark.parametrize("ste", [False, True])
def test_fused_mix_equals_torch_mix_with_gradients(monkeypatch, ste):
    """The CPU training forward with the candidate mix fused into the C kernel equals the torch
    mix (LGN_HW_NO_FUSED_MIX=1) in float64, values and every gradient, soft and straight-through."""
    from train import cext

    if not cext.available(torch.float64):
        pytest.skip("no C compiler: fused kernel not built")
    lay = layer(in_dim=30, out_dim=17, n=6, C=4).train()
    lay.straight_through = ste
    x = torch.rand(30, 37, dtype=torch.float64, requires_grad=True)
    results = []
    for torch_mix in ("0", "1"):
        monkeypatch.setenv("LGN_HW_NO_FUSED_MIX", torch_mix)
        lay.zero_grad()
        x.grad = None
        calls = []
        real = cext.mixed_multilinear
        monkeypatch.setattr(cext, "mixed_multilinear", lambda *a: calls.append(1) or real(*a))
        y = lay(x)
        (y * torch.linspace(-1, 1, 37, dtype=torch.float64)).square().sum().backward()
        results.append((y.detach(), lay.conn.grad.clone(), lay.theta.grad.clone(), x.grad.clone()))
        assert bool(calls) == (torch_mix == "0")
        monkeypatch.setattr(cext, "mixed_multilinear", real)
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=1e-11, rtol=1e-11)
    assert results[0][1].abs().sum() > 0


def test_eval_sync_rewrites_idx_only_when_the_choice_changes():
    lay = layer().eval()
    x = torch.randint(0, 2, (12, 8)).double()
    lay(x)
    version = lay.idx32._version
    lay(x)
    with torch.no_grad():
        lay.conn.add_(1e-6)  # no choice changes
    lay(x)
    assert lay.idx32._version == version
    with torch.no_grad():
        lay.conn[1, 2, :] = 0.0
        lay.conn[1, 2, 3] = 5.0
    lay(x)
    assert lay.idx32._version > version and int(lay.idx[1, 2]) == int(lay.candidates[1, 2, 3])
