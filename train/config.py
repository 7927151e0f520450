"""Training configuration: the TrainConfig record, named presets, and resolution of CLI overrides.

A preset is a set of defaults; options given on the command line override it. ``resolve`` checks
every value and fails with one-line ``ConfigError`` messages (bad fan-in, widths, etc.) before
anything is loaded or written.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from lgn_hw.columns import MISSING
from lgn_hw.datasets.tabular import DEFAULT_TEST_FRACTION
from lgn_hw.encoding import METHODS

from .connections import CONNECTIONS as _LEARNABLE, DEFAULT_CANDIDATES
from .wiring import DEFAULT_WINDOW

#: Kinds of connections: fixed random, learned among candidates (train/connections.py), local
#: windows (train/wiring.py), a learnable mapping over all inputs (train/mapping.py).
CONNECTIONS = _LEARNABLE + ("local", "mapped")
from .functional import ESTIMATORS
from .layers import INITS, MAX_FAN_IN
from .model import FIRST_LAYER, PARAMS


SCHEDULES = ("constant", "cosine")
#: Which model a run hands on: the last epoch's, or the epoch best on the validation split.
SELECT = ("last", "best")
#: Share of the training rows held out for validation by default (MNIST: 6,000 of 60,000).
DEFAULT_VALID_FRACTION = 0.1
#: The largest --seed (seeds are non-negative: numpy's SeedSequence takes no negative entropy).
MAX_SEED = 2**63 - 1


class ConfigError(ValueError):
    """An invalid training configuration; the message is one line."""


@dataclass
class TrainConfig:
    preset: str = "default"
    dataset: str = "digits"
    data_root: str | None = None
    thresholds: int = 3
    encoding: str = "uniform"
    param: str = "iwp"
    estimator: str = "sin"
    init: str = "residual"
    fan_in: list = field(default_factory=lambda: [4])
    width: list = field(default_factory=lambda: [1000])
    tau: float = 1.0
    epochs: int = 10
    steps: int | None = None
    batch_size: int = 128
    lr: float = 0.01
    schedule: str = "constant"  # learning rate: constant, or cosine decay to 0 over the run
    seed: int = 0
    device: str = "auto"
    grad_norms: bool = False
    connections: str = "random"
    candidates: int = DEFAULT_CANDIDATES
    window: int = DEFAULT_WINDOW
    first_layer: str = "same"  # "patch": 2-D pixel patches of about patch_window bits (image data)
    patch_window: int = 16
    init_from: str | None = None  # start from the weights of this checkpoint.pt (fine-tuning)
    hard_finetune: float = 0.0  # last fraction of the steps trained straight-through (hard forward)
    augment_shift: int = 0  # image datasets: random translations of up to N pixels (train/augment.py)
    mapping_gradient: str = "fd"  # gate-input derivative for a mapped first layer's scores (train/mapping.py)
    valid_fraction: float = DEFAULT_VALID_FRACTION  # training rows held out for validation (train/data.py)
    select: str = "last"  # which epoch's model becomes the netlist: the last, or the best on validation
    encoder_budget: int | None = None  # most costly encoded bits a learned first layer reads (train/mapping.py)
    # a user's file (--dataset PATH; docs/data.md): the label column (default: the last), a test
    # file or else the stratified test share, columns forced categorical/numeric or left out,
    # missing-cell policy
    label: str | None = None
    test: str | None = None
    test_fraction: float = DEFAULT_TEST_FRACTION
    categorical: list = field(default_factory=list)
    numeric: list = field(default_factory=list)
    ignore: list = field(default_factory=list)
    missing: str = "error"

    @property
    def layers(self) -> int:
        return len(self.width)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _one_layer(width: int, tau: float, **options) -> dict:
    """MNIST presets of one learned-mapping layer of fan-in-6 gates (``options``: thresholds=,
    encoding=, and the recipe values a preset chose on validation, e.g. init=, lr=). ``window`` is
    unused by such a layer; 32 is what their recorded runs hold."""
    return dict(dict(dataset="mnist", fan_in=[6], width=[width], tau=tau, epochs=15, batch_size=32,
                     lr=0.01, schedule="cosine", connections="random", first_layer="learned",
                     augment_shift=1, window=32), **options)


#: name -> (one-line description, overrides of TrainConfig defaults)
PRESETS: dict[str, tuple[str, dict]] = {
    "default": ("scikit-learn digits, 3 layers of fan-in-4 IWP gates with local connections: "
                "placed and routed on an iCE40 UP5K, ~1 min on 2 cores",
                dict(dataset="digits", thresholds=4, fan_in=[4], width=[800, 600, 300], tau=4.0,
                     epochs=300, batch_size=64, lr=0.02, connections="local", window=32)),
    "mnist-up5k": ("MNIST sized for an iCE40 UP5K (5,280 LUT4 incl. popcounts, UART and encoder): "
                   "2-D patch first layer, local windows, shifts, tau 2.5 (97.2%, BENCHMARKS.md)",
                   dict(dataset="mnist", thresholds=1, fan_in=[4], width=[2000, 1000, 500], tau=2.5,
                        epochs=40, batch_size=128, lr=0.03, schedule="cosine", connections="local",
                        window=32, first_layer="patch", patch_window=36, augment_shift=1)),
    "mnist-ecp5": ("MNIST sized for a mid-size ECP5-45F / Artix-7 35T part (fan-in 4)",
                   dict(dataset="mnist", thresholds=2, fan_in=[4], width=[8000, 8000, 4000, 2000],
                        tau=16.0, epochs=20, batch_size=128, lr=0.01)),
    "mnist-difflogic": ("difflogic's MNIST model for comparison: 6 x 8000 fan-in-2 gates",
                        dict(dataset="mnist", thresholds=1, fan_in=[2], width=[8000] * 6, tau=10.0,
                             epochs=20, batch_size=128, lr=0.01)),
    "mnist-fanin6": ("MNIST, 6 x 2000 fan-in-6 IWP gates (LUT6 parts), fixed random connections",
                     dict(dataset="mnist", thresholds=2, fan_in=[6], width=[2000] * 6, tau=10.0,
                          epochs=20, batch_size=128, lr=0.01)),
    "mnist-lut6": ("MNIST for 7-series LUT6 (~14K LUT6 incl. encoder): 6 x 2000 fan-in-6 gates, learned "
                   "connections, shifts; ~1 h on 2 cores, then a short --hard-finetune pass (README)",
                   dict(dataset="mnist", thresholds=1, fan_in=[6], width=[2000] * 6, tau=10.0,
                        epochs=30, batch_size=128, lr=0.01, schedule="cosine", connections="learned",
                        candidates=4, augment_shift=1)),
    # one layer of fan-in-6 gates on a learnable mapping over the encoded pixels, straight into
    # the GroupSum: the most accurate per LUT of what was tried on validation (BENCHMARKS.md,
    # Accuracy: 3-seed means and LUT6 counts of the whole core and of the core without encoder)
    # Gaussian initialisation and lr 0.02: +0.31 points of 3-seed validation mean (BENCHMARKS.md)
    "mnist-lut6-300": ("MNIST, 97.0% in 785 LUT6 registered (564 without the encoder): 300 fan-in-6 "
                       "gates in one layer on a learned mapping of 3 thresholds per pixel, Gaussian "
                       "initialisation, lr 0.02; ~6 min on 1 thread",
                       _one_layer(300, 2.5, thresholds=3, init="gaussian", lr=0.02)),
    "mnist-lut6-500": ("MNIST, 97.5% in 1,365 LUT6 (1,096 without the encoder): 500 fan-in-6 gates in "
                       "one layer on a learned mapping of 3 thresholds per pixel; ~25 min on 1 thread",
                       _one_layer(500, 3.0, thresholds=3)),
    "mnist-lut6-600": ("MNIST, 98.0% in 1,410 LUT6 registered (seed 0); then 3 epochs --lr 0.005 --encoder-budget "
                       "440 from its checkpoint: 98.0% in 1,366 (README): 600 fan-in-6 gates in one "
                       "layer on a learned mapping of 3 thresholds per pixel, Gaussian initialisation, "
                       "lr 0.02; ~20 min on 1 thread",
                       _one_layer(600, 3.5, thresholds=3, init="gaussian", lr=0.02)),
    "mnist-bits-300": ("MNIST, 96.0% in 654 LUT6 (the encoder is wires): 300 fan-in-6 gates in one "
                       "layer on a learned mapping of each pixel's top 2 bits; ~10 min on 1 thread",
                       _one_layer(300, 2.5, thresholds=2, encoding="bits")),
    "mnist-bits-600": ("MNIST, 97.3% in 1,276 LUT6 (the encoder is wires): 600 fan-in-6 gates in one "
                       "layer on a learned mapping of each pixel's top 2 bits; ~15 min on 1 thread",
                       _one_layer(600, 3.5, thresholds=2, encoding="bits")),
    "adult": ("UCI Adult, quantile thermometer + one-hot, small fan-in-4 network",
              dict(dataset="adult", thresholds=8, encoding="quantile", fan_in=[4], width=[512, 256],
                   tau=8.0, epochs=10, batch_size=256, lr=0.01)),
    "breast-cancer": ("UCI Breast Cancer (Ljubljana), small fan-in-4 network",
                      dict(dataset="breast-cancer", thresholds=4, fan_in=[4], width=[128, 64],
                           tau=4.0, epochs=100, batch_size=32, lr=0.01)),
    "monk1": ("MONK-1", dict(dataset="monk1", fan_in=[4], width=[64, 32], tau=2.0, epochs=200,
                             batch_size=16, lr=0.02)),
    "monk2": ("MONK-2", dict(dataset="monk2", fan_in=[4], width=[128, 64], tau=2.0, epochs=200,
                             batch_size=16, lr=0.02)),
    "monk3": ("MONK-3", dict(dataset="monk3", fan_in=[4], width=[64, 32], tau=2.0, epochs=200,
                             batch_size=16, lr=0.02)),
}


def parse_int_list(text, what: str) -> list:
    """"2000,2000,1000" or 2000 or [..] -> list of positive ints (one-line error otherwise)."""
    if isinstance(text, (list, tuple)):
        items = list(text)
    elif isinstance(text, int):
        items = [text]
    else:
        items = [s.strip() for s in str(text).split(",") if s.strip()]
    try:
        out = [int(v) for v in items]
    except (TypeError, ValueError):
        raise ConfigError(f"{what}: expected an integer or a comma-separated list of integers, "
                          f"got {text!r}") from None
    if not out:
        raise ConfigError(f"{what}: empty")
    return out


def parse_names(text) -> list:
    """"a,b" or [..] -> list of column names (empty entries dropped)."""
    items = text if isinstance(text, (list, tuple)) else str(text).split(",")
    return [str(s).strip() for s in items if str(s).strip()]


def _check_file_options(cfg: TrainConfig) -> None:
    from lgn_hw.datasets import is_file_dataset
    if is_file_dataset(cfg.dataset):
        if not (math.isfinite(cfg.test_fraction) and 0.0 < cfg.test_fraction < 1.0):
            raise ConfigError(f"--test-fraction must be between 0 and 1 (exclusive), got {cfg.test_fraction}")
        if cfg.missing not in MISSING:
            raise ConfigError(f"--missing must be one of {', '.join(MISSING)}, got {cfg.missing!r}")
        return
    given = [opt for opt, on in (("--label", cfg.label is not None), ("--test", cfg.test is not None),
                                 ("--test-fraction", cfg.test_fraction != DEFAULT_TEST_FRACTION),
                                 ("--categorical", cfg.categorical), ("--numeric", cfg.numeric),
                                 ("--ignore", cfg.ignore), ("--missing", cfg.missing != "error")) if on]
    if given:
        raise ConfigError(f"{given[0]} applies to a user's file (--dataset PATH.csv/.npz/.npy), not to "
                          f"the built-in dataset {cfg.dataset!r}")


def resolve(preset: str = "default", layers: int | None = None, **overrides) -> TrainConfig:
    """The preset's config with ``overrides`` (None values ignored) applied and checked."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; known presets: {', '.join(PRESETS)}")
    cfg = TrainConfig(preset=preset, **PRESETS[preset][1])
    for k, v in overrides.items():
        if v is None:
            continue
        if not hasattr(cfg, k):
            raise ConfigError(f"unknown option {k!r}")
        setattr(cfg, k, v)
    for name in ("categorical", "numeric", "ignore"):
        setattr(cfg, name, parse_names(getattr(cfg, name)))
    cfg.width = parse_int_list(cfg.width, "--width")
    cfg.fan_in = parse_int_list(cfg.fan_in, "--fan-in")
    if layers is not None:
        if layers < 1:
            raise ConfigError(f"--layers must be >= 1, got {layers}")
        if len(cfg.width) == 1:
            cfg.width = cfg.width * layers
        elif len(cfg.width) != layers:
            raise ConfigError(f"--layers {layers} but --width lists {len(cfg.width)} widths")
    if len(cfg.fan_in) == 1:
        cfg.fan_in = cfg.fan_in * len(cfg.width)
    check(cfg)
    return cfg


def _needs_images(cfg: TrainConfig, option: str) -> None:
    from lgn_hw.datasets import IMAGE_SHAPES
    if cfg.dataset not in IMAGE_SHAPES:
        raise ConfigError(f"{option} needs an image dataset ({', '.join(IMAGE_SHAPES)}), "
                          f"got {cfg.dataset!r}")


def check(cfg: TrainConfig) -> None:
    if len(cfg.fan_in) != len(cfg.width):
        raise ConfigError(f"--fan-in lists {len(cfg.fan_in)} values for {len(cfg.width)} layers")
    for f in cfg.fan_in:
        if not 1 <= f <= MAX_FAN_IN:
            raise ConfigError(f"--fan-in must be in 1..{MAX_FAN_IN}, got {f}")
    for w in cfg.width:
        if w < 1:
            raise ConfigError(f"--width must be positive, got {w}")
    from .limits import check_signals
    check_signals(cfg.width, 1)
    if cfg.param not in PARAMS:
        raise ConfigError(f"--param must be one of {', '.join(PARAMS)}, got {cfg.param!r}")
    if cfg.param == "original" and any(f != 2 for f in cfg.fan_in):
        raise ConfigError("--param original has fan-in 2 (got --fan-in "
                          f"{','.join(map(str, cfg.fan_in))})")
    if cfg.estimator not in ESTIMATORS:
        raise ConfigError(f"--estimator must be one of {', '.join(ESTIMATORS)}, got {cfg.estimator!r}")
    if cfg.init not in INITS:
        raise ConfigError(f"--init must be one of {', '.join(INITS)}, got {cfg.init!r}")
    if cfg.encoding not in METHODS:
        raise ConfigError(f"--encoding must be one of {', '.join(METHODS)}, got {cfg.encoding!r}")
    if cfg.thresholds < 1:
        raise ConfigError(f"--thresholds must be >= 1, got {cfg.thresholds}")
    from lgn_hw.netlist import MAX_SIGNALS
    if cfg.thresholds > MAX_SIGNALS:
        raise ConfigError(f"--thresholds {cfg.thresholds}: more input bits than the {MAX_SIGNALS:,} "
                          f"signals a netlist may have (lgn_hw.netlist.MAX_SIGNALS)")
    if not (math.isfinite(cfg.tau) and cfg.tau > 0):
        raise ConfigError(f"--tau must be a positive number, got {cfg.tau}")
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise ConfigError(f"--lr must be a positive number, got {cfg.lr}")
    if cfg.schedule not in SCHEDULES:
        raise ConfigError(f"--schedule must be one of {', '.join(SCHEDULES)}, got {cfg.schedule!r}")
    if cfg.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {cfg.batch_size}")
    if cfg.epochs < 1:
        raise ConfigError(f"--epochs must be >= 1, got {cfg.epochs}")
    if cfg.steps is not None and cfg.steps < 1:
        raise ConfigError(f"--steps must be >= 1, got {cfg.steps}")
    if cfg.connections not in CONNECTIONS:
        raise ConfigError(f"--connections must be one of {', '.join(CONNECTIONS)}, got {cfg.connections!r}")
    if cfg.connections == "learned" and cfg.param != "iwp":
        raise ConfigError("--connections learned needs --param iwp")
    if cfg.candidates < 1:
        raise ConfigError(f"--candidates must be >= 1, got {cfg.candidates}")
    if cfg.first_layer not in FIRST_LAYER:
        raise ConfigError(f"--first-layer must be one of {', '.join(FIRST_LAYER)}, got {cfg.first_layer!r}")
    if cfg.first_layer == "learned" and cfg.param != "iwp":
        raise ConfigError("--first-layer learned needs --param iwp")
    from .mapping import GRADIENTS
    if cfg.mapping_gradient not in GRADIENTS:
        raise ConfigError(f"--mapping-grad must be one of {', '.join(GRADIENTS)}, got {cfg.mapping_gradient!r}")
    if cfg.mapping_gradient != "fd" and not (cfg.first_layer == "learned" or cfg.connections == "mapped"):
        raise ConfigError("--mapping-grad applies to a learnable mapping: add --first-layer learned "
                          "or --connections mapped")
    if cfg.encoder_budget is not None:
        if cfg.first_layer != "learned":
            raise ConfigError("--encoder-budget prunes a learned mapping: add --first-layer learned")
        if cfg.encoder_budget < 0:
            raise ConfigError(f"--encoder-budget must be >= 0, got {cfg.encoder_budget}")
    if cfg.connections == "mapped" and cfg.param != "iwp":
        raise ConfigError("--connections mapped needs --param iwp")
    if cfg.first_layer == "patch":
        _needs_images(cfg, "--first-layer patch")
        if cfg.patch_window < 1:
            raise ConfigError(f"--patch-window must be >= 1, got {cfg.patch_window}")
    if cfg.connections == "local" and cfg.window < max(cfg.fan_in):
        raise ConfigError(f"--window {cfg.window} must be at least the fan-in ({max(cfg.fan_in)})")
    if not (math.isfinite(cfg.hard_finetune) and 0.0 <= cfg.hard_finetune <= 1.0):
        raise ConfigError(f"--hard-finetune must be a fraction in [0, 1], got {cfg.hard_finetune}")
    if cfg.augment_shift:
        from .augment import MAX_SHIFT
        if not 0 <= cfg.augment_shift <= MAX_SHIFT:
            raise ConfigError(f"--augment-shift must be in 0..{MAX_SHIFT}, got {cfg.augment_shift}")
        _needs_images(cfg, "--augment-shift")
    from .data import MAX_VALID_FRACTION
    if not (math.isfinite(cfg.valid_fraction) and 0.0 <= cfg.valid_fraction <= MAX_VALID_FRACTION):
        raise ConfigError(f"--valid-fraction must be in [0, {MAX_VALID_FRACTION}], got {cfg.valid_fraction}")
    if cfg.select not in SELECT:
        raise ConfigError(f"--select must be one of {', '.join(SELECT)}, got {cfg.select!r}")
    if cfg.select == "best" and cfg.valid_fraction == 0:
        raise ConfigError("--select best chooses on the validation split: needs --valid-fraction > 0")
    _check_file_options(cfg)
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu or cuda, got {cfg.device!r}")
    if not 0 <= cfg.seed <= MAX_SEED:
        raise ConfigError(f"--seed must be in 0..{MAX_SEED}, got {cfg.seed}")

