"""train.loop: outputs and metrics, exact resume after an interruption, divergence and resume
errors."""
import json

import numpy as np
import pytest
import torch

from lgn_hw.netlist import Netlist
from train.config import resolve
from train.data import load_encoded
from train.loop import TrainingError, epoch_order, learning_rate, train

SMALL = dict(width="60,40", fan_in="4,3", epochs=3, batch_size=128, seed=4)


@pytest.fixture(scope="module")
def digits():
    return load_encoded("digits", thresholds=2, valid_fraction=0.1)


def _netlist_key(path):
    d = json.loads(path.read_text())
    return d["layers"], d["head"], d["encoding"]


def test_outputs_and_metrics(tmp_path, digits):
    cfg = resolve(thresholds=2, grad_norms=True, **SMALL)
    final = train(cfg, digits, tmp_path, progress=False)
    for f in ("netlist.json", "metrics.json", "checkpoint.pt", "config.json", "curves.png"):
        assert (tmp_path / f).stat().st_size > 0
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporaries
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert len(m["epochs"]) == 3
    e = m["epochs"][-1]
    for k in ("train_loss", "valid_acc_continuous", "valid_acc_discrete", "valid_discretization_gap",
              "wall_time_s", "samples_per_s", "grad_norm_per_layer"):
        assert k in e, k
    assert len(e["grad_norm_per_layer"]) == 2 and all(g > 0 for g in e["grad_norm_per_layer"])
    f = m["final"]
    assert f["gates"] == 100 and f["gates_per_layer"] == [60, 40]
    assert f["torch_eval_matches_netlist"] is True
    assert abs(sum(f["gate_kinds"]["overall"].values()) - 1) < 1e-9
    net = Netlist.load(tmp_path / "netlist.json")
    _, pred = net.evaluate_raw(digits.x_test)
    assert float((pred == digits.y_test.numpy()).mean()) == pytest.approx(f["test_acc_discrete"])
    assert net.meta["dataset"] == "digits" and net.meta["config"]["width"] == [60, 40]
    assert json.loads((tmp_path / "config.json").read_text())["fan_in"] == [4, 3]
    assert final["test_acc_discrete"] == f["test_acc_discrete"]
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("schedule,shift,hard,select", [
    ("constant", 0, 0.0, "last"), ("constant", 2, 0.5, "best"),
    pytest.param("cosine", 0, 0.0, "last", marks=pytest.mark.slow)])
def test_resume_after_interruption_gives_same_netlist(tmp_path, digits, schedule, shift, hard, select):
    cfg = resolve(thresholds=2, schedule=schedule, augment_shift=shift, hard_finetune=hard,
                  select=select, **SMALL)
    full = tmp_path / "full"
    train(cfg, digits, full, progress=False)

    part = tmp_path / "part"

    def interrupt(step):
        if step == 17:  # mid-epoch (11 steps per epoch)
            raise KeyboardInterrupt

    with pytest.raises(TrainingError, match=r"interrupted at step 17/33; checkpoint saved"):
        train(cfg, digits, part, progress=False, step_hook=interrupt)
    assert not (part / "netlist.json").exists()
    assert torch.load(part / "checkpoint.pt", weights_only=False)["step"] == 17
    train(cfg, digits, part, resume=True, progress=False)
    assert _netlist_key(part / "netlist.json") == _netlist_key(full / "netlist.json")
    mf = json.loads((full / "metrics.json").read_text())["epochs"]
    mp = json.loads((part / "metrics.json").read_text())["epochs"]
    assert [e["train_loss"] for e in mf] == [e["train_loss"] for e in mp]


@pytest.mark.slow
def test_resume_extends_training(tmp_path, digits):
    two = resolve(thresholds=2, **{**SMALL, "epochs": 2})
    three = resolve(thresholds=2, **SMALL)
    train(two, digits, tmp_path / "a", progress=False)
    train(three, digits, tmp_path / "a", resume=True, progress=False)
    train(three, digits, tmp_path / "b", progress=False)
    assert _netlist_key(tmp_path / "a" / "netlist.json") == _netlist_key(tmp_path / "b" / "netlist.json")


def test_resume_errors(tmp_path, digits):
    cfg = resolve(thresholds=2, **SMALL)
    with pytest.raises(TrainingError, match="--resume: no checkpoint at"):
        train(cfg, digits, tmp_path, resume=True, progress=False)
    train(resolve(thresholds=2, **{**SMALL, "epochs": 1}), digits, tmp_path, progress=False)
    other = resolve(thresholds=2, **{**SMALL, "lr": 0.5})
    with pytest.raises(TrainingError, match=r"trained with different settings \(lr\)"):
        train(other, digits, tmp_path, resume=True, progress=False)


def test_divergence_is_reported(tmp_path, digits, monkeypatch):
    import train.loop as loop

    real = torch.nn.functional.cross_entropy
    calls = []

    def diverging(logits, y, **kw):  # the loss turns NaN at step 20, as a diverging run's would
        calls.append(1)
        loss = real(logits, y, **kw)
        return loss * float("nan") if len(calls) > 20 else loss

    monkeypatch.setattr(loop.torch.nn.functional, "cross_entropy", diverging)
    cfg = resolve(thresholds=2, **SMALL)
    with pytest.raises(TrainingError, match=r"training diverged: loss is nan at step 20 \(epoch 2\); "
                                            r"try a lower --lr \(last good checkpoint: .*checkpoint.pt\)"):
        train(cfg, digits, tmp_path, progress=False)
    assert not (tmp_path / "netlist.json").exists() and not (tmp_path / "metrics.json").exists()


def test_epoch_order_depends_on_seed_and_epoch_only():
    a = epoch_order(1, 5, 100)
    assert torch.equal(a, epoch_order(1, 5, 100))
    assert sorted(a.tolist()) == list(range(100))
    assert not torch.equal(a, epoch_order(1, 6, 100)) and not torch.equal(a, epoch_order(2, 5, 100))
    assert np.unique(a.numpy()).size == 100


def test_learning_rate_schedules():
    const = resolve(lr=0.1)
    assert [learning_rate(const, s, 4) for s in range(4)] == [0.1] * 4
    cos = resolve(lr=0.1, schedule="cosine")
    lrs = [learning_rate(cos, s, 4) for s in range(4)]
    assert lrs[0] == pytest.approx(0.1) and lrs[2] == pytest.approx(0.05)
    assert all(a > b for a, b in zip(lrs, lrs[1:])) and lrs[-1] > 0


def test_hard_finetune_trains_the_discretized_network(tmp_path, digits):
    """With --hard-finetune 1 the training loss is the discretized network's: one step's recorded
    loss equals the cross-entropy of the freshly initialised model in eval mode (hard gates) on
    that step's batch, and differs from the relaxed model's; evaluation still sees both."""
    from train.loop import build_model

    cfg = resolve(thresholds=2, hard_finetune=1.0, **dict(SMALL, steps=1))
    final = train(cfg, digits, tmp_path / "h", progress=False)
    assert final["torch_eval_matches_netlist"] is True
    m = json.loads((tmp_path / "h" / "metrics.json").read_text())["epochs"]
    assert len(m) == 1 and 0 < m[0]["valid_acc_continuous"] <= 1

    model = build_model(cfg, digits.n_inputs, digits.n_classes)  # the same seeded initialisation
    idx = epoch_order(cfg.seed, 0, len(digits.y_train))[:cfg.batch_size]
    x, y = digits.bits_train[idx], digits.y_train[idx]
    with torch.no_grad():
        hard = float(torch.nn.functional.cross_entropy(model.eval()(x), y))
        soft = float(torch.nn.functional.cross_entropy(model.train()(x), y))
    assert m[0]["train_loss"] == pytest.approx(hard, rel=1e-6)
    assert abs(hard - soft) > 1e-3


def test_init_from_continues_from_weights_and_checks_the_architecture(tmp_path, digits):
    base = resolve(thresholds=2, **SMALL)
    train(base, digits, tmp_path / "a", progress=False)
    ck = tmp_path / "a" / "checkpoint.pt"
    # zero steps of change: lr tiny and one epoch of hard fine-tuning starts from the same tables
    ft = resolve(thresholds=2, init_from=str(ck), hard_finetune=1.0, lr=1e-9, **dict(SMALL, epochs=1))
    final = train(ft, digits, tmp_path / "b", progress=False)
    assert _netlist_key(tmp_path / "b" / "netlist.json")[0] == _netlist_key(tmp_path / "a" / "netlist.json")[0]
    assert final["torch_eval_matches_netlist"] is True
    other = resolve(thresholds=2, init_from=str(ck), **dict(SMALL, width="50,40"))
    with pytest.raises(TrainingError, match=r"not a checkpoint of this architecture \(size mismatch for layers\.0"):
        train(other, digits, tmp_path / "c", progress=False)
    missing = resolve(thresholds=2, init_from=str(tmp_path / "nope.pt"), **SMALL)
    with pytest.raises(TrainingError, match="--init-from: no checkpoint at"):
        train(missing, digits, tmp_path / "d", progress=False)


def test_validation_split_is_carved_from_training_data_and_fixed(digits):
    """The validation rows come out of the training split (stratified, the same whatever the
    training seed), the test split is untouched, and the encoding is fitted without them."""
    plain = load_encoded("digits", thresholds=2)
    assert len(digits.y_train) + len(digits.y_valid) == len(plain.y_train) == 1437
    assert len(digits.y_valid) == round(0.1 * 1437) and digits.valid == {
        "fraction": 0.1, "seed": 0, "n": 144, "of": 1437}
    assert torch.equal(digits.bits_test, plain.bits_test) and torch.equal(digits.y_test, plain.y_test)
    # stratified: every class is in the validation split, in proportion
    counts = np.bincount(digits.y_valid.numpy(), minlength=10)
    assert counts.min() >= 13 and counts.max() <= 16
    # the rows are disjoint: every training row appears exactly once in train + valid
    both = torch.cat([digits.bits_train, digits.bits_valid])
    assert sorted(map(bytes, both.numpy())) == sorted(map(bytes, plain.bits_train.numpy()))
    again = load_encoded("digits", thresholds=2, valid_fraction=0.1)
    assert torch.equal(again.bits_valid, digits.bits_valid)


def test_test_split_is_evaluated_once_and_select_best_picks_the_best_validation_epoch(tmp_path, digits):
    # a learning rate this high makes the validation accuracy wander: the best epoch is not the last
    cfg = resolve(thresholds=2, select="best", tau=4.0, **dict(SMALL, epochs=5, lr=1.0))
    final = train(cfg, digits, tmp_path, progress=False)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert all(not any(k.startswith("test_") for k in e) for e in m["epochs"])  # never per epoch
    accs = [e["valid_acc_discrete"] for e in m["epochs"]]
    best = 1 + int(np.argmax(accs))  # the first epoch reaching the maximum
    assert final["selected_epoch"] == best < len(accs) and final["valid_acc_discrete"] == max(accs)
    net = Netlist.load(tmp_path / "netlist.json")
    _, pred = net.evaluate(digits.bits_valid.numpy())
    assert float((pred == digits.y_valid.numpy()).mean()) == max(accs)  # the netlist is that epoch's
    assert net.meta["valid"]["n"] == 144 and net.meta["selected_epoch"] == best
    _, pred = net.evaluate(digits.bits_test.numpy())
    assert float((pred == digits.y_test.numpy()).mean()) == final["test_acc_discrete"]


def test_validation_options_are_checked(digits):
    from train.config import ConfigError

    with pytest.raises(ConfigError, match=r"--valid-fraction must be in \[0, 0.5\], got 0.7"):
        resolve(valid_fraction=0.7)
    with pytest.raises(ConfigError, match="--select best chooses on the validation split"):
        resolve(valid_fraction=0.0, select="best")
    with pytest.raises(TrainingError, match="validation fraction of 0.1, the configuration asks for 0.2"):
        train(resolve(thresholds=2, valid_fraction=0.2, **SMALL), digits, "/nonexistent/x", progress=False)
