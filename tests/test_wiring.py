"""train.wiring: local connections are windows, distinct, and cover every class group."""

import numpy as np
import pytest

from train.wiring import local_connections


@pytest.mark.parametrize("in_dim,out_dim,fan_in,window", [(256, 600, 4, 16), (600, 300, 6, 16),
                                                          (10, 7, 3, 4), (5, 20, 6, 6)])
def test_inputs_lie_in_a_window_around_the_gate_and_are_distinct(in_dim, out_dim, fan_in, window):
    idx = local_connections(in_dim, out_dim, fan_in, np.random.default_rng(0), window)
    assert idx.shape == (out_dim, fan_in) and idx.min() >= 0 and idx.max() < in_dim
    w = min(window, in_dim)
    centre = ((np.arange(out_dim) + 0.5) * in_dim / out_dim).astype(int)
    dist = (idx - (centre - w // 2)[:, None]) % in_dim
    assert (dist < w).all()
    if in_dim >= fan_in:
        assert all(len(set(row)) == fan_in for row in idx.tolist())


def test_every_class_group_spans_the_previous_layer():
    idx = local_connections(300, 200, 4, np.random.default_rng(1), 16, groups=10)
    for c in range(10):
        read = np.unique(idx[20 * c:20 * (c + 1)])
        assert read.min() < 30 and read.max() > 270  # not a 1/10 slice of the layer
    # without groups the first 20 gates only see the start of the layer
    first = local_connections(300, 200, 4, np.random.default_rng(1), 16)[:20]
    assert ((first + 20) % 300).max() < 70  # (circular: the first windows wrap around 0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="cannot be split into 3 equal groups"):
        local_connections(10, 10, 2, np.random.default_rng(0), 4, groups=3)
    with pytest.raises(ValueError, match="window 2 is smaller than the fan-in 4"):
        local_connections(10, 10, 4, np.random.default_rng(0), 2)


def test_logicnet_local_connections_reach_the_netlist():
    import torch

    from train.discretize import discretize
    from train.model import LogicNet

    torch.manual_seed(0)
    net = LogicNet(64, [40, 30, 20], [4, 4, 2], 5, connections="local", window=8, seed=3)
    nl = discretize(net)
    offs = nl.layer_offsets
    for li, layer in enumerate(nl.layers):
        prev_first = 0 if li == 0 else offs[li - 1]
        prev_dim = 64 if li == 0 else len(nl.layers[li - 1])
        groups = 5 if li == 2 else 1
        rng = np.random.default_rng([3, li, 4099])
        expect = local_connections(prev_dim, len(layer), layer.fan_in, rng, 8, groups=groups)
        assert (layer.inputs - prev_first == expect).all()
    bits = torch.randint(0, 2, (50, 64))
    net.eval()
    counts = (net(bits) * net.tau).round().long().numpy()
    assert (counts == nl.evaluate(bits.numpy())[0]).all()


def test_config_rejects_a_window_below_the_fan_in():
    from train.config import ConfigError, resolve

    with pytest.raises(ConfigError, match="--window 3 must be at least the fan-in"):
        resolve("default", connections="local", window=3)


@pytest.mark.parametrize("shape,T,out_dim,fan_in,window", [((28, 28), 1, 2000, 4, 16),
                                                           ((28, 28), 2, 500, 6, 16),
                                                           ((8, 8), 4, 800, 4, 32),
                                                           ((3, 2), 1, 5, 6, 1)])
def test_patch_inputs_lie_in_a_2d_patch_and_are_distinct(shape, T, out_dim, fan_in, window):
    from train.wiring import patch_connections

    H, W = shape
    idx = patch_connections(shape, T, out_dim, fan_in, np.random.default_rng(1), window)
    assert idx.shape == (out_dim, fan_in) and idx.min() >= 0 and idx.max() < H * W * T
    assert all(len(set(row)) == fan_in for row in idx.tolist())
    pix = idx // T
    rows, cols = pix // W, pix % W
    s = max(1, int(round(np.sqrt(window / T))))
    while s * s * T < fan_in:
        s += 1
    if s <= min(H, W):
        assert (rows.max(1) - rows.min(1) < s).all() and (cols.max(1) - cols.min(1) < s).all()
        # gates follow a raster over the image: patch tops never move up by a whole patch
        assert (np.diff(rows.min(1)) > -s).all()
        if out_dim >= H * W:  # and they reach from the top region to the bottom region
            assert rows.min() <= H // 7 + s and rows.max() >= H - H // 7 - s


def test_patch_first_layer_in_logicnet_and_config():
    import torch

    from train.config import ConfigError, resolve
    from train.discretize import discretize
    from train.model import LogicNet
    from train.wiring import patch_connections

    torch.manual_seed(0)
    net = LogicNet(64 * 2, [40, 20], [4, 4], 5, connections="local", window=8, seed=3,
                   first_layer="patch", patch_window=8, image_shape=(8, 8))
    nl = discretize(net)
    expect = patch_connections((8, 8), 2, 40, 4, np.random.default_rng([3, 0, 4099]), 8)
    assert (nl.layers[0].inputs == expect).all()
    exp1 = local_connections(40, 20, 4, np.random.default_rng([3, 1, 4099]), 8, groups=5)
    assert (nl.layers[1].inputs - nl.layer_offsets[0] == exp1).all()
    bits = torch.randint(0, 2, (50, 128))
    net.eval()
    assert ((net(bits) * net.tau).round().long().numpy() == nl.evaluate(bits.numpy())[0]).all()
    with pytest.raises(ValueError, match="needs an image dataset"):
        LogicNet(100, [40], [4], 5, first_layer="patch")
    with pytest.raises(ConfigError, match="--first-layer patch needs an image dataset"):
        resolve("adult", first_layer="patch")
    with pytest.raises(ConfigError, match="--first-layer must be one of same, patch"):
        resolve("mnist-up5k", first_layer="grid")
    assert resolve("mnist-up5k", first_layer="patch").first_layer == "patch"
    # with learned connections the patch layer is fixed and the later layers learn theirs
    from train.connections import LearnedConnectionsIWPLayer
    ln = LogicNet(128, [40, 20], [4, 4], 5, connections="learned", candidates=3, first_layer="patch",
                  patch_window=8, image_shape=(8, 8))
    assert not isinstance(ln.layers[0], LearnedConnectionsIWPLayer)
    assert isinstance(ln.layers[1], LearnedConnectionsIWPLayer)
    assert (discretize(ln).layers[0].inputs == patch_connections(
        (8, 8), 2, 40, 4, np.random.default_rng([0, 0, 4099]), 8)).all()
