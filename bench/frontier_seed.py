"""One seed of a frontier point, built stage by stage with the project's own commands.

1. training (``python -m train``, then an optional fine-tuning stage started from the first one's
   checkpoint with ``--init-from``): a finished run with the identical configuration is reused
   (a fine-tuning stage only if it started from the same checkpoint, by SHA-256), an interrupted
   one is continued with ``--resume``, anything else is trained afresh;
2. the netlist's checks: its discretized test accuracy recomputed with ``Netlist.evaluate_raw``
   on the raw test features, and its validation accuracy with ``Netlist.evaluate`` on the
   validation split rebuilt by ``train.data.load_for``, both equal to what training recorded; a
   validation split must exist (the recipe was chosen on it);
3. ``lgn-hw sim`` (the core's Verilog against ``Netlist.evaluate`` on the test set);
4. ``lgn-hw synth --target xc7``: the whole core with ``--raw-inputs`` (encoder, gates, popcounts,
   argmax; per-stage split from the hierarchical run), and the core without the encoder (bits in);
   then ``lgn-hw verify --target xc7`` with the same options (stage ``postsim``): the whole core
   synthesised as counted, its Yosys netlist simulated in Icarus with the 7-series cell models
   against ``Netlist.evaluate`` on the test set, raw features in, and its self-test (one inverted
   LUT must be caught); a point with ``pipelined_args`` repeats both (stages ``xc7_pipelined``
   and ``postsim_pipelined``, folders ``xc7-pipelined*``) for the core with those options added
   (pipeline registers, and the structures only a registered core has);
5. ``lgn-hw build --board icebreaker`` (iCE40 UP5K, UART design, placed and routed) under a time
   limit; a combinational core that misses the clock is retried with pipeline registers.

A hardware stage is reused when the seed's record holds its result for the same command and the
same netlist (SHA-256) and its report is there. The record (``seed.json``) is rewritten after
every stage, so an interrupted point keeps what it finished.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from frontier_commands import (REPO, RUN_KEYS, FrontierError, check_train_argv, lgn_hw_argv, path_arg,
                               run_command, shown, train_argv)

#: Settings a run must have recorded to count as made under the validation protocol
PROTOCOL_KEYS = ("valid_fraction", "select")
MARKER = "frontier-stage.json"  # what the frontier started in a training folder (init digest)
_MATCH = re.compile(r"(\d+)/(\d+) samples match \((\w+)")


def _echo(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Options:
    data_root: str | None = None
    threads: int | None = None
    device: str | None = None
    retrain: bool = False
    rebuild: bool = False
    targets: tuple = ("sim", "xc7", "postsim", "xc7_pipelined", "postsim_pipelined", "ice40")
    stages: bool = False  # iCE40: also the hierarchical (per-stage) synthesis
    pnr_timeout: float = 1200
    live: bool = True  # show the commands' progress as it comes
    dry_run: bool = False
    echo: object = field(default=_echo)


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _sha256(path) -> str:
    from flows.design import file_sha256

    return file_sha256(path)


def same_config(old: dict, new: dict) -> bool:
    """Same training settings (where it ran aside); a run recorded before a protocol setting
    existed is not the same as one made with it."""
    from train.config import TrainConfig

    if not isinstance(old, dict) or any(k not in old for k in PROTOCOL_KEYS):
        return False
    try:
        a = TrainConfig.from_dict(old).to_dict()
    except TypeError:
        return False
    return ({k: v for k, v in a.items() if k not in RUN_KEYS}
            == {k: v for k, v in new.items() if k not in RUN_KEYS})


def training_state(d: Path, cfg, init_sha: str | None) -> str:
    """finished (reuse), resume (an interrupted run of this config) or fresh."""
    if init_sha is not None and (_read_json(d / MARKER) or {}).get("init_sha256") != init_sha:
        return "fresh"
    m = _read_json(d / "metrics.json")
    if isinstance(m, dict) and "final" in m and (d / "netlist.json").exists() \
            and same_config(m.get("config"), cfg.to_dict()):
        return "finished"
    c = _read_json(d / "config.json")
    if (d / "checkpoint.pt").exists() and same_config(c, cfg.to_dict()):
        return "resume"
    return "fresh"


def train_stage(point, tag: str, d: Path, settings: dict, opts: Options):
    """Reuse, resume or run one ``python -m train``; (stage record, config, metrics['final'])."""
    from train.config import ConfigError, resolve

    try:
        cfg = resolve(point.preset, **settings)
    except ConfigError as exc:
        raise FrontierError(f"{tag}: {exc}") from None
    if cfg.valid_fraction <= 0:
        raise FrontierError(f"{tag}: valid_fraction is 0: a frontier point's recipe is chosen on "
                            f"a validation split, so it must train with one")
    argv = train_argv(point.preset, settings, d, threads=opts.threads, quiet=not opts.live)
    check_train_argv(argv, cfg)
    init = settings.get("init_from")
    init = REPO / init if init else None  # the commands' paths are relative to the repository
    init_sha = _sha256(init) if init and init.is_file() else None
    state = "fresh" if opts.retrain or (init and init_sha is None) else training_state(d, cfg, init_sha)
    rec = {"command": shown(argv), "dir": path_arg(d), "reused": state == "finished",
           "resumed": state == "resume", "log": path_arg(d / "train.log")}
    if opts.dry_run:
        opts.echo(f"[{tag}] train ({'reuse' if state == 'finished' else state}): {shown(argv)}")
        return rec, cfg, None
    if state != "finished":
        from lgn_hw.atomic import write_json_atomic

        d.mkdir(parents=True, exist_ok=True)
        write_json_atomic(d / MARKER, {"command": shown(argv), "init_sha256": init_sha})
        opts.echo(f"[{tag}] {'resuming' if state == 'resume' else 'training'}: {shown(argv)}")
        ran = run_command(argv + (["--resume"] if state == "resume" else []), d / "train.log",
                          live=opts.live)
        if ran.returncode != 0:
            raise FrontierError(f"{tag}: training failed: {ran.last_line()} [log: {ran.log}]")
    m = _read_json(d / "metrics.json")
    if not (isinstance(m, dict) and same_config(m.get("config"), cfg.to_dict())):
        raise FrontierError(f"{tag}: {d / 'metrics.json'} is missing or was trained with other "
                            f"settings than {shown(argv)!r}")
    f = m["final"]
    rec.update({k: f.get(k) for k in ("train_time_s", "wall_time_s", "epochs", "selected_epoch",
                                      "samples_per_s", "threads", "device")})
    return rec, cfg, f


def check_netlist(tag: str, cfg, final: dict, path: Path, data_root) -> tuple:
    """(netlist, its record): accuracies recomputed from the netlist and checked against
    training's figures; gates live after ``Netlist.optimize``; the validation split."""
    from lgn_hw.datasets import load
    from lgn_hw.netlist import Netlist
    from train.data import DataError, load_for

    net = Netlist.load(path)
    ds = load(cfg.dataset, data_root)
    _, pred = net.evaluate_raw(ds.x_test)
    test = float((pred == ds.y_test).mean())
    if abs(test - final["test_acc_discrete"]) > 1e-12:
        raise FrontierError(f"{tag}: Netlist.evaluate_raw gives {test:.4%} on the test set, "
                            f"training recorded {final['test_acc_discrete']:.4%}")
    valid = net.meta.get("valid") or {}
    if valid.get("fraction") != cfg.valid_fraction or not valid.get("n"):
        raise FrontierError(f"{tag}: the netlist records no validation split of fraction "
                            f"{cfg.valid_fraction} (meta.valid: {valid})")
    try:
        data = load_for(cfg)
    except DataError as exc:
        raise FrontierError(f"{tag}: {exc}") from None
    _, vpred = net.evaluate(data.bits_valid.numpy())
    va = float((vpred == data.y_valid.numpy()).mean())
    if abs(va - final["valid_acc_discrete"]) > 1e-12 or len(vpred) != valid["n"]:
        raise FrontierError(f"{tag}: Netlist.evaluate gives {va:.4%} on the {len(vpred)} "
                            f"validation rows, training recorded {final['valid_acc_discrete']:.4%}")
    from lgn_hw.optimize import optimize

    opt, _ = optimize(net)
    return net, {"test_acc": test, "test_acc_continuous": final["test_acc_continuous"],
                 "valid_acc": va, "valid_acc_continuous": final.get("valid_acc_continuous"),
                 "valid": dict(valid), "n_test": int(len(ds.y_test)), "gates": int(net.n_gates),
                 "gates_after_optimize": int(opt.n_gates),
                 "widths": [len(layer.tables) for layer in net.layers],
                 "fan_in": sorted({layer.fan_in for layer in net.layers})}


def simulate(tag, argv, log: Path, raw: bool, limit) -> dict:
    ran = run_command(argv, log)
    m = _MATCH.search(log.read_text(errors="replace"))
    if m is None:
        raise FrontierError(f"{tag}: lgn-hw sim failed ({ran.last_line()}) [log: {log}]")
    return {"matching": int(m.group(1)), "samples": int(m.group(2)), "simulator": m.group(3),
            "exit_code": ran.returncode, "raw_inputs": raw, "full_test_set": limit is None,
            "seconds": ran.seconds, "log": path_arg(log)}


def verify_xc7(tag, argv, log: Path, raw: bool, limit) -> dict:
    """``lgn-hw verify``: post-synthesis simulation of the counted core and its self-test."""
    ran = run_command(argv, log)
    text = log.read_text(errors="replace")
    m = _MATCH.search(text)
    if ran.returncode != 0 or m is None or "simulation caught it" not in text:
        raise FrontierError(f"{tag}: lgn-hw verify failed ({ran.last_line()}) [log: {log}]")
    return {"matching": int(m.group(1)), "samples": int(m.group(2)), "simulator": "postsim-xc7",
            "self_test_caught": True, "raw_inputs": raw, "full_test_set": limit is None,
            "seconds": ran.seconds, "log": path_arg(log)}


def _synth(tag, argv, out: Path) -> dict:
    ran = run_command(argv, out.parent / f"{out.name}.log")
    if ran.returncode != 0:
        raise FrontierError(f"{tag}: lgn-hw synth failed: {ran.last_line()} [log: {ran.log}]")
    rep = json.loads((out / "report.json").read_text())
    return {**rep, "_seconds": ran.seconds}


def synth_xc7(tag, whole_argv, core_argv, d: Path, synth_args, name: str = "xc7") -> dict:
    """Whole core (encoder included when raw) and, when there is an encoder, the core without it
    (into ``d/<name>`` and ``d/<name>-core``)."""
    whole = _synth(tag, whole_argv, d / name)
    core = _synth(tag, core_argv, d / f"{name}-core") if core_argv else whole
    stages = {k: v.get("lut", 0) for k, v in (whole.get("stages") or {}).items()}
    hier = sum(stages.values()) or None
    head = stages.get("groupsum", 0) + stages.get("argmax", 0)
    return {"luts": whole["resources"]["lut"], "luts_no_encoder": core["resources"]["lut"],
            "resources": whole["resources"], "resources_no_encoder": core["resources"],
            "stages": stages, "hierarchical_luts": hier, "encoder_luts": stages.get("encoder"),
            "popcount_argmax_luts": head if hier else None,
            "popcount_argmax_share": head / hier if hier else None,
            "synth_args": list(synth_args),
            "includes": "encoder, gates, popcounts, argmax" if core_argv else
                        "gates, popcounts, argmax (the netlist has no encoder)",
            "flip_flops": whole["resources"].get("ff", 0),
            "report": path_arg(d / name / "report.json"),
            "report_no_encoder": path_arg(d / f"{name}-core" / "report.json") if core_argv else None,
            "seconds": round(whole["_seconds"] + (core["_seconds"] if core_argv else 0), 1)}


def build_ice40(argv: list, out: Path, timeout: float) -> dict:
    """``lgn-hw build --board icebreaker``; a build past ``timeout`` is stopped and recorded as not
    routed (its logs stay in ``out/build``)."""
    ran = run_command(argv, out.parent / f"{out.name}.log", timeout=timeout)
    every = argv[argv.index("--pipeline-every") + 1] if "--pipeline-every" in argv else None
    every = int(every) if every and every.isdigit() else every
    base = {"raw_inputs": "--raw-inputs" in argv, "pipeline_every": every, "seconds": ran.seconds,
            "command": shown(argv), "log": path_arg(ran.log)}
    if ran.timed_out or ran.returncode is None or ran.returncode < 0:
        return {**base, "fits": None, "routed": False,
                "error": f"place & route did not finish within {timeout:.0f} s "
                         f"(nextpnr log: {out / 'build' / 'top.tim'})"}
    tim = out / "build" / "top.tim"
    if tim.exists():  # what nextpnr got to, also for a failed build
        text = tim.read_text(errors="replace")
        lcs = re.findall(r"ICESTORM_LC:\s+(\d+)/\s*(\d+)", text)
        if lcs:
            base["placed_lcs"], base["lcs_available"] = int(lcs[-1][0]), int(lcs[-1][1])
        fmax = re.findall(r"Max frequency for clock '[^']*': ([\d.]+) MHz \((PASS|FAIL) at "
                          r"([\d.]+) MHz\)", text)
        if fmax:
            base["nextpnr_fmax_mhz"], base["clock_mhz"] = float(fmax[-1][0]), float(fmax[-1][2])
    if ran.returncode != 0:
        last = ran.last_line()
        if "does not fit" in last:
            return {**base, "fits": False, "routed": False, "error": last}
        return {**base, "fits": None, "routed": False, "failed": True, "error": last}
    rep = json.loads((out / "report.json").read_text())
    tm = rep["timing"]
    logic = (rep.get("pnr") or {}).get("utilisation", {}).get("ICESTORM_LC", {})
    return {**base, "fits": True, "routed": True, "luts": rep["resources"]["lut"],
            "resources": rep["resources"], "placed_lcs": logic.get("used"),
            "lcs_available": logic.get("available"),
            "stages": {k: v.get("lut", 0) for k, v in (rep["stages"] or {}).items()},
            "fmax_mhz": tm.get("fmax_mhz"), "latency_cycles": tm.get("latency_cycles"),
            "includes": "UART wrapper, " + ("encoder, " if base["raw_inputs"] else "") +
                        "logic, popcounts, argmax",
            "bitstream": rep.get("bitstream"), "report": path_arg(out / "report.json")}


def ice40_argv(point, netlist: Path, out: Path, stages: bool, every) -> list:
    argv = lgn_hw_argv("build", "--board", "icebreaker", "--netlist", path_arg(netlist),
                       "--out", path_arg(out), *point.build_args)
    argv += (["--raw-inputs"] if point.ice40_raw else []) + ([] if stages else ["--no-hierarchy"])
    return argv + (["--pipeline-every", str(every)] if every else [])


def build_ice40_retrying(point, netlist: Path, out: Path, opts: Options) -> dict:
    ice = build_ice40(ice40_argv(point, netlist, out, opts.stages, point.pipeline_every), out,
                      opts.pnr_timeout)
    attempts = []
    for every in ("head", 3, 2) if point.pipeline_every is None else ():
        if not (ice.get("failed") and "FAIL at" in ice["error"]):
            break
        # the combinational core misses the board clock: add pipeline registers and retry
        attempts.append(ice)
        ice = build_ice40(ice40_argv(point, netlist, out, opts.stages, every), out,
                          opts.pnr_timeout)
    return {**ice, "attempts": attempts}


def _outcome(key: str, r: dict) -> str:
    if key in ("sim", "postsim", "postsim_pipelined"):
        return f"{r['matching']}/{r['samples']} samples match ({r['seconds']:.0f} s)"
    if key in ("xc7", "xc7_pipelined"):
        return (f"{r['luts']:,} LUT6 whole core, {r['luts_no_encoder']:,} without the encoder "
                f"({r['seconds']:.0f} s)")
    return (f"{r['luts']:,} LUT4, Fmax {r['fmax_mhz']} MHz" if r.get("fits")
            else r.get("error", "not built")) + f" ({r['seconds']:.0f} s)"


def _xc7_plan(point, tag, d: Path, nl: str, cfg, raw: bool, opts: Options, suffix: str,
              args: tuple) -> dict:
    """Stages ``xc7<suffix>`` (synthesis, whole core and without the encoder) and
    ``postsim<suffix>`` (post-synthesis simulation of the whole core, self-test) with ``args``."""
    name = "xc7" + suffix.replace("_", "-")
    whole = lgn_hw_argv("synth", nl, "--target", "xc7", *(["--raw-inputs"] if raw else []),
                        *args, "--out", path_arg(d / name))
    core = lgn_hw_argv("synth", nl, "--target", "xc7", *args, "--no-hierarchy",
                       "--out", path_arg(d / f"{name}-core")) if raw else None
    verify = lgn_hw_argv("verify", "--netlist", nl, "--target", "xc7",
                         *(["--raw-inputs"] if raw else []), *args, "--dataset",
                         cfg.dataset, *(["--vectors", point.sim_limit] if point.sim_limit else []),
                         *(["--data-root", str(Path(opts.data_root).resolve())] if opts.data_root else []),
                         "--no-formal", "--self-test", "--out", path_arg(d / f"verify-{name}"))
    log = d / f"verify-{name}.log"
    return {
        "xc7" + suffix: ([whole] + ([core] if core else []),
                         lambda: synth_xc7(tag, whole, core, d, args, name),
                         [d / name / "report.json"] + ([d / f"{name}-core" / "report.json"] if core else [])),
        "postsim" + suffix: ([verify], lambda: verify_xc7(tag, verify, log, raw, point.sim_limit),
                             [log]),
    }


def _hw_plan(point, tag: str, d: Path, netlist: Path, cfg, raw: bool, opts: Options) -> dict:
    """stage -> (planned command(s), how to run it, the files its result needs)."""
    nl = path_arg(netlist)
    sim = lgn_hw_argv("sim", nl, "--dataset", cfg.dataset, "--simulator", point.simulator,
                      *(["--raw-inputs"] if raw else []),
                      *(["--limit", point.sim_limit] if point.sim_limit else []),
                      *(["--data-root", str(Path(opts.data_root).resolve())] if opts.data_root else []))
    ice = ice40_argv(point, netlist, d / "ice40", opts.stages, point.pipeline_every)
    plan = {"sim": ([sim], lambda: simulate(tag, sim, d / "sim.log", raw, point.sim_limit),
                    [d / "sim.log"])}
    if "xc7" in point.targets:
        plan.update(_xc7_plan(point, tag, d, nl, cfg, raw, opts, "", point.synth_args))
        if point.pipelined_args:  # the same core with pipeline registers (and their structures)
            plan.update(_xc7_plan(point, tag, d, nl, cfg, raw, opts, "_pipelined",
                                  (*point.synth_args, *point.pipelined_args)))
    if "ice40" in point.targets:
        plan["ice40"] = ([ice], lambda: build_ice40_retrying(point, netlist, d / "ice40", opts),
                         [d / "ice40.log"])
    return plan


def run_seed(point, seed: int, d: Path, opts: Options) -> dict:
    """Train (or reuse) one seed of ``point`` in ``d`` and run its hardware stages; the record."""
    from lgn_hw.atomic import write_json_atomic

    tag = f"{point.name} seed {seed}"
    if "seed" in point.overrides or "seed" in (point.finetune or {}):
        raise FrontierError(f"{point.name}: seeds are the point's seeds=, not a training override")
    common = {"seed": seed, **({"device": opts.device} if opts.device else {}),
              **({"data_root": str(Path(opts.data_root).resolve())} if opts.data_root else {})}
    training = []
    settings = {**point.overrides, **common}
    if point.finetune:
        training.append(train_stage(point, f"{tag}, first stage", d / "train-base", settings, opts)[0])
        settings = {**point.overrides, **point.finetune, **common,
                    "init_from": path_arg(d / "train-base" / "checkpoint.pt")}
    stage, cfg, final = train_stage(point, tag, d / "train", settings, opts)
    training.append(stage)
    netlist = d / "train" / "netlist.json"
    rec = {"seed": seed, "dir": path_arg(d), "training": training,
           "commands": {"train": [t["command"] for t in training]}}
    if opts.dry_run:  # trained netlists have an encoding: raw inputs
        for key, (argvs, _, _) in _hw_plan(point, tag, d, netlist, cfg, True, opts).items():
            if key in opts.targets:
                for argv in argvs:
                    opts.echo(f"[{tag}] {key}: {shown(argv)}")
        return rec
    net, checks = check_netlist(tag, cfg, final, netlist, opts.data_root)
    opts.echo(f"[{tag}] netlist: {checks['gates_after_optimize']:,} of {checks['gates']:,} gates "
              f"live; validation {100 * checks['valid_acc']:.2f}%, test {100 * checks['test_acc']:.2f}%")
    digest = _sha256(netlist)
    prev = _read_json(d / "seed.json") or {}
    if prev.get("netlist_sha256") != digest:
        prev = {}
    rec.update(checks)
    rec.update({"netlist": path_arg(netlist), "netlist_sha256": digest, "config": cfg.to_dict(),
                "train_time_s": sum(t.get("train_time_s") or 0.0 for t in training),
                "wall_time_s": sum(t.get("wall_time_s") or 0.0 for t in training),
                "reused_stages": []})
    write_json_atomic(d / "seed.json", rec)
    for key, (argvs, run, needs) in _hw_plan(point, tag, d, netlist, cfg,
                                              net.encoding is not None, opts).items():
        planned = [shown(a) for a in argvs]
        old = prev.get(key)
        # --rebuild reruns the stages asked for; the others keep their result for this netlist
        if ((not opts.rebuild or key not in opts.targets) and isinstance(old, dict)
                and old.get("planned") == planned and all(p.exists() for p in needs)):
            rec[key], rec["commands"][key] = old, planned
            rec["reused_stages"].append(key)
            continue
        if key not in opts.targets:
            continue  # not asked for now, and no result for this netlist and command
        opts.echo(f"[{tag}] {key}: {planned[0]}")
        rec[key], rec["commands"][key] = {**run(), "planned": planned}, planned
        opts.echo(f"[{tag}] {key}: {_outcome(key, rec[key])}")
        write_json_atomic(d / "seed.json", rec)
    write_json_atomic(d / "seed.json", rec)
    return rec
