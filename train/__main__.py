"""``python -m train``: train a logic gate network and write everything later stages need.

With no arguments it trains the built-in default (scikit-learn digits, thermometer-encoded, a
model that fits an iCE40 UP5K) into ``lgn-out/``. Options override the chosen ``--preset``.
``torchrun --nproc-per-node N -m train ...`` runs it data-parallel (train/distributed.py).
"""
from __future__ import annotations

import os
import sys

# OpenMP threads that spin while waiting lose badly when the cores are shared (measured: a 6x8000
# training step took 10x longer with the default policy on a busy 2-core machine). Must be set
# before torch loads libgomp; an explicit OMP_WAIT_POLICY wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import click

from lgn_hw import DEFAULT_OUT

from lgn_hw.columns import MISSING
from lgn_hw.encoding import METHODS

from .config import PRESETS, ConfigError, resolve
from .model import FIRST_LAYER

#: The most --threads (OpenMP starts them all: a million would exhaust the machine).
MAX_THREADS = 1024


def _preset_epilog() -> str:
    """The presets, one per line (the \\b keeps click from rewrapping them)."""
    rows = "\n".join(f"  {k:<16} {v[0]}" for k, v in PRESETS.items())
    return f"\b\nPresets (--preset NAME):\n{rows}"


@click.command(name="train", epilog=_preset_epilog(),
               context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--preset", default="default", show_default=True,
              help="Named configuration (listed below); other options override it.")
@click.option("--dataset", help="Dataset name (digits, mnist, fashion-mnist, adult, breast-cancer, "
                                "monk1, monk2, monk3), or your own file: PATH.csv (header row), "
                                "PATH.npz (x, y) or X.npy,Y.npy (docs/data.md). Default: the preset's.")
@click.option("--label", help="Your file: the label column (default: the last column).")
@click.option("--test", help="Your file: a second file of test rows, same columns (default: a fixed "
                             "stratified --test-fraction of the rows, recorded in the netlist).")
@click.option("--test-fraction", type=float, help="Your file without --test: share of the rows held "
                                                  "out for test (default 0.2).")
@click.option("--categorical", help="Your file: columns to one-hot whatever their values ('a,b').")
@click.option("--numeric", help="Your file: columns to thermometer-encode as numbers ('a,b').")
@click.option("--ignore", help="Your file: columns to leave out ('a,b').")
@click.option("--missing", type=click.Choice(MISSING),
              help="Your file: a missing cell (empty, NaN) is an error (default) or drops its row.")
@click.option("--data-root", type=click.Path(file_okay=False),
              help="Directory holding the dataset files (default: $LGN_HW_DATA, else ~/.cache/lgn-hw/datasets).")
@click.option("--download", is_flag=True,
              help="Fetch missing dataset files from their upstream location (MD5-checked) into the data root.")
@click.option("--thresholds", type=int,
              help="Encoded bits per numeric feature: thermometer thresholds, or (--encoding bits) "
                   "the feature's top bits.")
@click.option("--encoding", type=click.Choice(METHODS),
              help="uniform: thermometer thresholds over the feature range; quantile: at training-set "
                   "quantiles; bits: the top --thresholds bits of each integer (bit planes, "
                   "a 0-LUT hardware encoder).")
@click.option("--fan-in", help="Inputs per gate, 1..6 (one value, or one per layer: '6,6,4').")
@click.option("--param", type=click.Choice(["iwp", "original"]),
              help="iwp: 2^n parameters per gate (input-wise); original: difflogic's 16-way softmax (fan-in 2).")
@click.option("--estimator", type=click.Choice(["sin", "sigmoid"]),
              help="IWP coefficient map: 0.5+0.5*sin(theta) or sigmoid(theta).")
@click.option("--init", type=click.Choice(["residual", "gaussian"]),
              help="residual: every gate starts as a pass-through (heavy-tail shift); gaussian: N(0,1).")
@click.option("--connections", type=click.Choice(["random", "learned", "local", "mapped"]), metavar="KIND",
              help="random (fixed random gate inputs), learned (each input picks among --candidates "
                   "random signals: softmax in training, argmax in the netlist; train/connections.py) "
                   "local (fixed inputs from a window of --window neighbouring signals, class "
                   "groups spread over the last layer: routes on small FPGAs; train/wiring.py) or "
                   "mapped (each gate input chooses among all signals of the previous layer; "
                   "train/mapping.py).")
@click.option("--first-layer", type=click.Choice(FIRST_LAYER),
              help="First-layer wiring: same (as --connections), patch (image datasets: each gate "
                   "reads a 2-D patch of about --patch-window bits around its pixel; fixed) or "
                   "learned (each gate input chooses among all input bits: train/mapping.py).")
@click.option("--mapping-grad", "mapping_gradient", type=click.Choice(["fd", "efd"]),
              help="Score gradients of a learnable first-layer mapping: fd (the gates' multilinear "
                   "derivative) or efd (DWN's extended finite difference over every table entry). "
                   "Default fd.")
@click.option("--patch-window", type=int, help="Bits per 2-D patch of --first-layer patch.")
@click.option("--window", type=int, help="Window (signals) of --connections local.")
@click.option("--candidates", type=int, help="Candidate signals per gate input with --connections learned.")
@click.option("--layers", type=int, help="Number of logic layers (repeats a single --width).")
@click.option("--width", help="Gates per layer: one value, or one per layer ('2000,2000,1000').")
@click.option("--tau", type=float, help="GroupSum temperature (class score = group count / tau).")
@click.option("--epochs", type=int, help="Passes over the training set.")
@click.option("--steps", type=int, help="Total optimiser steps (overrides --epochs).")
@click.option("--batch-size", type=int, help="Samples per step.")
@click.option("--lr", type=float, help="Adam learning rate (no weight decay).")
@click.option("--schedule", type=click.Choice(["constant", "cosine"]),
              help="Learning rate over the run: constant, or cosine decay from --lr to 0.")
@click.option("--augment-shift", type=int,
              help="Image datasets: shift each training image by a random 0..N pixels each way "
                   "per step (0: off). Training only; the hardware is unchanged.")
@click.option("--init-from", type=click.Path(dir_okay=False),
              help="Start from the weights of another run's checkpoint.pt (same architecture): "
                   "e.g. a short --hard-finetune 1 pass at a low --lr on a finished model.")
@click.option("--hard-finetune", type=float,
              help="Train the last FRACTION of the steps straight-through: the forward pass uses the "
                   "hard tables (and chosen connections), i.e. the discretized network, the backward "
                   "pass the relaxed ones. Closes the discretization gap (0: off).")
@click.option("--encoder-budget", type=int, metavar="K",
              help="With --first-layer learned: read at most K distinct input bits that cost logic "
                   "in the hardware encoder (a comparator such as x >= 64; a bit that is a wire of "
                   "the raw input, such as x >= 128 of a pixel, is free). The mapping is cut to the "
                   "K most read bits over the first half of the steps (train/mapping.py).")
@click.option("--valid-fraction", type=float,
              help="Share of the training rows held out (stratified, fixed seed) for validation: "
                   "evaluated every epoch, used by --select best; the test split is evaluated once, "
                   "at the end (default 0.1; 0: no validation).")
@click.option("--select", type=click.Choice(["last", "best"]),
              help="The model the run hands on: the last epoch's, or the epoch with the best "
                   "discretized validation accuracy (default last).")
@click.option("--seed", type=int, help="Seed for connections, initialisation and batch order.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="auto: cuda if available.")
@click.option("--out", type=click.Path(file_okay=False), default=DEFAULT_OUT, show_default=True,
              help="Output directory (netlist.json, metrics.json, checkpoint.pt, config.json, curves.png); "
                   "lgn-hw commands read its netlist.json by default.")
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.pt (same settings; may raise --epochs).")
@click.option("--grad-norms", is_flag=True, default=None, help="Log per-layer gradient norms per epoch.")
@click.option("--threads", type=int, help="CPU threads (default: torch's default, all cores).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--dist-timeout", type=float, metavar="SECONDS",
              help="Under torchrun: how long a rank waits for the others in a training step's "
                   "collectives (rank 0's writes included) before it stops with an error (default "
                   "300, at most 604800; until the first step: at least 900).")
def main(preset, layers, out, resume, threads, quiet, download, dist_timeout, **opts):
    """Train a differentiable logic gate network and discretize it into a Netlist."""
    import torch

    from .data import DataError, load_for
    from .distributed import DistributedError, from_env
    from .loop import TrainingError, resolve_device, train

    if threads is not None:
        if not 1 <= threads <= MAX_THREADS:
            raise click.UsageError(f"--threads must be in 1..{MAX_THREADS}, got {threads}")
        torch.set_num_threads(threads)
    try:
        cfg = resolve(preset, layers=layers, **opts)
        with from_env(resolve_device(cfg.device), dist_timeout) as ranks:
            # with --download rank 0 fetches first, so that ranks sharing a folder fetch once
            data = ranks.main_first(lambda: load_for(cfg, download=download), "loading the data") \
                if download else load_for(cfg)
            if ranks.is_main:
                launch = (f", {ranks.world_size} ranks ({ranks.backend})" if ranks.enabled else "")
                click.echo(f"{data.name}: {len(data.y_train)} train / {len(data.y_valid)} validation / "
                           f"{len(data.y_test)} test samples, "
                           f"{data.n_inputs} input bits, {data.n_classes} classes; layers "
                           f"{'x'.join(map(str, cfg.width))} (fan-in {','.join(map(str, cfg.fan_in))}, "
                           f"{cfg.param}), {torch.get_num_threads()} threads{launch}", err=True)
            final = train(cfg, data, out, resume=resume, progress=not quiet, ranks=ranks)
            if not ranks.is_main:
                return
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    except (DataError, TrainingError, DistributedError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # the disk failed under a write (full, removed, read-only)
        where = exc.filename or out
        raise click.ClickException(f"{where}: {exc.strerror or exc}") from None
    if "valid_acc_discrete" in final:
        click.echo(f"discretized validation accuracy: {100 * final['valid_acc_discrete']:.2f}% "
                   f"(epoch {final['selected_epoch']} of {final['epochs']})")
    click.echo(f"discretized test accuracy: {100 * final['test_acc_discrete']:.2f}% "
               f"(continuous {100 * final['test_acc_continuous']:.2f}%, gap "
               f"{100 * final['discretization_gap']:+.2f} points), {final['gates']} gates, "
               f"{final['samples_per_s']:.0f} samples/s, {final['train_time_s']:.1f} s training")
    click.echo(f"wrote {out}/netlist.json, metrics.json, checkpoint.pt, config.json, curves.png")


if __name__ == "__main__":
    sys.exit(main(prog_name="python -m train"))
