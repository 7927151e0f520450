"""train.model: LogicNet shapes, feature-major plumbing, hard counts, configuration errors."""
import pytest
import torch

from train.model import LogicNet


def test_forward_shapes_and_backward():
    m = LogicNet(20, [30, 20], [3, 2], 5, tau=2.0)
    bits = (torch.rand(7, 20) > 0.5).float()
    out = m(bits)
    assert out.shape == (7, 5)
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    assert m.widths == [30, 20] and m.n_gates == 50 and m.classes == 5


def test_counts_are_integer_group_sums_and_restore_mode():
    m = LogicNet(16, [40, 20], [4, 4], 4, init="gaussian", tau=3.0)
    bits = (torch.rand(300, 16) > 0.5).to(torch.uint8)
    c = m.counts(bits, batch_size=64)
    assert c.dtype == torch.long and c.shape == (300, 4)
    assert int(c.min()) >= 0 and int(c.max()) <= 5
    assert m.training  # counts() restores the training flag
    m.eval()
    with torch.no_grad():
        torch.testing.assert_close(m(bits) * 3.0, c.float())


def test_residual_model_passes_input_through():
    # every gate passes its input 0 through, so the model reads real input bits
    m = LogicNet(8, [8], [1], 2, init="residual", seed=0).eval()
    bits = torch.eye(8)
    y = m.activations(bits)
    idx = m.layers[0].idx[:, 0]
    torch.testing.assert_close(y, bits.t()[idx])


@pytest.mark.parametrize("kwargs,msg", [
    (dict(widths=[10, 7], fan_ins=[2, 2], classes=2), "width 7 is not divisible"),
    (dict(widths=[10], fan_ins=[7], classes=2), "fan-in must be an integer in 1..6"),
    (dict(widths=[10], fan_ins=[2, 2], classes=2), "1 layer widths but 2 fan-ins"),
    (dict(widths=[10], fan_ins=[3], classes=2, param="original"), "original parametrisation has fan-in 2"),
    (dict(widths=[10], fan_ins=[2], classes=2, param="walsh"), "unknown parametrisation"),
    (dict(widths=[], fan_ins=[], classes=2), "at least one layer"),
])
def test_errors(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        LogicNet(12, **kwargs)


def test_wrong_input_width():
    with pytest.raises(ValueError, match=r"expected input bits of shape \(B, 12\)"):
        LogicNet(12, [4], [2], 2)(torch.zeros(3, 13))
