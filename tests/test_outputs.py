"""train.outputs: atomic checkpoint round trip and the curves PNG."""
import torch

from train import outputs


def test_checkpoint_roundtrip(tmp_path):
    state = {"model": {"w": torch.arange(5.0)}, "step": 7, "history": [{"epoch": 1}]}
    p = outputs.save_checkpoint(tmp_path / "c.pt", state)
    back = outputs.load_checkpoint(p)
    assert back["step"] == 7 and torch.equal(back["model"]["w"], torch.arange(5.0))
    assert [f.name for f in tmp_path.iterdir()] == ["c.pt"]


def test_plot_curves(tmp_path):
    hist = [{"epoch": e, "train_loss": 2.0 / e, "test_acc_continuous": 0.5 + 0.1 * e,
             "test_acc_discrete": 0.45 + 0.1 * e} for e in (1, 2, 3)]
    p = outputs.plot_curves(tmp_path / "curves.png", hist, "digits")
    data = p.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
