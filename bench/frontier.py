"""The accuracy-versus-LUTs frontier: train, discretize, simulate, synthesise and report a sweep.

Each frontier point is a real build, made with the project's own stages:

1. ``train`` (``train.config.resolve`` + ``train.loop.train``): the netlist, metrics and curves in
   ``<work>/<point>/train/`` (reused when a finished run with the identical config is there);
2. ``lgn-hw sim NETLIST --dataset D --simulator iverilog``: the core's Verilog against
   ``Netlist.evaluate`` on the test set (``sim_limit`` samples where the full set is too slow);
3. ``flows.flow.synth_flow`` for Xilinx 7-series (``synth_xilinx``, LUT6): the core with the
   hardware input encoder (raw features in), logic, popcounts and argmax -> ``<point>/xc7/``;
4. ``lgn-hw build --board icebreaker`` (iCE40 UP5K): the core inside the UART wrapper, placed and
   routed, bitstream, Fmax -> ``<point>/ice40/``; a design that does not fit, or that nextpnr has
   not routed within ``--pnr-timeout`` seconds, is recorded as such. Fixed *random* connections
   congest the UP5K's routing (train/wiring.py), so points meant for it use ``connections=local``.

Accuracy is the discretized netlist's test accuracy, recomputed here with ``Netlist.evaluate``
and checked against the training run's own figure. The summary (JSON, Markdown table, PNG with the
published reference points) goes to ``bench/frontier_results/frontier_<mode>.*``; the large artefacts
(netlists, logs, bitstreams) stay under ``--work`` (default ``lgn-out/frontier``, git-ignored).

    python bench/frontier.py --quick                # digits + UCI points, minutes
    python bench/frontier.py                        # + MNIST points: hours on 2 cores
    python bench/frontier.py --only mnist-up5k      # one point (reuses its training if done)
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "frontier_results"  # committed (bench/results/ is git-ignored)
UP5K_LUTS = 5280
#: Published points (accuracy %, LUTs), as stated in their papers; not rebuilt here.
PUBLISHED = {
    "lut6": [("PolyLUT-Add (xcvu9p, 625 MHz post-P&R)", 96.0, 14810)],
    "lut4": [("difflogic-derived Verilog flow (MNIST 20x20)", 96.0, 4480)],
}


@dataclass
class Point:
    name: str
    preset: str
    overrides: dict = field(default_factory=dict)
    ice40_raw: bool = True       # iCE40 build takes raw features (hardware encoder) or bits
    sim_limit: int | None = None  # None: the whole test set
    targets: tuple = ("xc7", "ice40")  # fixed random connections rarely route on a full UP5K
    pipeline_every: int | str | None = None  # iCE40 build ("head" too); a timing failure retries
    # with "head", then 3, then 2
    xc7_cells: bool = False  # 7-series synthesis with one LUT cell per gate (rtl.layer, --lut-cells)
    xc7_popcount: str | None = None  # 7-series popcount structure (None: the default, tree)
    simulator: str = "iverilog"  # lgn-hw sim --simulator (verilator for the largest nets)
    # a second training stage started from the first one's weights (--init-from), with these
    # overrides (e.g. a short straight-through pass); its netlist is the point's
    finetune: dict | None = None


#: mnist-up5k preset values before the patch/shift/tau retune (the old points were trained so)
OLD_UP5K = dict(tau=8.0, schedule="constant", first_layer="same", patch_window=16, augment_shift=0)

POINTS = {
    "tiny": [Point("monk1-tiny", "monk1", dict(epochs=20, width=[40, 20]))],
    # connections are spelled out: a preset's default may change (the default preset went local)
    "quick": [
        Point("digits-random", "default", dict(epochs=100, connections="random"),
              targets=("xc7",)),
        Point("digits-local", "default", dict(epochs=100, connections="local", window=32)),
        Point("digits-small-local", "default",
              dict(epochs=100, width=[400, 200, 100], connections="local", window=32)),
        Point("digits-small-learned", "default",
              dict(epochs=100, width=[400, 200, 100], connections="learned"), targets=("xc7",)),
        Point("breast-cancer", "breast-cancer", dict(connections="random")),
        Point("monk1", "monk1", dict(connections="random")),
        Point("monk3", "monk3", dict(connections="random")),
    ],
    "full": [
        # the preset has changed since these were trained: pinned to what was measured
        Point("mnist-up5k", "mnist-up5k", dict(OLD_UP5K, epochs=11, connections="random", window=16,
                                               lr=0.01),
              ice40_raw=False, targets=("xc7",)),
        Point("mnist-up5k-local", "mnist-up5k",
              dict(OLD_UP5K, epochs=10, connections="local", window=16, lr=0.03), ice40_raw=False),
        Point("mnist-up5k-local64", "mnist-up5k",
              dict(OLD_UP5K, epochs=20, connections="local", window=64, lr=0.03), ice40_raw=False),
        Point("mnist-up5k-wide-local", "mnist-up5k",
              dict(OLD_UP5K, epochs=20, width=[2500, 1250, 500], connections="local", window=16,
                   lr=0.01), ice40_raw=False, targets=("xc7",)),
        # the current preset: 2-D patch first layer, shifts, tau 2.5; raw pixels in (the 1-threshold
        # encoder is x >= 128, a wire), counts register so that it fits the UP5K
        Point("mnist-up5k-patch", "mnist-up5k", dict(), pipeline_every="head"),
        Point("mnist-lut6", "mnist-lut6", dict(), targets=("xc7",), xc7_cells=True,
              xc7_popcount="lut63", simulator="verilator",
              finetune=dict(epochs=3, hard_finetune=1.0, lr=0.002)),
        Point("mnist-fanin6", "mnist-fanin6", dict(epochs=15, connections="random"),
              ice40_raw=False, sim_limit=2000, targets=("xc7",)),
        Point("mnist-fanin6-learned", "mnist-fanin6",
              dict(epochs=6, connections="learned", candidates=4), ice40_raw=False,
              sim_limit=2000, targets=("xc7",)),
        Point("adult", "adult", dict(connections="random")),
        Point("breast-cancer", "breast-cancer", dict(connections="random")),
        Point("monk1", "monk1", dict(connections="random")),
        Point("monk2", "monk2", dict(connections="random")),
        Point("monk3", "monk3", dict(connections="random")),
        Point("digits-local", "default", dict(epochs=100, connections="local", window=32)),
    ],
}


class FrontierError(Exception):
    """A point cannot be built (bad option, training or tool failure); one-line message."""


def resolve_config(point: Point, data_root):
    from train.config import ConfigError, resolve

    try:
        return resolve(point.preset, data_root=data_root, device="cpu", **point.overrides)
    except ConfigError as exc:
        raise FrontierError(f"{point.name}: {exc}") from None


def train_point(point: Point, cfg, train_dir: Path, reuse: bool, progress: bool) -> dict:
    """Train (or reuse a finished run with the same config); returns ``metrics['final']``."""
    from train.config import TrainConfig
    from train.data import DataError, load_for
    from train.loop import TrainingError, train

    metrics = train_dir / "metrics.json"
    if reuse and metrics.exists() and (train_dir / "netlist.json").exists():
        old = json.loads(metrics.read_text())
        # where it ran does not change what it is; nor where the checkpoint a fine-tuning stage
        # started from lay (that stage is reuse-checked itself)
        skip = ("device", "init_from", "preset")  # a preset is a name for values compared here
        same = {k: v for k, v in TrainConfig.from_dict(old.get("config") or {}).to_dict().items()
                if k not in skip}
        if same == {k: v for k, v in cfg.to_dict().items() if k not in skip}:
            return {**old["final"], "reused": True}
    try:
        data = load_for(cfg)
        return {**train(cfg, data, train_dir, progress=progress), "reused": False}
    except (DataError, TrainingError) as exc:
        raise FrontierError(f"{point.name}: {exc}") from None


def netlist_accuracy(net, dataset: str, data_root) -> tuple[float, int]:
    """Discretized test accuracy of ``net`` by ``Netlist.evaluate_raw`` on raw test features."""
    from lgn_hw.datasets import load

    ds = load(dataset, data_root)
    _, pred = net.evaluate_raw(ds.x_test)
    return float((pred == ds.y_test).mean()), int(len(ds.y_test))


_MATCH = re.compile(r"(\d+)/(\d+) samples match \((\w+)")


def simulate(netlist_path: Path, dataset: str, data_root, raw: bool, limit, log: Path,
             simulator: str = "iverilog") -> dict:
    """``lgn-hw sim`` on the test set (Icarus, or Verilator); its output is kept in ``log``."""
    cmd = [sys.executable, "-m", "lgn_hw.cli", "sim", str(netlist_path), "--dataset", dataset,
           "--simulator", simulator]
    if raw:
        cmd.append("--raw-inputs")
    if limit:
        cmd += ["--limit", str(limit)]
    if data_root:
        cmd += ["--data-root", str(data_root)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    from lgn_hw.atomic import write_text_atomic

    write_text_atomic(log, f"$ {' '.join(cmd[1:])}\n{proc.stdout}{proc.stderr}")
    m = _MATCH.search(proc.stdout)
    if m is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise FrontierError(f"lgn-hw sim failed ({tail[0]}) [log: {log}]")
    return {"command": "lgn-hw " + " ".join(cmd[3:]), "matching": int(m.group(1)),
            "samples": int(m.group(2)), "simulator": m.group(3), "exit_code": proc.returncode,
            "raw_inputs": raw, "full_test_set": limit is None, "seconds": round(time.perf_counter() - t0, 1),
            "log": str(log)}


def synth_xc7(net, netlist_path: Path, out: Path, stages: bool, cells: bool = False,
              popcount: str | None = None) -> dict:
    from flows.design import core_design
    from flows.devices import resolve_target
    from flows.flow import synth_flow

    raw = net.encoding is not None
    design = core_design(net, raw_inputs=raw, lut_cells="xc7" if cells else None, popcount=popcount)
    rep = synth_flow(design, resolve_target("xc7"), out, netlist_path=str(netlist_path),
                     hierarchy=stages)
    return {"luts": rep["resources"]["lut"], "resources": rep["resources"],
            "lut_cells": cells, "popcount": popcount or "tree", "seconds": rep["seconds"]["total"],
            "stages": {k: v.get("lut", 0) for k, v in (rep["stages"] or {}).items()},
            "includes": "encoder (raw inputs)" if raw else "no encoder (bit inputs)",
            "report": str(out / "report.json"), "synth_log": str(out / "flat" / "synth.log")}


def build_ice40(netlist_path: Path, out: Path, raw: bool, stages: bool, timeout: float,
                pipeline_every: int | None = None) -> dict:
    """``lgn-hw build --board icebreaker`` (UART wrapper, placed and routed) with a time limit:
    nextpnr may route a congested design for hours, so a build that has not finished within
    ``timeout`` seconds is stopped and recorded as not routed (its logs stay in ``out/build``)."""
    import signal

    from lgn_hw.atomic import write_text_atomic

    cmd = [sys.executable, "-m", "lgn_hw.cli", "build", "--board", "icebreaker", "--netlist",
           str(Path(netlist_path).resolve()), "--out", str(Path(out).resolve())]
    cmd += (["--raw-inputs"] if raw else []) + ([] if stages else ["--no-hierarchy"])
    if pipeline_every:
        cmd += ["--pipeline-every", str(pipeline_every)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=REPO, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate()
        output += f"\n[frontier] stopped after {timeout:.0f} s\n"
    except BaseException:  # Ctrl-C: do not leave the build's tools running
        os.killpg(proc.pid, signal.SIGTERM)
        raise
    seconds = round(time.perf_counter() - t0, 1)
    Path(out).mkdir(parents=True, exist_ok=True)
    write_text_atomic(Path(out) / "build.log", f"$ lgn-hw {' '.join(cmd[3:])}\n{output}")
    base = {"raw_inputs": raw, "pipeline_every": pipeline_every, "seconds": seconds,
            "command": "lgn-hw " + " ".join(cmd[3:]), "log": str(Path(out) / "build.log")}
    if proc.returncode is None or proc.returncode < 0:
        return {**base, "fits": None, "routed": False,
                "error": f"place & route did not finish within {timeout:.0f} s "
                         f"(nextpnr log: {Path(out) / 'build' / 'top.tim'})"}
    tim = Path(out) / "build" / "top.tim"
    if tim.exists():  # what nextpnr got to, also for a failed build
        text = tim.read_text(errors="replace")
        lcs = re.findall(r"ICESTORM_LC:\s+(\d+)/\s*(\d+)", text)
        if lcs:
            base["placed_lcs"], base["lcs_available"] = int(lcs[-1][0]), int(lcs[-1][1])
        fmax = re.findall(r"Max frequency for clock '[^']*': ([\d.]+) MHz \((PASS|FAIL) at "
                          r"([\d.]+) MHz\)", text)
        if fmax:
            base["nextpnr_fmax_mhz"], base["clock_mhz"] = float(fmax[-1][0]), float(fmax[-1][2])
    if proc.returncode != 0:
        last = (output.strip().splitlines() or ["no output"])[-1]
        if "does not fit" in last:
            return {**base, "fits": False, "routed": False, "error": last}
        return {**base, "fits": None, "routed": False, "failed": True, "error": last}
    rep = json.loads((Path(out) / "report.json").read_text())
    tm = rep["timing"]
    logic = (rep.get("pnr") or {}).get("utilisation", {}).get("ICESTORM_LC", {})
    return {**base, "fits": True, "routed": True, "luts": rep["resources"]["lut"],
            "resources": rep["resources"],
            "placed_lcs": logic.get("used"), "lcs_available": logic.get("available"),
            "stages": {k: v.get("lut", 0) for k, v in (rep["stages"] or {}).items()},
            "fmax_mhz": tm.get("fmax_mhz"), "latency_cycles": tm.get("latency_cycles"),
            "includes": "UART wrapper, " + ("encoder, " if raw else "") +
                        "logic, popcounts, argmax",
            "bitstream": rep.get("bitstream"), "report": str(Path(out) / "report.json")}


def run_point(point: Point, work: Path, data_root, *, reuse=True, targets=("sim", "xc7", "ice40"),
              stages=False, progress=True, pnr_timeout: float = 1200) -> dict:
    from lgn_hw.atomic import write_json_atomic
    from lgn_hw.netlist import Netlist
    from lgn_hw.optimize import optimize

    cfg = resolve_config(point, data_root)
    root = work / point.name
    t0 = time.perf_counter()
    if point.finetune:
        train_point(point, cfg, root / "train-base", reuse, progress)
        from train.config import ConfigError, resolve

        try:
            cfg = resolve(point.preset, data_root=data_root, device="cpu",
                          **{**point.overrides, **point.finetune,
                             "init_from": str(root / "train-base" / "checkpoint.pt")})
        except ConfigError as exc:
            raise FrontierError(f"{point.name} (fine-tuning): {exc}") from None
    final = train_point(point, cfg, root / "train", reuse, progress)
    netlist_path = root / "train" / "netlist.json"
    net = Netlist.load(netlist_path)
    acc, n_test = netlist_accuracy(net, cfg.dataset, data_root)
    if abs(acc - final["test_acc_discrete"]) > 1e-12:
        raise FrontierError(f"{point.name}: Netlist.evaluate_raw gives {acc:.4%}, training "
                            f"recorded {final['test_acc_discrete']:.4%}")
    opt, _ = optimize(net)
    digest = hashlib.sha256(netlist_path.read_bytes()).hexdigest()
    prev = {}
    if (root / "point.json").exists():  # results of stages not rerun now carry over
        prev = json.loads((root / "point.json").read_text())
        if prev.get("netlist_sha256") != digest:
            prev = {}
    rec = {"name": point.name, "dataset": cfg.dataset, "point": asdict(point),
           "config": cfg.to_dict(), "gates": int(net.n_gates),
           "gates_after_optimize": int(opt.n_gates),
           "fan_in": sorted({layer.fan_in for layer in net.layers}),
           "widths": [len(layer.tables) for layer in net.layers],
           "test_acc_discrete": acc, "test_acc_continuous": final["test_acc_continuous"],
           "n_test": n_test, "training_reused": final["reused"],
           "train_time_s": final.get("train_time_s"), "netlist": str(netlist_path),
           "netlist_sha256": digest, "carried_over": []}
    if "sim" in targets or "sim" not in prev:
        rec["sim"] = simulate(netlist_path, cfg.dataset, data_root, net.encoding is not None,
                              point.sim_limit, root / "sim.log", point.simulator)
    for key in ("sim", "xc7", "ice40"):
        if key not in targets and key in prev and key not in rec:
            rec[key] = prev[key]
            rec["carried_over"].append(key)
    targets = [t for t in targets if t in point.targets]
    if "xc7" in targets:
        rec["xc7"] = synth_xc7(net, netlist_path, root / "xc7", stages, point.xc7_cells,
                               point.xc7_popcount)
    if "ice40" in targets:
        ice = build_ice40(netlist_path, root / "ice40", point.ice40_raw, stages, pnr_timeout,
                          point.pipeline_every)
        attempts = []
        for every in ("head", 3, 2) if point.pipeline_every is None else ():
            if not (ice.get("failed") and "FAIL at" in ice["error"]):
                break
            # the combinational core misses the board clock: add pipeline registers and retry
            attempts.append(ice)
            ice = build_ice40(netlist_path, root / "ice40", point.ice40_raw, stages, pnr_timeout,
                              every)
        rec["ice40"] = {**ice, "attempts": attempts}
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    write_json_atomic(root / "point.json", rec)
    return rec


def _ice_cells(ice: dict) -> tuple:
    """(LUT4, fits, Fmax, latency) cells of the table for one iCE40 build record."""
    from rtl.pipeline import describe_every

    if not ice:
        return "–", "–", "–", "–"
    if ice.get("fits"):
        pipe = f" ({describe_every(ice['pipeline_every'])})" if ice.get("pipeline_every") else ""
        return (f"{ice['luts']:,}", "yes (placed and routed)", f"{ice.get('fmax_mhz')}{pipe}",
                str(ice.get("latency_cycles", "–")))
    notes = []
    for att in [*ice.get("attempts", []), ice]:
        what = describe_every(att.get("pipeline_every"))
        if att.get("nextpnr_fmax_mhz") and "FAIL at" in att.get("error", ""):
            why = f"timing {att['nextpnr_fmax_mhz']} < {att['clock_mhz']} MHz"
        elif att.get("fits") is False or "placement" in att.get("error", ""):
            why = "no legal placement"
        elif not att.get("failed"):
            why = "not routed in time"
        else:
            why = "failed"
        lcs = f", {att['placed_lcs']:,}/{att['lcs_available']:,} LCs" if att.get("placed_lcs") else ""
        notes.append(f"{what}: {why}{lcs}")
    return "no bitstream: " + "; ".join(notes), "no" if ice.get("fits") is False else "not built", \
        str(ice.get("nextpnr_fmax_mhz") or "–"), "–"


def markdown(points: list) -> str:
    rows = ["| point | dataset | gates (after optimise) | fan-in | test acc. (discretized) | "
            "sim agreement | iCE40 LUT4 (UART design) | fits UP5K | Fmax (MHz) | latency "
            "(cycles) | 7-series LUT6 (core + encoder) |",
            "| --- | --- | ---: | --- | ---: | --- | ---: | --- | ---: | ---: | ---: |"]
    for p in points:
        ice, x = p.get("ice40") or {}, p.get("xc7") or {}
        luts4, fits, fmax, lat = _ice_cells(ice)
        s = p["sim"]
        sim = f"{s['matching']}/{s['samples']}" + ("" if s["full_test_set"] else " (subset)")
        rows.append(
            f"| {p['name']} | {p['dataset']} | {p['gates']:,} ({p['gates_after_optimize']:,}) | "
            f"{','.join(map(str, p['fan_in']))} | {100 * p['test_acc_discrete']:.2f}% | {sim} | "
            f"{luts4} | {fits} | {fmax} | {lat} | "
            f"{x.get('luts', '–')} |")
    return "\n".join(rows) + "\n"


def plot(points: list, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 5.2))
    datasets = sorted({p["dataset"] for p in points})
    for ax, key, lut in ((axes[0], "ice40", "lut4"), (axes[1], "xc7", "lut6")):
        for k, ds in enumerate(datasets):
            pts = [(p[key]["luts"], 100 * p["test_acc_discrete"], p["name"]) for p in points
                   if p["dataset"] == ds and p.get(key, {}).get("luts") is not None]
            if pts:
                ax.scatter([v[0] for v in pts], [v[1] for v in pts], color=f"C{k}", label=ds)
                for x, y, name in pts:
                    ax.annotate(name, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        for label, acc, luts in PUBLISHED[lut]:
            ax.scatter([luts], [acc], marker="*", s=140, color="k")
            ax.annotate(f"{label}: MNIST {acc:.0f}%", (luts, acc), fontsize=7, xytext=(4, -10),
                        textcoords="offset points")
        if key == "ice40":
            ax.axvline(UP5K_LUTS, color="r", ls=":", lw=1)
            ax.text(UP5K_LUTS, ax.get_ylim()[0], " UP5K: 5,280 LUT4", color="r", fontsize=7,
                    rotation=90, va="bottom")
            ax.set_title("iCE40 (UP5K build incl. UART wrapper): LUT4")
        else:
            ax.set_title("Xilinx 7-series (synth_xilinx, core incl. encoder): LUT6")
        ax.set_xscale("log")
        ax.set_xlabel("total LUTs")
        ax.set_ylabel("test accuracy, discretized (%)")
        ax.grid(alpha=0.3, which="both")
        if ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def write_summary(points: list, mode: str, out: Path) -> dict:
    import io

    import matplotlib.pyplot as plt

    from lgn_hw.atomic import write_bytes_atomic, write_json_atomic, write_text_atomic

    fig = plot(points, f"accuracy vs LUTs ({mode} sweep)")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    summary = {"mode": mode, "published": PUBLISHED, "up5k_luts": UP5K_LUTS, "points": points,
               "note": "measured on a 2-core machine shared with other jobs (times are noisy)"}
    paths = {"json": out / f"frontier_{mode}.json", "md": out / f"frontier_{mode}.md",
             "png": out / f"frontier_{mode}.png"}
    write_json_atomic(paths["json"], summary)
    write_text_atomic(paths["md"], markdown(points))
    write_bytes_atomic(paths["png"], buf.getvalue())
    return paths


@click.command()
@click.option("--quick", is_flag=True, help="Digits and UCI points only: minutes.")
@click.option("--tiny", is_flag=True, help="One tiny point; for tests only.")
@click.option("--only", multiple=True, help="Run only these point names (repeatable).")
@click.option("--work", type=click.Path(file_okay=False), default="lgn-out/frontier",
              show_default=True, help="Artefacts: training runs, sim logs, synthesis, bitstreams.")
@click.option("--out", type=click.Path(file_okay=False), default=str(RESULTS), show_default=True,
              help="Where frontier_<mode>.json/.md/.png go.")
@click.option("--data-root", type=click.Path(file_okay=False), default=None)
@click.option("--retrain", is_flag=True, help="Train even when a finished identical run exists.")
@click.option("--targets", default="sim,xc7,ice40", show_default=True,
              help="Comma-separated subset; results of the others carry over from the point's "
                   "previous record when its netlist is unchanged.")
@click.option("--stages", is_flag=True, help="Also run hierarchical synthesis (per-stage LUTs).")
@click.option("--pnr-timeout", type=click.FloatRange(min=1), default=1200, show_default=True,
              help="Seconds an iCE40 build may take before it is recorded as not routed.")
@click.option("--collect", is_flag=True,
              help="Build nothing: write the summary from the points' existing point.json records.")
@click.option("--threads", type=int, default=None, help="torch CPU threads.")
def main(quick, tiny, only, work, out, data_root, retrain, targets, stages, pnr_timeout, collect,
         threads):
    """Train, build and report the accuracy-vs-LUTs frontier."""
    mode = "tiny" if tiny else "quick" if quick else "full"
    points = POINTS[mode]
    if only:
        unknown = set(only) - {p.name for p in points}
        if unknown:
            raise click.UsageError(f"unknown point(s) {', '.join(sorted(unknown))} in {mode} "
                                   f"mode; known: {', '.join(p.name for p in points)}")
        points = [p for p in points if p.name in only]
    tset = tuple(t.strip() for t in targets.split(",") if t.strip())
    bad = set(tset) - {"sim", "xc7", "ice40"}
    if bad:
        raise click.UsageError(f"--targets: unknown {', '.join(sorted(bad))} (use sim, xc7, ice40)")
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))
    if data_root:
        os.environ["LGN_HW_DATA"] = str(Path(data_root).resolve())
    done = []
    if collect:
        found = [Path(work) / p.name / "point.json" for p in points]
        done = [json.loads(f.read_text()) for f in found if f.exists()]
        if not done:
            raise click.ClickException(f"no point.json under {work} for the {mode} points")
        points = []
    for point in points:
        click.echo(f"[{point.name}] ...", err=True)
        try:
            rec = run_point(point, Path(work), data_root, reuse=not retrain, targets=tset,
                            stages=stages, pnr_timeout=pnr_timeout)
        except FrontierError as exc:
            raise click.ClickException(str(exc)) from None
        done.append(rec)
        ice = rec.get("ice40") or {}
        click.echo(f"[{point.name}] {100 * rec['test_acc_discrete']:.2f}% discretized; sim "
                   f"{rec['sim']['matching']}/{rec['sim']['samples']}; iCE40 "
                   f"{ice.get('luts', 'does not fit' if ice else '-')} LUT4, Fmax "
                   f"{ice.get('fmax_mhz')} MHz; xc7 {(rec.get('xc7') or {}).get('luts', '-')} LUT6 "
                   f"({rec['seconds']:.0f} s)", err=True)
    if only and not collect:  # a partial sweep updates the mode's summary: same-named points are replaced
        prev = Path(out) / f"frontier_{mode}.json"
        if prev.exists():
            names = {p["name"] for p in done}
            order = [p.name for p in POINTS[mode]]
            kept = [p for p in json.loads(prev.read_text())["points"] if p["name"] not in names]
            done = sorted(kept + done, key=lambda p: order.index(p["name"])
                          if p["name"] in order else len(order))
    paths = write_summary(done, mode, Path(out))
    click.echo(markdown(done))
    click.echo(f"wrote {paths['json']}, {paths['md']}, {paths['png']}")


if __name__ == "__main__":
    sys.exit(main())
