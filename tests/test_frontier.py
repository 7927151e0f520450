"""Tests for bench/frontier.py: a tiny point built for real over two seeds (``python -m train``,
``lgn-hw sim`` on the whole test set, ``lgn-hw synth --target xc7`` with and without the encoder;
the iCE40 UART build in the slow test), whose summary equals the reports and an independent
recomputation with ``Netlist.evaluate``; reuse of finished seeds and stages, resumption of an
interrupted training, parallel seeds, copy-paste reproducibility of the recorded command, the
protocol guard, the plot and table with the published points, one-line errors."""

import importlib.util
import json
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lgn_hw.optimize import optimize

REPO = Path(__file__).resolve().parents[1]
FRONTIER = REPO / "bench" / "frontier.py"
_spec = importlib.util.spec_from_file_location("lgn_bench_frontier", FRONTIER)
frontier = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = frontier  # dataclasses look their module up there
_spec.loader.exec_module(frontier)
import frontier_commands  # noqa: E402  (bench/ is on sys.path once frontier.py is loaded)
import frontier_report  # noqa: E402
import frontier_seed  # noqa: E402

pytestmark = pytest.mark.tools


def invoke(args):
    return CliRunner().invoke(frontier.main, ["--tiny", "--threads", "1", *map(str, args)])


def build(work, out, data_root, *extra):
    res = invoke(["--work", work, "--out", out, "--data-root", data_root, *extra])
    assert res.exit_code == 0, res.output
    return json.loads((Path(out) / "frontier_tiny.json").read_text()), res


@pytest.fixture(scope="module")
def built(tmp_path_factory, data_root):
    """monk1-tiny, seeds 0 and 1, simulated and synthesised for xc7 (built once per module)."""
    tmp = tmp_path_factory.mktemp("frontier")
    work, out = tmp / "work", tmp / "out"
    out.mkdir()
    stale = {"name": "old", "dataset": "mnist", "test_acc_discrete": 0.9}  # single-seed format
    (out / "frontier_tiny.json").write_text(json.dumps({"points": [stale]}))
    summary, res = build(work, out, data_root, "--only", "monk1-tiny", "--seeds", "0,1",
                         "--targets", "sim,xc7,postsim")
    assert "dropped 1 single-seed record(s)" in res.output
    (point,) = summary["points"]
    return {"work": work, "out": out, "point": point, "tmp": tmp}


def test_two_seed_point_record(built, data_root):
    from lgn_hw.datasets import load
    from lgn_hw.netlist import Netlist

    point, work = built["point"], built["work"]
    assert point == json.loads((work / "monk1-tiny" / "point.json").read_text())
    assert [s["seed"] for s in point["seeds"]] == [0, 1] and point["n_seeds"] == 2
    ds = load("monk1", data_root)
    accs = []
    for s in point["seeds"]:
        net = Netlist.load(s["netlist"])
        _, pred = net.evaluate_raw(ds.x_test)
        accs.append(float(np.mean(pred == ds.y_test)))
        assert s["test_acc"] == accs[-1]
        metrics = json.loads((Path(s["dir"]) / "train" / "metrics.json").read_text())
        assert metrics["final"]["test_acc_discrete"] == s["test_acc"]
        assert metrics["final"]["valid_acc_discrete"] == s["valid_acc"]
        assert metrics["config"]["seed"] == s["seed"] and s["config"]["seed"] == s["seed"]
        # the validation split is the netlist's, recorded, and carved from the training rows
        assert s["valid"] == net.meta["valid"] and s["valid"]["fraction"] == 0.1
        assert s["valid"]["n"] == 12 and s["valid"]["of"] == 124
        assert s["gates"] == net.n_gates == 60 and s["gates_after_optimize"] == optimize(net)[0].n_gates
        # lgn-hw sim on every test sample, all matching, and the log says so
        sim = s["sim"]
        assert sim["samples"] == len(ds.y_test) == s["n_test"] and sim["full_test_set"]
        assert sim["matching"] == sim["samples"] and sim["exit_code"] == 0
        assert f"{sim['samples']}/{sim['samples']} samples match (iverilog" in Path(sim["log"]).read_text()
        # xc7: the whole core (raw inputs: encoder included) and the core without the encoder,
        # each the LUT count of its own synthesis report
        x = s["xc7"]
        whole = json.loads(Path(x["report"]).read_text())
        core = json.loads(Path(x["report_no_encoder"]).read_text())
        assert x["luts"] == whole["resources"]["lut"] > x["luts_no_encoder"] == core["resources"]["lut"] > 0
        assert whole["design"]["raw_inputs"] is True and core["design"]["raw_inputs"] is False
        assert whole["target"]["family"] == core["target"]["family"] == "xc7"
        assert x["encoder_luts"] == whole["stages"]["encoder"]["lut"] > 0
        assert x["popcount_argmax_luts"] == whole["stages"]["groupsum"]["lut"] + whole["stages"]["argmax"]["lut"]
        assert 0 < x["popcount_argmax_share"] < 1
        # every command the seed ran is recorded: the train command and both syntheses
        assert s["commands"]["train"] == [s["training"][0]["command"]]
        assert s["commands"]["xc7"][0].startswith(f"lgn-hw synth {s['netlist']} --target xc7 --raw-inputs")
        assert "--raw-inputs" not in s["commands"]["xc7"][1]
        assert "ice40" not in s and "ice40" not in s["commands"]
        # the counted whole core, simulated after synthesis (raw features in) on every test
        # sample, its self-test catching an inverted LUT
        post = s["postsim"]
        assert post["samples"] == len(ds.y_test) and post["matching"] == post["samples"]
        assert post["self_test_caught"] and post["raw_inputs"] and post["full_test_set"]
        assert s["commands"]["postsim"][0].startswith(f"lgn-hw verify --netlist {s['netlist']} "
                                                      f"--target xc7 --raw-inputs")
        assert "simulation caught it" in Path(post["log"]).read_text()
    assert point["test_acc_mean"] == pytest.approx(statistics.fmean(accs), abs=1e-15)
    assert point["test_acc_std"] == pytest.approx(statistics.stdev(accs), abs=1e-15)
    assert (point["test_acc_min"], point["test_acc_max"]) == (min(accs), max(accs))
    assert point["valid_acc_mean"] == statistics.fmean(s["valid_acc"] for s in point["seeds"])
    luts = [s["xc7"]["luts"] for s in point["seeds"]]
    assert point["xc7"]["luts"] == statistics.fmean(luts) and point["xc7"]["luts_max"] == max(luts)
    assert point["xc7"]["luts_no_encoder"] == statistics.fmean(
        s["xc7"]["luts_no_encoder"] for s in point["seeds"])
    assert point["sim"]["all_match"] and point["sim"]["seeds_simulated"] == 2
    assert point["postsim"]["all_match"] and point["postsim"]["seeds_simulated"] == 2
    assert point["commands"]["rebuild"] == "python bench/frontier.py --tiny --only monk1-tiny --seeds 0,1"
    md = (built["out"] / "frontier_tiny.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| monk1-tiny"))
    assert f"0: {100 * accs[0]:.2f}%, 1: {100 * accs[1]:.2f}%" in row
    assert f"**{100 * point['test_acc_mean']:.2f}%**" in row and "432/432, 432/432" in row
    assert f"{point['xc7']['luts']:,.0f} (max {max(luts):,})" in row
    assert f"`{s['commands']['train'][0]}`" in md
    assert (built["out"] / "frontier_tiny.png").read_bytes()[:4] == b"\x89PNG"


def test_recorded_train_command_reproduces_the_netlist(built, tmp_path):
    """Copy-paste: the seed's recorded command, run from the repository root (another --out),
    trains the same netlist."""
    s = built["point"]["seeds"][0]
    argv = shlex.split(s["commands"]["train"][0])
    assert argv[:3] == ["python", "-m", "train"]
    argv[argv.index("--out") + 1] = str(tmp_path / "again")
    subprocess.run([sys.executable, *argv[1:], "--quiet"], cwd=REPO, check=True, capture_output=True)
    again = json.loads((tmp_path / "again" / "netlist.json").read_text())
    first = json.loads(Path(s["netlist"]).read_text())
    assert again["layers"] == first["layers"] and again["head"] == first["head"]


def test_rerun_reuses_finished_seeds_and_stages(built, data_root):
    logs = sorted(built["work"].glob("monk1-tiny/seed*/**/*.log"))
    before = {p: p.stat().st_mtime_ns for p in logs}
    summary, res = build(built["work"], built["tmp"] / "out2", data_root, "--seeds", "0,1",
                         "--targets", "sim,xc7")
    (again,) = summary["points"]
    assert "] training:" not in res.output and "] xc7:" not in res.output  # nothing ran
    assert "] sim:" not in res.output
    assert {p: p.stat().st_mtime_ns for p in logs} == before
    for s, old in zip(again["seeds"], built["point"]["seeds"]):
        # postsim was not asked for now: its result for the same netlist and command is kept
        assert s["training"][0]["reused"] and s["reused_stages"] == ["sim", "xc7", "postsim"]
        assert s["sim"] == old["sim"] and s["xc7"] == old["xc7"] and s["postsim"] == old["postsim"]
    assert again["test_acc_mean"] == built["point"]["test_acc_mean"]
    # a dry run prints what would run, and what is reused, and writes nothing
    res = invoke(["--work", built["work"], "--out", built["tmp"] / "out3", "--seeds", "0,1,2",
                  "--data-root", data_root, "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "[monk1-tiny seed 0] train (reuse): python -m train --preset monk1" in res.output
    assert "[monk1-tiny seed 2] train (fresh): python -m train --preset monk1" in res.output
    assert "[monk1-tiny seed 2] ice40: lgn-hw build --board icebreaker" in res.output
    assert not (built["tmp"] / "out3").exists() and not (built["work"] / "monk1-tiny" / "seed2").exists()


def test_rebuild_reruns_only_the_stages_asked_for(built, data_root):
    """--rebuild --targets postsim reruns post-synthesis simulation; sim and xc7 keep their
    results (a rebuild of one stage must not drop the others from the record)."""
    log = Path(built["point"]["seeds"][0]["postsim"]["log"])
    before = log.stat().st_mtime_ns
    summary, res = build(built["work"], built["tmp"] / "out4", data_root, "--seeds", "0,1",
                         "--targets", "postsim", "--rebuild")
    (again,) = summary["points"]
    assert "] sim:" not in res.output and "] xc7:" not in res.output
    assert log.stat().st_mtime_ns != before
    for s, old in zip(again["seeds"], built["point"]["seeds"]):
        assert s["reused_stages"] == ["sim", "xc7"]
        assert s["sim"] == old["sim"] and s["xc7"] == old["xc7"]
        assert s["postsim"]["matching"] == s["postsim"]["samples"] == old["postsim"]["samples"]


def test_interrupted_seed_resumes_and_seeds_run_in_parallel(built, tmp_path, data_root):
    """Seed 0 interrupted mid-run (its checkpoint only) is continued with --resume, seed 1 trains
    beside it (--jobs 2); both end with the netlists of the uninterrupted runs."""
    import torch

    from train.config import resolve
    from train.data import load_for
    from train.loop import TrainingError, train

    cfg = resolve("monk1", epochs=10, width=[40, 20], seed=0, data_root=str(data_root))
    d = tmp_path / "work" / "monk1-tiny" / "seed0" / "train"

    def stop(step):
        if step == 30:
            raise KeyboardInterrupt

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.raises(TrainingError, match="interrupted at step 30"):
            train(cfg, load_for(cfg), d, progress=False, step_hook=stop)
    finally:
        torch.set_num_threads(threads)
    assert (d / "checkpoint.pt").exists() and not (d / "netlist.json").exists()
    summary, _ = build(tmp_path / "work", tmp_path / "out", data_root, "--seeds", "0,1",
                       "--jobs", "2", "--targets", "sim")
    (point,) = summary["points"]
    for s, ref in zip(point["seeds"], built["point"]["seeds"]):
        assert s["training"][0]["resumed"] is (s["seed"] == 0) and not s["training"][0]["reused"]
        assert json.loads(Path(s["netlist"]).read_text())["layers"] == \
            json.loads(Path(ref["netlist"]).read_text())["layers"]
        assert s["test_acc"] == ref["test_acc"] and s["sim"]["matching"] == s["n_test"]
    assert (d / "train.log").read_text().splitlines()[0].endswith(" --resume")
    assert point["xc7"] is None  # not synthesised: --targets sim


def test_pipelined_stages_synthesise_and_verify_the_registered_core(built, tmp_path, data_root):
    """A point's ``pipelined_args``: the same netlist synthesised again with them added (whole
    core and without the encoder) and verified after synthesis; the table and plot show it."""
    import shutil

    work = tmp_path / "work"
    shutil.copytree(built["work"], work)
    summary, res = build(work, tmp_path / "out", data_root, "--seeds", "0",
                         "--targets", "xc7_pipelined,postsim_pipelined")
    assert "] training:" not in res.output  # the copied training is reused
    (point,) = summary["points"]
    (s,) = point["seeds"]
    x = s["xc7_pipelined"]
    whole = json.loads(Path(x["report"]).read_text())
    core = json.loads(Path(x["report_no_encoder"]).read_text())
    assert x["luts"] == whole["resources"]["lut"] > x["luts_no_encoder"] == core["resources"]["lut"] > 0
    assert whole["design"]["pipeline_every"] == 2 and whole["design"]["popcount"] == "ternary"
    assert x["flip_flops"] == whole["resources"]["ff"] > 0 and whole["resources"]["carry"] > 0
    assert x["synth_args"] == ["--lut-cells", "--pipeline-every", "2", "--popcount", "ternary"]
    assert s["commands"]["xc7_pipelined"][0].endswith(
        "--raw-inputs --lut-cells --pipeline-every 2 --popcount ternary "
        f"--out {s['dir']}/xc7-pipelined")
    post = s["postsim_pipelined"]
    assert post["matching"] == post["samples"] == s["n_test"] and post["self_test_caught"]
    assert "--pipeline-every 2 --popcount ternary" in s["commands"]["postsim_pipelined"][0]
    assert point["xc7_pipelined"]["luts"] == x["luts"] and point["postsim_pipelined"]["all_match"]
    assert "xc7" not in s  # not asked for in this folder: the combinational stage is not run
    md = (tmp_path / "out" / "frontier_tiny.md").read_text()
    assert frontier_report.PIPE_HEADER in md
    row = next(line for line in md.splitlines()
               if line.startswith("| monk1-tiny | `--pipeline-every 2 --popcount ternary`"))
    assert f"{x['luts']:,} (max {x['luts']:,})" in row and f"{post['samples']}/{post['samples']}" in row
    fig = frontier_report.plot([{**built["point"], "xc7_pipelined": point["xc7_pipelined"]}], "t")
    labels = fig.axes[1].get_legend_handles_labels()[1]
    assert "registered core (pipelined options)" in labels


def test_plot_and_table_with_published_points(built):
    p = {**built["point"], "name": "mnist-like", "dataset": "mnist"}
    fig = frontier_report.plot([p, built["point"]], "t")
    lut4, lut6 = fig.axes
    texts = [t.get_text() for t in lut6.texts]
    for e in frontier_report.PUBLISHED["lut6"]:
        assert any(t.startswith(f"{e['label']}: {e['acc']:g}% / {e['luts']:,} (published; {e['counts']})")
                   for t in texts), e
    assert "DWN n=6 sm: 97.1% / 692 (published; core without the thermometer encoder; Vivado, xcvu9p)" in texts
    assert "mnist-like (2 seeds)" in texts and "monk1-tiny (2 seeds)" in texts
    assert lut6.get_xscale() == "log" and lut4.get_xscale() == "log"
    # the seed spread is drawn: an error bar from the min to the max test accuracy
    bars = [c for c in lut6.containers if hasattr(c, "has_yerr") and c.has_yerr]
    segs = [seg for bar in bars for seg in bar.lines[2][-1].get_segments()]  # the y error bars
    assert any(np.allclose([seg[0][1], seg[1][1]], [100 * p["test_acc_min"], 100 * p["test_acc_max"]])
               for seg in segs)
    # published figures belong to MNIST: not drawn for a sweep without it
    fig = frontier_report.plot([built["point"]], "t")
    assert not any("published" in t.get_text() for t in fig.axes[1].texts)
    md = frontier_report.markdown([p])
    assert md.startswith(frontier_report.HEADER) and "| mnist-like | mnist |" in md


def test_ice40_cells_mark_no_fit_and_timing():
    assert frontier_report.ice_cell({"fits": False, "error": "does not fit"}) == \
        "no bitstream: combinational: no legal placement"
    ice = {"fits": None, "failed": True, "pipeline_every": 2, "nextpnr_fmax_mhz": 9.5,
           "clock_mhz": 12.0, "error": "Max frequency ... (FAIL at 12.00 MHz)",
           "placed_lcs": 4000, "lcs_available": 5280,
           "attempts": [{"fits": None, "failed": True, "error": "(FAIL at 12.00 MHz)",
                         "nextpnr_fmax_mhz": 8.0, "clock_mhz": 12.0}]}
    assert frontier_report.ice_cell(ice) == ("no bitstream: combinational: timing 8.0 < 12.0 MHz; "
                                             "registers every 2 levels: timing 9.5 < 12.0 MHz, "
                                             "4,000/5,280 LCs")
    assert frontier_report.ice_cell({"fits": True, "luts": 4113, "fmax_mhz": 20.3,
                                     "pipeline_every": "head"}) == \
        "4,113 (20.3 MHz, register stage on the class counts)"


@pytest.mark.parametrize("args, msg", [
    (["--only", "nope"], "unknown point(s) nope in tiny mode; known: monk1-tiny"),
    (["--targets", "vivado"], "--targets: unknown vivado (use sim, xc7, postsim, xc7_pipelined, "
                                "postsim_pipelined, ice40)"),
    (["--seeds", "0,x"], "--seeds: expected comma-separated integers, got '0,x'"),
    (["--seeds", "1,1"], "--seeds: expected distinct non-negative seeds, got '1,1'"),
])
def test_bad_options_one_line(tmp_path, args, msg):
    res = invoke([*args, "--work", tmp_path])
    assert res.exit_code == 2
    assert res.output.strip().splitlines()[-1] == f"Error: {msg}"


def test_every_point_checked_before_anything_runs(tmp_path, monkeypatch):
    """Every defined point's commands parse and resolve to its configuration (nothing trains);
    a bad pass-through option, a validation-free recipe, a seed override fail in one line."""
    opts = frontier_seed.Options(dry_run=True)
    for mode, points in frontier.POINTS.items():
        assert len({p.name for p in points}) == len(points), mode
        for point in points:
            frontier.check_point(point, point.seeds, opts, tmp_path)
    assert not any(tmp_path.iterdir())
    bad = [frontier.Point("p", "monk1", synth_args=("--popcount", "nope")),
           frontier.Point("p", "monk1", synth_args=("--raw-inputs",)),
           frontier.Point("p", "monk1", dict(valid_fraction=0.0)),
           frontier.Point("p", "monk1", dict(seed=3)),
           frontier.Point("p", "monk1", dict(epoch=3))]
    msgs = ["lgn-hw synth --popcount nope: Invalid value for '--popcount'",
            "lgn-hw synth option --raw-inputs is set by the frontier itself",
            "p seed 0: valid_fraction is 0: a frontier point's recipe is chosen on a validation split",
            "p: seeds are the point's seeds=, not a training override",
            "p seed 0: unknown option 'epoch'"]
    for point, msg in zip(bad, msgs):
        with pytest.raises(frontier_commands.FrontierError) as exc:
            frontier.check_point(point, (0,), opts, tmp_path)
        assert msg in str(exc.value) and "\n" not in str(exc.value)


def test_train_command_round_trip_catches_a_wrong_spelling():
    from train.config import resolve

    settings = dict(epochs=7, width=[40, 20], mapping_gradient="fd", grad_norms=True, seed=2)
    argv = frontier_commands.train_argv("monk1", settings, "/tmp/x")
    assert "--mapping-grad" in argv and "--grad-norms" in argv and "40,20" in argv
    frontier_commands.check_train_argv(argv, resolve("monk1", **settings))
    wrong = [a if a != "7" else "8" for a in argv]  # an injected mistranslation is caught
    with pytest.raises(frontier_commands.FrontierError, match="epochs=8 instead of epochs=7"):
        frontier_commands.check_train_argv(wrong, resolve("monk1", **settings))


def test_ice40_build_over_time_limit_is_recorded_not_routed(tmp_path, data_root):
    summary, _ = build(tmp_path / "work", tmp_path / "out", data_root, "--seeds", "0",
                       "--targets", "ice40", "--pnr-timeout", "1")
    (point,) = summary["points"]
    (seed,) = point["seeds"]
    ice = seed["ice40"]
    assert ice["fits"] is None and ice["routed"] is False and "luts" not in ice
    assert "did not finish within 1 s" in ice["error"]
    assert "[frontier] stopped after 1 s" in Path(ice["log"]).read_text()
    assert point["ice40"] == {"seeds_built": 1, "seeds_routed": 0, "all_routed": False}
    assert "no bitstream: combinational: not routed in time" in (tmp_path / "out" / "frontier_tiny.md").read_text()


@pytest.mark.slow
def test_tiny_point_ice40_builds(tmp_path, data_root):
    summary, _ = build(tmp_path / "work", tmp_path / "out", data_root, "--seeds", "0",
                       "--targets", "ice40")
    (point,) = summary["points"]
    ice = point["seeds"][0]["ice40"]
    rep = json.loads(Path(ice["report"]).read_text())
    assert ice["fits"] and ice["luts"] == rep["resources"]["lut"] > 0 == point["ice40"]["luts"] - ice["luts"]
    assert ice["fmax_mhz"] == rep["timing"]["fmax_mhz"] > 0
    assert Path(ice["bitstream"]).stat().st_size > 0
    assert ice["placed_lcs"] == rep["pnr"]["utilisation"]["ICESTORM_LC"]["used"]


def test_collect_rewrites_summary_from_point_records(built, tmp_path):
    res = invoke(["--collect", "--work", built["work"], "--out", tmp_path])
    assert res.exit_code == 0, res.output
    rec = json.loads((built["work"] / "monk1-tiny" / "point.json").read_text())
    assert json.loads((tmp_path / "frontier_tiny.json").read_text())["points"] == [rec]
    assert [s["seed"] for s in rec["seeds"]] == [0, 1]
    res = invoke(["--collect", "--work", tmp_path / "x", "--out", tmp_path])
    assert res.exit_code == 1 and "no point.json under" in res.output


def test_finetune_stage_starts_from_the_first_stage(tmp_path, data_root):
    """Point.finetune: a second training run from the first one's checkpoint; its netlist is the
    seed's, its config records where it started, a rerun reuses both stages, and a fine-tuning
    run that started from another checkpoint is not reused."""
    point = frontier.Point("monk1-ft", "monk1", dict(epochs=5, width=[40, 20]), seeds=(0,),
                           targets=(), finetune=dict(epochs=1, hard_finetune=1.0, lr=1e-9))
    opts = frontier_seed.Options(data_root=str(data_root), threads=1, targets=("sim",), live=False)
    rec = frontier.run_point(point, tmp_path, opts, mode="tiny")
    (seed,) = rec["seeds"]
    d = tmp_path / "monk1-ft" / "seed0"
    base = json.loads((d / "train-base" / "metrics.json").read_text())
    ft = json.loads((d / "train" / "metrics.json").read_text())
    assert ft["config"]["init_from"] == frontier_commands.path_arg(d / "train-base" / "checkpoint.pt")
    assert ft["config"]["hard_finetune"] == 1.0 and base["config"]["hard_finetune"] == 0.0
    assert [t["command"] for t in seed["training"]] == seed["commands"]["train"]
    assert "--init-from" in seed["commands"]["train"][1] and "--init-from" not in seed["commands"]["train"][0]
    # lr 1e-9: the fine-tuned tables are the first stage's, so is the accuracy
    assert seed["test_acc"] == base["final"]["test_acc_discrete"]
    assert seed["netlist"].endswith("monk1-ft/seed0/train/netlist.json") and seed["sim"]["matching"] == seed["n_test"]
    again = frontier.run_point(point, tmp_path, opts, mode="tiny")
    assert [t["reused"] for t in again["seeds"][0]["training"]] == [True, True]
    from train.config import TrainConfig

    cfg = TrainConfig.from_dict(ft["config"])
    sha = frontier_seed._sha256(d / "train-base" / "checkpoint.pt")
    assert frontier_seed.training_state(d / "train", cfg, sha) == "finished"
    assert frontier_seed.training_state(d / "train", cfg, "0" * 64) == "fresh"
