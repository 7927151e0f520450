"""train.discretize: for every test sample, the torch model in eval mode and Netlist.evaluate give
identical class counts (digits, trained briefly; random models of every fan-in and both
parametrisations); global signal indices; gate-kind statistics."""
import numpy as np
import pytest
import torch

from lgn_hw.netlist import Netlist
from train.config import resolve
from train.data import load_encoded
from train.discretize import discretize, gate_kinds
from train.loop import build_model
from train.model import LogicNet


def test_trained_digits_counts_identical_on_every_test_sample(tmp_path):
    cfg = resolve("default", width="300,200,100", epochs=3, seed=3)
    data = load_encoded("digits", thresholds=cfg.thresholds)
    model = build_model(cfg, data.n_inputs, data.n_classes)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for s in range(0, len(data.y_train), 64):  # one real epoch moves gates off pass-through
        loss = torch.nn.functional.cross_entropy(model(data.bits_train[s:s + 64]), data.y_train[s:s + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net = discretize(model, data.encoding, {"dataset": "digits"})
    kinds = gate_kinds(net)["overall"]
    assert kinds.get("pass", 0) < 0.9  # training changed the tables: the check below is not vacuous
    counts_torch = model.counts(data.bits_test).numpy()
    counts_net, pred = net.evaluate(data.bits_test.numpy())
    np.testing.assert_array_equal(counts_torch, counts_net)
    # through the saved file and the raw-feature path too
    net.save(tmp_path / "n.json")
    back = Netlist.load(tmp_path / "n.json")
    counts_raw, _ = back.evaluate_raw(data.x_test)
    np.testing.assert_array_equal(counts_raw, counts_torch)
    assert back.meta["dataset"] == "digits"


@pytest.mark.parametrize("param,fan_ins", [("iwp", [1, 3, 6]), ("iwp", [5, 2, 4]),
                                           ("original", [2, 2, 2])])
def test_random_models_agree_with_netlist(param, fan_ins):
    model = LogicNet(40, [120, 90, 60], fan_ins, 6, param=param, init="gaussian", seed=5, tau=2.0)
    bits = (torch.rand(700, 40, generator=torch.Generator().manual_seed(0)) > 0.5).to(torch.uint8)
    net = discretize(model)
    counts_net, pred = net.evaluate(bits.numpy())
    counts_torch = model.counts(bits)
    np.testing.assert_array_equal(counts_torch.numpy(), counts_net)
    # eval-mode logits are counts / tau
    model.eval()
    with torch.no_grad():
        np.testing.assert_allclose(model(bits).numpy() * 2.0, counts_net, atol=1e-4)
    assert counts_net.std() > 0  # not a degenerate all-constant network


def test_signal_indices_are_global():
    model = LogicNet(10, [8, 6, 4], [2, 3, 2], 2, seed=1)
    net = discretize(model)
    offs = net.layer_offsets
    assert offs == [10, 18, 24, 28]
    assert net.layers[0].inputs.max() < 10
    l1 = net.layers[1].inputs
    assert l1.min() >= 10 and l1.max() < 18
    np.testing.assert_array_equal(l1 - 10, model.layers[1].idx.numpy())
    assert [g.tolist() for g in net.head.groups] == [[24, 25], [26, 27]]
    assert net.head.tau == model.tau and net.encoding is None


def test_gate_kinds_fractions():
    model = LogicNet(10, [100, 50], [2, 4], 2, init="residual", seed=0)
    k = gate_kinds(discretize(model))
    assert k["overall"] == {"pass": 1.0}  # residual init: every gate passes input 0
    model2 = LogicNet(10, [400], [2], 2, init="gaussian", seed=0)
    k2 = gate_kinds(discretize(model2))
    assert abs(sum(k2["overall"].values()) - 1) < 1e-9
    assert {"AND", "XOR", "const0"} <= set(k2["overall"])


def test_package_exposes_discretize_without_importing_torch():
    import subprocess
    import sys

    code = ("import sys, train; assert callable(train.discretize); "
            "assert 'torch' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
