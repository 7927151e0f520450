"""train.config: presets, per-layer widths and fan-ins, one-line errors."""
import pytest

from train.config import PRESETS, ConfigError, TrainConfig, parse_int_list, resolve


def test_default_preset_fits_up5k_budget():
    cfg = resolve()
    assert cfg.dataset == "digits" and cfg.preset == "default"
    assert all(f <= 4 for f in cfg.fan_in)  # one iCE40 LUT4 per gate
    assert 1000 <= sum(cfg.width) <= 2000 and cfg.width[-1] <= 400
    assert cfg.width[-1] % 10 == 0


def test_all_presets_resolve():
    for name in PRESETS:
        cfg = resolve(name)
        assert len(cfg.fan_in) == len(cfg.width)
    assert resolve("mnist-difflogic").width == [8000] * 6
    assert resolve("mnist-difflogic").fan_in == [2] * 6


def test_overrides_and_layers():
    cfg = resolve(width="2000,2000,1000", fan_in="6,6,4", lr=0.1)
    assert cfg.width == [2000, 2000, 1000] and cfg.fan_in == [6, 6, 4] and cfg.lr == 0.1
    assert resolve(width="500", layers=4).width == [500] * 4
    assert resolve(width="500", layers=4, fan_in=3).fan_in == [3] * 4
    assert resolve(dataset=None).dataset == "digits"  # None = not given
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("kw,msg", [
    (dict(fan_in=7), r"--fan-in must be in 1..6, got 7"),
    (dict(fan_in=0), r"--fan-in must be in 1..6, got 0"),
    (dict(fan_in="2,x"), "expected an integer or a comma-separated list"),
    (dict(width="100,50", layers=3), "--layers 3 but --width lists 2 widths"),
    (dict(width="100,50", fan_in="2,2,2"), "--fan-in lists 3 values for 2 layers"),
    (dict(param="original", fan_in=4), "--param original has fan-in 2"),
    (dict(tau=-1.0), "--tau must be a positive number"),
    (dict(lr=float("nan")), "--lr must be a positive number"),
    (dict(epochs=0), "--epochs must be >= 1"),
    (dict(width=0), "--width must be positive"),
    (dict(estimator="relu"), "--estimator must be one of"),
    (dict(encoding="planes"), "--encoding must be one of uniform, quantile, bits, got 'planes'"),
    (dict(schedule="step"), "--schedule must be one of constant, cosine"),
    (dict(augment_shift=5), r"--augment-shift must be in 0..4, got 5"),
    (dict(dataset="adult", augment_shift=1), r"--augment-shift needs an image dataset"),
])
def test_errors(kw, msg):
    with pytest.raises(ConfigError, match=msg):
        resolve(**kw)


def test_bit_plane_encoding_resolves_with_shifts():
    cfg = resolve(encoding="bits", thresholds=2, augment_shift=1)
    assert (cfg.encoding, cfg.thresholds, cfg.augment_shift) == ("bits", 2, 1)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset 'mnist-huge'; known presets: default"):
        resolve("mnist-huge")


def test_parse_int_list():
    assert parse_int_list("1, 2,3", "x") == [1, 2, 3]
    assert parse_int_list(5, "x") == [5]
    with pytest.raises(ConfigError, match="x: empty"):
        parse_int_list("", "x")
