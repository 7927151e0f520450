"""The accuracy-versus-LUTs frontier: every point rebuilt for several seeds, by one command.

A point (``POINTS``) is a training recipe (a ``python -m train`` preset plus overrides, an
optional fine-tuning stage) with its seeds and its hardware options. For every seed the frontier
runs the project's own commands, one after another (``frontier_seed``): ``python -m train``
(reused when a finished run with the identical configuration is there, continued with
``--resume`` when interrupted), the netlist's accuracy checks, ``lgn-hw sim`` on the whole test
set, ``lgn-hw synth --target xc7`` of the whole core (``--raw-inputs``: encoder, gates, popcounts,
argmax) and of the core without the encoder, and ``lgn-hw build --board icebreaker`` (iCE40 UP5K,
placed and routed) where the point targets it. ``frontier_report`` turns the seeds into the
point's record (mean, spread, every seed) and the sweep into a table and a plot.

**Protocol.** A recipe is chosen on the validation split that training carves from the training
rows (``--valid-fraction``, recorded as each netlist's ``meta.valid``); a point without one is
refused. The test split gives the reported figure only. Each seed's exact ``python -m train`` and
``lgn-hw`` commands are recorded (run from the repository root, they rebuild it).

    python bench/frontier.py --quick                    # digits + UCI points
    python bench/frontier.py --only NAME                # one point, its seeds (default 0,1,2)
    python bench/frontier.py --only NAME --seeds 0,1    # other seeds
    python bench/frontier.py --only NAME --dry-run      # print every command, run nothing
    python bench/frontier.py --quick --collect          # redraw the summary from point records

Results: ``bench/frontier_results/frontier_<mode>.{json,md,png}``; artefacts (runs, logs,
reports, bitstreams) under ``--work`` (default ``lgn-out/frontier/<point>/seed<k>/``).
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the frontier_* modules beside it

from frontier_commands import REPO, FrontierError, check_cli_args  # noqa: E402
from frontier_report import PUBLISHED, UP5K_LUTS, aggregate, markdown, plot, write_summary  # noqa: E402,F401
from frontier_seed import Options, run_seed  # noqa: E402

RESULTS = REPO / "bench" / "frontier_results"  # committed (bench/results/ is git-ignored)
DEFAULT_SEEDS = (0, 1, 2)
TARGETS = ("sim", "xc7", "postsim", "xc7_pipelined", "postsim_pipelined", "ice40")


@dataclass
class Point:
    name: str
    preset: str
    overrides: dict = field(default_factory=dict)  # python -m train options (TrainConfig names)
    seeds: tuple = DEFAULT_SEEDS
    # extra ``lgn-hw synth`` options for both 7-series runs, passed through as given (e.g.
    # ("--lut-cells", "--popcount", "lut63")); the frontier sets --target, --raw-inputs, --out
    synth_args: tuple = ()
    # when set, the 7-series core is also synthesised and verified with these options added
    # (stages xc7_pipelined, postsim_pipelined): pipeline registers and what only they allow
    pipelined_args: tuple = ()
    build_args: tuple = ()  # extra ``lgn-hw build`` options for the iCE40 build, passed through
    ice40_raw: bool = True  # the iCE40 build takes raw features (hardware encoder) or bits
    sim_limit: int | None = None  # None: the whole test set
    targets: tuple = ("xc7", "ice40")  # fixed random connections rarely route on a full UP5K
    pipeline_every: int | str | None = None  # iCE40 build ("head" too); a timing failure retries
    # with "head", then 3, then 2
    simulator: str = "iverilog"  # lgn-hw sim --simulator (verilator for the largest nets)
    # a second training stage started from the first one's checkpoint (--init-from), with these
    # overrides (e.g. a short straight-through pass); its netlist is the seed's
    finetune: dict | None = None


#: mnist-up5k preset values before the patch/shift/tau retune (the old points were trained so)
OLD_UP5K = dict(tau=8.0, schedule="constant", first_layer="same", patch_window=16, augment_shift=0)
LUT6_CELLS = ("--lut-cells", "--popcount", "lut63")
#: the registered 7-series core: a register boundary every 2 logic levels (about 2 LUTs deep),
#: and the ternary popcount (carry-chain 6:3 counters), which needs them (docs/hardware.md)
PIPELINED_TERNARY = ("--pipeline-every", "2", "--popcount", "ternary")

POINTS = {
    "tiny": [Point("monk1-tiny", "monk1", dict(epochs=10, width=[40, 20]), synth_args=("--lut-cells",),
                   pipelined_args=PIPELINED_TERNARY)],
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
        # the preset: 2-D patch first layer, shifts, tau 2.5; raw pixels in (the 1-threshold
        # encoder is x >= 128, a wire), counts register so that it fits the UP5K
        Point("mnist-up5k-patch", "mnist-up5k", dict(), pipeline_every="head"),
        Point("mnist-lut6", "mnist-lut6", dict(), targets=("xc7",), synth_args=LUT6_CELLS,
              simulator="verilator", finetune=dict(epochs=3, hard_finetune=1.0, lr=0.002)),
        # one learned-mapping layer; whole core in LUT6 cells (family structures: lut63 popcount)
        Point("mnist-lut6-300", "mnist-lut6-300", dict(), targets=("xc7",), synth_args=("--lut-cells",),
              pipelined_args=PIPELINED_TERNARY, simulator="verilator"),
        # the same with at most 200 comparator bits in the encoder (--encoder-budget, train/mapping.py)
        Point("mnist-lut6-300-enc200", "mnist-lut6-300", dict(encoder_budget=200), targets=("xc7",),
              synth_args=("--lut-cells",), pipelined_args=PIPELINED_TERNARY, simulator="verilator"),
        # 600 gates, then 3 epochs from that checkpoint cutting the encoder to 440 comparator bits
        # (about 40 LUT6 fewer: the registered core fits 1,400)
        Point("mnist-lut6-1k4", "mnist-lut6-600", dict(), targets=("xc7",), synth_args=("--lut-cells",),
              pipelined_args=PIPELINED_TERNARY, simulator="verilator",
              finetune=dict(epochs=3, lr=0.005, encoder_budget=440)),
        Point("mnist-lut6-500", "mnist-lut6-500", dict(), targets=("xc7",), synth_args=("--lut-cells",),
              pipelined_args=PIPELINED_TERNARY, simulator="verilator"),
        Point("mnist-bits-300", "mnist-bits-300", dict(), targets=("xc7",), synth_args=("--lut-cells",),
              pipelined_args=PIPELINED_TERNARY, simulator="verilator"),
        Point("mnist-bits-600", "mnist-bits-600", dict(), targets=("xc7",), synth_args=("--lut-cells",),
              pipelined_args=PIPELINED_TERNARY, simulator="verilator"),
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
MODE_FLAG = {"tiny": " --tiny", "quick": " --quick", "full": ""}


def check_point(point: Point, seeds, opts: Options, work: Path) -> None:
    """Every command of every seed, built and checked without running anything: the train
    commands resolve to the point's configuration, the pass-through options parse."""
    check_cli_args("synth", list(point.synth_args), ("--target", "--out", "--raw-inputs"))
    if "xc7" in point.targets:  # the postsim stage passes them to lgn-hw verify too
        check_cli_args("verify", list(point.synth_args), ("--target", "--out", "--raw-inputs"))
        if point.pipelined_args:
            for cmd in ("synth", "verify"):
                check_cli_args(cmd, [*point.synth_args, *point.pipelined_args],
                               ("--target", "--out", "--raw-inputs"))
    if "ice40" in point.targets:
        check_cli_args("build", list(point.build_args),
                       ("--board", "--netlist", "--out", "--raw-inputs", "--pipeline-every"))
    quiet = dataclasses.replace(opts, dry_run=True, echo=lambda msg: None)
    for seed in seeds:
        run_seed(point, seed, work / point.name / f"seed{seed}", quiet)


def run_point(point: Point, work: Path, opts: Options, *, seeds=None, jobs: int = 1,
              mode: str = "full") -> dict:
    """Every seed of ``point`` (one after another, or ``jobs`` at a time), then its record."""
    from lgn_hw.atomic import write_json_atomic

    seeds = tuple(point.seeds if seeds is None else seeds)
    root = work / point.name
    t0 = time.perf_counter()
    if jobs > 1:
        opts = dataclasses.replace(opts, live=False)  # parallel progress bars would interleave
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            recs = list(pool.map(lambda s: run_seed(point, s, root / f"seed{s}", opts), seeds))
    else:
        recs = [run_seed(point, s, root / f"seed{s}", opts) for s in seeds]
    if opts.dry_run:
        return {}
    rebuild = f"python bench/frontier.py{MODE_FLAG.get(mode, '')} --only {point.name}"
    if seeds != tuple(point.seeds):
        rebuild += f" --seeds {','.join(map(str, seeds))}"
    rec = aggregate(point, recs, rebuild=rebuild, seconds=time.perf_counter() - t0)
    write_json_atomic(root / "point.json", rec)
    return rec


def _seed_list(text):
    if text is None:
        return None
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise click.BadParameter(f"expected distinct non-negative seeds, got {text!r}")
    return seeds


def _summary_line(rec: dict) -> str:
    x, ice, sim = rec.get("xc7") or {}, rec.get("ice40") or {}, rec["sim"]
    line = (f"[{rec['name']}] test {100 * rec['test_acc_mean']:.2f}% mean of {rec['n_seeds']} "
            f"seeds ({100 * rec['test_acc_min']:.2f}-{100 * rec['test_acc_max']:.2f}), valid. "
            f"{100 * rec['valid_acc_mean']:.2f}%; sim {sim['matching']}/{sim['samples']}")
    if x:
        line += (f"; xc7 {x['luts']:,.0f} LUT6 mean (max {x['luts_max']:,}), without encoder "
                 f"{x['luts_no_encoder']:,.0f}")
    if rec.get("xc7_pipelined"):
        px = rec["xc7_pipelined"]
        line += (f"; registered {px['luts']:,.0f} LUT6 (without encoder "
                 f"{px['luts_no_encoder']:,.0f})")
    if ice:
        line += f"; iCE40 routed {ice['seeds_routed']}/{ice['seeds_built']}"
    return line + f" ({rec['seconds']:.0f} s)"


def _merge(done: list, prev_path: Path, mode: str) -> list:
    """A partial sweep replaces its own points in the mode's summary and keeps the others (records
    of the single-seed format that preceded seeds are dropped: they cannot be shown alongside)."""
    if not prev_path.exists():
        return done
    try:
        old = json.loads(prev_path.read_text()).get("points", [])
    except (OSError, ValueError, AttributeError):
        raise click.ClickException(f"{prev_path} is not a frontier summary (move it away)") from None
    names = {p["name"] for p in done}
    kept = [p for p in old if isinstance(p, dict) and p.get("name") not in names and "seeds" in p]
    dropped = sum(1 for p in old if isinstance(p, dict) and "seeds" not in p)
    if dropped:
        click.echo(f"dropped {dropped} single-seed record(s) of the old format from {prev_path}",
                   err=True)
    order = [p.name for p in POINTS[mode]]
    return sorted(kept + done, key=lambda p: order.index(p["name"]) if p["name"] in order
                  else len(order))


@click.command()
@click.option("--quick", is_flag=True, help="Digits and UCI points only: minutes per seed.")
@click.option("--tiny", is_flag=True, help="One tiny point; for tests only.")
@click.option("--only", multiple=True, help="Run only these point names (repeatable).")
@click.option("--seeds", help="Comma-separated seeds for every selected point [default: each "
                              "point's seeds, 0,1,2].")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Seeds of a point run at the same time (progress shown only with 1).")
@click.option("--work", type=click.Path(file_okay=False), default="lgn-out/frontier",
              show_default=True, help="Artefacts: training runs, sim logs, synthesis, bitstreams.")
@click.option("--out", type=click.Path(file_okay=False), default=str(RESULTS), show_default=True,
              help="Where frontier_<mode>.json/.md/.png go.")
@click.option("--data-root", type=click.Path(file_okay=False), default=None)
@click.option("--retrain", is_flag=True, help="Train even when a finished identical run exists.")
@click.option("--rebuild", is_flag=True,
              help="Rerun the hardware stages even when a result for the same netlist and command "
                   "exists.")
@click.option("--targets", default=",".join(TARGETS), show_default=True,
              help="Hardware stages to run (comma-separated); results of the others are kept when "
                   "their netlist and command are unchanged.")
@click.option("--stages", is_flag=True, help="iCE40: also the hierarchical (per-stage) synthesis.")
@click.option("--pnr-timeout", type=click.FloatRange(min=1), default=1200, show_default=True,
              help="Seconds an iCE40 build may take before it is recorded as not routed.")
@click.option("--collect", is_flag=True,
              help="Build nothing: write the summary from the points' existing point.json records.")
@click.option("--dry-run", is_flag=True, help="Print every command (and what is reused), run "
                                              "and write nothing.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="python -m train --threads (CPU threads of each training).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="python -m train --device [default: the preset's].")
def main(quick, tiny, only, seeds, jobs, work, out, data_root, retrain, rebuild, targets, stages,
         pnr_timeout, collect, dry_run, threads, device):
    """Train, build and report the accuracy-vs-LUTs frontier, every point over its seeds."""
    mode = "tiny" if tiny else "quick" if quick else "full"
    points = POINTS[mode]
    if only:
        unknown = set(only) - {p.name for p in points}
        if unknown:
            raise click.UsageError(f"unknown point(s) {', '.join(sorted(unknown))} in {mode} "
                                   f"mode; known: {', '.join(p.name for p in points)}")
        points = [p for p in points if p.name in only]
    try:
        seed_override = _seed_list(seeds)
    except click.BadParameter as exc:
        raise click.UsageError(f"--seeds: {exc.message}") from None
    tset = tuple(t.strip() for t in targets.split(",") if t.strip())
    bad = set(tset) - set(TARGETS)
    if bad:
        raise click.UsageError(f"--targets: unknown {', '.join(sorted(bad))} (use {', '.join(TARGETS)})")
    work = Path(work).resolve()
    if data_root:
        os.environ["LGN_HW_DATA"] = str(Path(data_root).resolve())
    opts = Options(data_root=data_root, threads=threads, device=device, retrain=retrain,
                   rebuild=rebuild, targets=tset, stages=stages, pnr_timeout=pnr_timeout,
                   live=jobs == 1, dry_run=dry_run, echo=lambda msg: click.echo(msg, err=True))
    done = []
    if collect:
        found = [work / p.name / "point.json" for p in points]
        done = [r for r in (json.loads(f.read_text()) for f in found if f.exists()) if "seeds" in r]
        if not done:
            raise click.ClickException(f"no point.json under {work} for the {mode} points")
        points = []
    try:
        for point in points:  # all commands checked before anything runs
            check_point(point, seed_override or point.seeds, opts, work)
        for point in points:
            chosen = seed_override or point.seeds
            click.echo(f"[{point.name}] seeds {','.join(map(str, chosen))}"
                       + (" (dry run)" if dry_run else ""), err=True)
            rec = run_point(point, work, opts, seeds=chosen, jobs=jobs, mode=mode)
            if not dry_run:
                done.append(rec)
                click.echo(_summary_line(rec), err=True)
    except FrontierError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        raise click.ClickException("interrupted: run the same command again to continue (finished "
                                   "seeds and stages are reused, training resumes from its "
                                   "checkpoint)") from None
    if dry_run:
        return
    if only and not collect:
        done = _merge(done, Path(out) / f"frontier_{mode}.json", mode)
    paths = write_summary(done, mode, Path(out))
    click.echo(markdown(done))
    click.echo(f"wrote {paths['json']}, {paths['md']}, {paths['png']}")


if __name__ == "__main__":
    sys.exit(main())
