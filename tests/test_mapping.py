"""train.mapping: the learnable mapping over all inputs (--first-layer learned)."""
import numpy as np
import pytest
import torch

from train.config import resolve
from train.data import load_encoded
from train.discretize import discretize
from train.loop import build_model, train
from train.mapping import MappedIWPLayer, MapSelect


def test_forward_reads_the_argmax_input_and_gradients_are_the_straight_through_ones():
    torch.manual_seed(0)
    x = (torch.rand(7, 5) > 0.5).double().requires_grad_(True)
    scores = torch.rand(4, 7, dtype=torch.float64, requires_grad=True)
    sel = scores.detach().argmax(1)
    y = MapSelect.apply(x, scores, sel)
    assert torch.equal(y, x.detach()[sel])
    g = torch.randn(4, 5, dtype=torch.float64)
    y.backward(g)
    # scores: a linear read of every input, centred: g @ (2x - 1)^T
    assert torch.allclose(scores.grad, g @ (2 * x.detach() - 1).t())
    # inputs: the exact gradient of the selection (rows chosen twice get both)
    want = torch.zeros(7, 5, dtype=torch.float64).index_add_(0, sel, g)
    assert torch.allclose(x.grad, want)


def test_layer_trains_every_score_and_moves_wires_and_eval_equals_training_forward():
    layer = MappedIWPLayer(30, 8, 3, seed=[1, 0])
    before = layer.hard_idx().clone()
    x = (torch.rand(30, 64) > 0.5).float()
    with torch.no_grad():
        layer.train()
        soft_hard_inputs = layer(x)
    opt = torch.optim.Adam(layer.parameters(), lr=0.5)
    target = torch.rand(8, 64)
    for _ in range(20):
        opt.zero_grad()
        loss = ((layer(x) - target) ** 2).mean()
        loss.backward()
        assert layer.map_w.grad is not None and (layer.map_w.grad != 0).float().mean() > 0.9
        opt.step()
    assert not torch.equal(layer.hard_idx(), before)  # some wires moved
    layer.eval()
    y = layer(x)
    assert torch.equal(layer.idx, layer.hard_idx())
    # eval mode reads the same inputs as the training forward with hard tables
    layer.train()
    layer.straight_through = True
    with torch.no_grad():
        assert torch.allclose(layer(x), y)
    assert soft_hard_inputs.shape == y.shape


def test_learned_first_layer_end_to_end_netlist_equals_torch_and_resumes(tmp_path):
    data = load_encoded("digits", thresholds=2, valid_fraction=0.1)
    cfg = resolve(thresholds=2, width="60,40", fan_in="6,4", epochs=2, batch_size=128, seed=3,
                  first_layer="learned", connections="random", tau=4.0)
    model = build_model(cfg, data.n_inputs, data.n_classes)
    assert isinstance(model.layers[0], MappedIWPLayer) and not isinstance(model.layers[1], MappedIWPLayer)
    final = train(cfg, data, tmp_path / "a", progress=False)
    assert final["torch_eval_matches_netlist"] is True and final["test_acc_discrete"] > 0.3

    def interrupt(step):
        if step == 15:
            raise KeyboardInterrupt

    from train.loop import TrainingError

    with pytest.raises(TrainingError, match="interrupted at step 15"):
        train(cfg, data, tmp_path / "b", progress=False, step_hook=interrupt)
    train(cfg, data, tmp_path / "b", resume=True, progress=False)
    a = (tmp_path / "a" / "netlist.json").read_text()
    b = (tmp_path / "b" / "netlist.json").read_text()
    import json

    assert json.loads(a)["layers"] == json.loads(b)["layers"]


def test_discretize_records_the_chosen_wires():
    model = build_model(resolve(thresholds=2, width="20", fan_in="5", first_layer="learned",
                                connections="random"), 128, 10)
    layer = model.layers[0]
    with torch.no_grad():
        layer.map_w.zero_()
        layer.map_w[np.arange(100), (np.arange(100) * 7) % 128] = 1.0
    net = discretize(model)
    assert np.array_equal(net.layers[0].inputs, ((np.arange(100) * 7) % 128).reshape(20, 5))


def test_learned_first_layer_needs_iwp():
    from train.config import ConfigError

    with pytest.raises(ConfigError, match="--first-layer learned needs --param iwp"):
        resolve(first_layer="learned", param="original", fan_in="2")


def test_connections_mapped_maps_every_layer():
    model = build_model(resolve(thresholds=2, width="30,20", fan_in="6,6", connections="mapped"), 128, 10)
    assert all(isinstance(layer, MappedIWPLayer) for layer in model.layers)
    assert model.layers[1].map_w.shape == (20 * 6, 30)


def test_efd_forward_is_the_table_lookup_and_beta_zero_is_the_plain_finite_difference(monkeypatch):
    import train.mapping as M

    torch.manual_seed(1)
    x = (torch.rand(40, 33) > 0.5).double()
    fd = MappedIWPLayer(40, 7, 4, seed=[2, 0])
    efd = MappedIWPLayer(40, 7, 4, seed=[2, 0], gradient="efd")
    fd.double(), efd.double()
    g = torch.randn(7, 33, dtype=torch.float64)
    for layer in (fd, efd):
        layer.train()
        layer(x).backward(g)
    assert torch.allclose(fd(x), efd(x))  # same forward: the multilinear gate at a 0/1 point
    assert torch.allclose(fd.theta.grad, efd.theta.grad)  # same table gradient
    assert not torch.allclose(fd.map_w.grad, efd.map_w.grad)  # beta 1/3: other score gradients
    monkeypatch.setattr(M, "EFD_BETA", 0.0)
    monkeypatch.setattr(M, "_EFD_CACHE", {})
    efd.zero_grad()
    efd(x).backward(g)
    assert torch.allclose(fd.map_w.grad, efd.map_w.grad)  # beta 0: exactly the finite difference


def test_efd_weights_by_hand():
    import train.mapping as M

    w = M.efd_weights(2, torch.float64, "cpu")  # W[k, a, p]
    b = M.EFD_BETA
    # input 0 at address 0 (both inputs 0): +entry(1) - entry(0) at distance 0, +entry(3) - entry(2) at 1
    assert w[0, 0].tolist() == [-1.0, 1.0, -b, b]
    assert w[1, 3].tolist() == [-b, -1.0, b, 1.0]


def _costly_read(netlist_layers_inputs, free):
    return len({int(i) for i in np.asarray(netlist_layers_inputs).ravel() if not free[i]})


def test_encoder_budget_cuts_the_costly_bits_the_netlist_reads(tmp_path):
    import json

    data = load_encoded("digits", thresholds=3, valid_fraction=0.1)
    free = data.encoding.free_bits()
    assert not free.any()  # digits 0..16: every threshold is a comparator
    base = dict(thresholds=3, width="120", fan_in="6", epochs=4, batch_size=64, seed=1,
                first_layer="learned", tau=3.0)
    final = train(resolve(**base), data, tmp_path / "free", progress=False)
    net = json.loads((tmp_path / "free" / "netlist.json").read_text())
    assert _costly_read(net["layers"][0]["inputs"], free) > 100  # unbudgeted: reads far more than 12
    final = train(resolve(**base, encoder_budget=12, select="best"), data, tmp_path / "cut", progress=False)
    assert final["torch_eval_matches_netlist"] is True
    net = json.loads((tmp_path / "cut" / "netlist.json").read_text())
    assert _costly_read(net["layers"][0]["inputs"], free) <= 12
    hist = json.loads((tmp_path / "cut" / "metrics.json").read_text())["epochs"]
    allowed = [e["encoder_bits_allowed"] for e in hist]
    assert allowed[0] < data.n_inputs and allowed == sorted(allowed, reverse=True)
    assert allowed[1:] == [12] * 3  # reached at half of the 4 epochs, then kept
    assert all(e["encoder_bits_read"] <= e["encoder_bits_allowed"] for e in hist)
    assert final["selected_epoch"] >= 2  # --select best never hands on an epoch over the budget


def test_encoder_budget_resumes_to_the_same_wiring(tmp_path):
    from train.loop import TrainingError

    data = load_encoded("digits", thresholds=2, valid_fraction=0.1)
    cfg = resolve(thresholds=2, width="60", fan_in="6", epochs=3, batch_size=128, seed=2,
                  first_layer="learned", tau=3.0, encoder_budget=20)
    train(cfg, data, tmp_path / "a", progress=False)

    def interrupt(step):
        if step == 14:  # epoch 2, after the first cut
            raise KeyboardInterrupt

    with pytest.raises(TrainingError, match="interrupted at step 14"):
        train(cfg, data, tmp_path / "b", progress=False, step_hook=interrupt)
    train(cfg, data, tmp_path / "b", resume=True, progress=False)
    import json

    a, b = (json.loads((tmp_path / d / "netlist.json").read_text())["layers"] for d in "ab")
    assert a == b


def test_encoder_budget_needs_a_learned_first_layer():
    from train.config import ConfigError

    with pytest.raises(ConfigError, match="--encoder-budget prunes a learned mapping"):
        resolve(encoder_budget=10)
    with pytest.raises(ConfigError, match="--encoder-budget must be >= 0"):
        resolve(first_layer="learned", fan_in="6", encoder_budget=-1)
