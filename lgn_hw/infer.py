"""``lgn-hw infer``: accuracy and throughput of a netlist's software evaluators.

Loads a Netlist (default ``lgn-out/netlist.json``) and a dataset split or a user's file
(``lgn_hw.datasets.samples``), encodes the raw features with the netlist's own encoding, evaluates
in batches (``Netlist.evaluate``, 64 samples per word) and prints the accuracy (when the samples
have labels), the predicted classes by name and the evaluator's throughput; encoding time is
reported separately. ``--predictions FILE`` writes every sample's predicted class (CSV, atomically).
The evaluator is the netlist compiled to C (``--engine c``, ``lgn_hw.export.engine``: the default
when a C compiler is found; it also times its own encoder) or the bit-packed numpy one.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from lgn_hw import DATA_ENV, DEFAULT_NETLIST

__all__ = ["InferResult", "run_infer", "load_netlist", "dataset_from_meta", "infer_command"]


@dataclass
class InferResult:
    n_samples: int
    correct: int | None  # None without labels
    encode_s: float
    evaluate_s: float
    pred: np.ndarray
    counts: np.ndarray
    classify_s: float | None = None  # the C engine from raw features (encoder included)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n_samples if self.n_samples and self.correct is not None else float("nan")

    @property
    def samples_per_s(self) -> float:
        return self.n_samples / self.evaluate_s if self.evaluate_s > 0 else float("inf")


def load_netlist(path: str | Path | None):
    """Load a Netlist, turning every failure into a one-line ``click.ClickException``."""
    from lgn_hw.netlist import Netlist, NetlistError

    given = path is not None
    path = Path(path if given else DEFAULT_NETLIST)
    if not path.exists():
        if given:
            raise click.ClickException(f"no netlist at {path}")
        raise click.ClickException(f"no netlist at {path}: run `python -m train` first or pass a path")
    try:
        return Netlist.load(path)
    except NetlistError as exc:
        raise click.ClickException(str(exc)) from None


def dataset_from_meta(meta) -> str | None:
    """The dataset a netlist's ``meta`` records (``lgn_hw.datasets.samples.default_dataset``): a
    built-in name, or the file it was trained on; else None."""
    from lgn_hw.datasets.samples import default_dataset

    return default_dataset(meta)


def run_infer(netlist, x: np.ndarray, y: np.ndarray | None, batch: int = 16384, progress: bool = False,
              repeat: int = 1, engine=None) -> InferResult:
    """Encode ``x`` with the netlist's encoding, evaluate in batches, compare with ``y`` (if any).

    With ``repeat > 1`` the evaluation runs that many times and ``evaluate_s`` is the median.
    ``engine`` (a ``lgn_hw.export.engine.CEngine``) evaluates packed bits in C instead of numpy
    (packing counts as encoding) and also times its raw-feature path (``classify_s``)."""
    if netlist.encoding is None:
        raise click.ClickException("the netlist has no encoding (its inputs are bits): infer needs one to "
                                   "encode raw dataset features")
    if x.shape[1] != netlist.encoding.n_features:
        raise click.ClickException(f"the netlist's encoding expects {netlist.encoding.n_features} features, "
                                   f"the dataset has {x.shape[1]}")
    batch = max(64, (int(batch) // 64) * 64)
    t0 = time.perf_counter()
    bits = netlist.encoding.encode(x)
    if engine is not None:
        from lgn_hw.netlist import pack_samples

        packed = [(pack_samples(bits[s:s + batch]), len(bits[s:s + batch])) for s in range(0, len(x), batch)]
    encode_s = time.perf_counter() - t0
    from tqdm import tqdm

    times = []
    with tqdm(total=len(x) * repeat, unit="sample", desc="evaluate",
              disable=not progress or len(x) * repeat <= batch, leave=False) as bar:
        for _ in range(max(1, repeat)):
            preds, counts = [], []
            elapsed = 0.0
            for i, s in enumerate(range(0, len(x), batch)):
                t0 = time.perf_counter()
                c, p = (netlist.evaluate(bits[s:s + batch]) if engine is None
                        else engine.evaluate_packed(*packed[i]))
                elapsed += time.perf_counter() - t0
                preds.append(p)
                counts.append(c)
                bar.update(len(p))
            times.append(elapsed)
    evaluate_s = float(np.median(times))
    pred = np.concatenate(preds) if preds else np.zeros(0, dtype=np.int64)
    cnt = np.concatenate(counts) if counts else np.zeros((0, netlist.n_classes), dtype=np.int64)
    correct = None if y is None else int(np.sum(pred == y))
    classify_s = None
    if engine is not None:
        raw = engine.features(x)  # conversion to the C feature type is not timed
        classify_s = float(np.median([_timed(engine.classify, raw, False) for _ in range(max(1, repeat))]))
    return InferResult(len(x), correct, encode_s, evaluate_s, pred.astype(np.int64), cnt.astype(np.int64),
                       classify_s)


def _timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


@click.command("infer", short_help="Accuracy and throughput of a netlist on a dataset.")
@click.argument("netlist", required=False, type=click.Path(dir_okay=False))
@click.option("--dataset", "dataset", default=None,
              help="Dataset name, or a .csv/.npz/.npy file read as the netlist's training data was "
                   "(docs/data.md) [default: the one recorded in the netlist's meta].")
@click.option("--data-root", type=click.Path(file_okay=False), default=None,
              help=f"Folder holding the datasets (default: ${DATA_ENV}, else ~/.cache/lgn-hw/datasets).")
@click.option("--download", is_flag=True, help="Fetch missing dataset files from upstream (MD5-checked).")
@click.option("--split", type=click.Choice(["test", "train"]), default="test", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use only the first N samples.")
@click.option("--batch", type=click.IntRange(min=64), default=16384, show_default=True,
              help="Samples per evaluator call (rounded down to a multiple of 64).")
@click.option("--repeat", type=click.IntRange(min=1), default=1, show_default=True,
              help="Evaluate this many times and report the median time.")
@click.option("--predictions", type=click.Path(dir_okay=False), default=None,
              help="Write each sample's predicted class to this CSV file (row, class, name).")
@click.option("--engine", type=click.Choice(["auto", "c", "numpy"]), default="auto", show_default=True,
              help="c: the netlist compiled to C (cached per machine); numpy: the bit-packed numpy "
                   "evaluator; auto: c when a C compiler is found, else numpy.")
def infer_command(netlist, dataset, data_root, download, split, limit, batch, repeat, predictions, engine):
    """Accuracy and throughput of NETLIST (default lgn-out/netlist.json) on a dataset split."""
    from lgn_hw.datasets import DatasetError, list_datasets
    from lgn_hw.datasets.samples import default_dataset, netlist_samples, prediction_summary

    net = load_netlist(netlist)
    if predictions:
        _check_writable(predictions)
    if dataset is None and default_dataset(net.meta) is None:
        raise click.UsageError("--dataset is required: the netlist's meta records no dataset "
                               f"(known: {', '.join(list_datasets())}; or a .csv/.npz/.npy file)")
    try:
        s = netlist_samples(net, dataset, data_root, split, download=download, limit=limit)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    from lgn_hw.export.engine import select_engine

    eng, how = select_engine(net, engine)
    if eng is not None:
        try:
            eng.features(s.x)
        except ValueError as exc:
            raise click.ClickException(f"--engine c: {exc}") from None
    res = run_infer(net, s.x, s.y, batch=batch, progress=True, repeat=repeat, engine=eng)
    n_in = net.n_inputs
    click.echo(f"netlist: {netlist or DEFAULT_NETLIST} ({len(net.layers)} layers, {net.n_gates} gates, "
               f"{n_in} input bits, {net.n_classes} classes)")
    click.echo(f"engine: {how}")
    click.echo(f"dataset: {s.what}")
    if res.correct is not None:
        click.echo(f"accuracy: {res.accuracy:.4f} ({res.correct}/{res.n_samples})")
    else:
        click.echo("accuracy: - (the samples have no labels)")
    click.echo(f"predicted: {prediction_summary(res.pred, s.class_names)}")
    if predictions:
        try:
            _write_predictions(predictions, s, res.pred)
        except OSError as exc:
            raise click.ClickException(f"--predictions {predictions}: cannot write it "
                                       f"({exc.strerror or exc})") from None
        click.echo(f"wrote {predictions} ({res.n_samples} predictions)")
    what = "bit-packed numpy" if eng is None else "C, packed bits"
    click.echo(f"evaluate: {res.samples_per_s:,.0f} samples/s ({_secs(res.evaluate_s)}, {what}, "
               f"batches of {max(64, batch // 64 * 64)}"
               + (f", median of {repeat} runs)" if repeat > 1 else ")"))
    if res.classify_s is not None:
        rate = res.n_samples / res.classify_s if res.classify_s > 0 else float("inf")
        click.echo(f"classify: {rate:,.0f} samples/s ({_secs(res.classify_s)}, C, raw features: "
                   "encoder included, classes only)")
    click.echo(f"encode: {_secs(res.encode_s)} ({n_in} bits/sample, not included above)")


def _check_writable(path) -> None:
    """Before any work: ``--predictions`` can be written (its nearest existing folder is a
    writable folder; the missing ones are made when it is written). Nothing is created here."""
    folder = Path(os.path.abspath(path)).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise click.ClickException(f"--predictions {path}: cannot write there ({folder} is not "
                                   f"a folder)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.ClickException(f"--predictions {path}: cannot write there (permission denied)")


def _write_predictions(path, samples, pred) -> None:
    import csv
    import io

    from lgn_hw.atomic import write_text_atomic

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["line" if samples.rows is not None else "sample", "class", "name"])
    rows = samples.rows if samples.rows is not None else np.arange(len(pred))
    for r, p in zip(rows.tolist(), pred.tolist()):
        w.writerow([r, p, samples.class_names[p]])
    write_text_atomic(path, buf.getvalue())


def _secs(s: float) -> str:
    return f"{s:.3f} s" if s >= 1 else f"{s * 1e3:.2f} ms"
