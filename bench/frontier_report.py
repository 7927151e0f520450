"""A frontier point's summary over its seeds, and the sweep's table and plot.

``aggregate`` turns a point's per-seed records into the point's record: test accuracy mean,
sample standard deviation, min and max over the seeds (each seed kept), the validation mean, and
the LUT counts' mean and max (7-series whole core and without the encoder, combinational and, for
a point with ``pipelined_args``, registered; iCE40 UART design).
``markdown`` and ``plot`` render the sweep; ``PUBLISHED`` holds the published reference points,
drawn at their published coordinates, each saying what it counts (they are not rebuilt here).
"""
from __future__ import annotations

import statistics
from dataclasses import asdict

UP5K_LUTS = 5280
#: Published points (MNIST test accuracy %, LUTs) as stated by their authors; not rebuilt here.
#: lut6: 7-series / UltraScale+ LUT6 counts; lut4: iCE40 LUT4. ``counts`` says what is counted.
PUBLISHED = {
    "lut6": [
        {"label": "DWN n=6 sm", "acc": 97.1, "luts": 692, "marker": "*",
         "source": "DWN (ICML 2024), Table 2",
         "counts": "core without the thermometer encoder; Vivado, xcvu9p"},
        {"label": "DWN n=6 md", "acc": 97.9, "luts": 1413, "marker": "*",
         "source": "DWN (ICML 2024), Table 2",
         "counts": "core without the thermometer encoder; Vivado, xcvu9p"},
        {"label": "DWN n=6 lg", "acc": 98.3, "luts": 4082, "marker": "*",
         "source": "DWN (ICML 2024), Table 2",
         "counts": "core without the thermometer encoder; Vivado, xcvu9p"},
        {"label": "TreeLUT", "acc": 97.0, "luts": 4478, "marker": "D",
         "source": "TreeLUT (FPGA 2025)", "counts": "the published LUT count"},
        {"label": "PolyLUT-Add", "acc": 96.0, "luts": 14810, "marker": "s",
         "source": "PolyLUT-Add", "counts": "post place and route, xcvu9p, 625 MHz"},
        {"label": "DWN reimpl. (Artix-7 35T)", "acc": 97.70, "luts": 2246, "marker": "P",
         "source": "an independent DWN reimplementation",
         "counts": "placed and routed on an Artix-7 35T, encoder included"},
        {"label": "DWN reimpl. (Artix-7 35T)", "acc": 98.32, "luts": 5670, "marker": "P",
         "source": "an independent DWN reimplementation",
         "counts": "placed and routed on an Artix-7 35T, encoder included"},
    ],
    "lut4": [
        {"label": "difflogic-derived Verilog flow (MNIST 20x20)", "acc": 96.0, "luts": 4480,
         "marker": "*", "source": "a difflogic-derived Verilog flow",
         "counts": "iCE40 LUT4, 20x20 input"},
    ],
}
PUBLISHED_DATASET = "mnist"


def _stats(values: list) -> dict:
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values)}


def _matches(posts: list) -> dict:
    return {"matching": sum(s["matching"] for s in posts),
            "samples": sum(s["samples"] for s in posts), "seeds_simulated": len(posts),
            "all_match": bool(posts) and all(s["matching"] == s["samples"] for s in posts),
            "full_test_set": bool(posts) and all(s["full_test_set"] for s in posts)}


def _xc7_stats(xs: list) -> dict | None:
    """LUT6 mean/min/max over the seeds synthesised (whole core, without the encoder)."""
    if not xs:
        return None
    whole, core = _stats([x["luts"] for x in xs]), _stats([x["luts_no_encoder"] for x in xs])
    shares = [x["popcount_argmax_share"] for x in xs if x.get("popcount_argmax_share") is not None]
    ffs = [x["flip_flops"] for x in xs if x.get("flip_flops") is not None]
    return {"luts": whole["mean"], "luts_min": whole["min"], "luts_max": whole["max"],
            "luts_no_encoder": core["mean"], "luts_no_encoder_min": core["min"],
            "luts_no_encoder_max": core["max"],
            "flip_flops": statistics.fmean(ffs) if len(ffs) == len(xs) else None,
            "popcount_argmax_share": statistics.fmean(shares) if shares else None,
            "seeds_built": len(xs), "synth_args": xs[0]["synth_args"]}


def aggregate(point, seeds: list, *, rebuild: str, seconds: float) -> dict:
    """The point's record: every seed's record plus the statistics over the seeds."""
    accs = [s["test_acc"] for s in seeds]
    rec = {"name": point.name, "dataset": seeds[0]["config"]["dataset"], "point": asdict(point),
           "n_seeds": len(seeds), "seeds": seeds,
           "test_acc_mean": statistics.fmean(accs),
           "test_acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
           "test_acc_min": min(accs), "test_acc_max": max(accs),
           "valid_acc_mean": statistics.fmean(s["valid_acc"] for s in seeds),
           "valid_splits": [s["valid"] for s in seeds],
           "gates": seeds[0]["gates"],
           "gates_after_optimize_mean": statistics.fmean(s["gates_after_optimize"] for s in seeds),
           "train_time_s": [s["train_time_s"] for s in seeds],
           "commands": {"rebuild": rebuild, "per_seed": {str(s["seed"]): s["commands"]
                                                        for s in seeds}},
           "seconds": round(seconds, 1)}
    sims = [s["sim"] for s in seeds if s.get("sim")]
    rec["sim"] = {"matching": sum(s["matching"] for s in sims),
                  "samples": sum(s["samples"] for s in sims), "seeds_simulated": len(sims),
                  "all_match": bool(sims) and all(s["matching"] == s["samples"] for s in sims),
                  "full_test_set": bool(sims) and all(s["full_test_set"] for s in sims)}
    for suffix in ("", "_pipelined"):
        rec["postsim" + suffix] = _matches([s["postsim" + suffix] for s in seeds
                                            if s.get("postsim" + suffix)])
        rec["xc7" + suffix] = _xc7_stats([s["xc7" + suffix] for s in seeds if s.get("xc7" + suffix)])
    ices = [s["ice40"] for s in seeds if s.get("ice40")]
    rec["ice40"] = None
    if ices:
        fit = [i for i in ices if i.get("fits")]
        rec["ice40"] = {"seeds_built": len(ices), "seeds_routed": len(fit),
                        "all_routed": len(fit) == len(seeds)}
        if fit:
            luts = _stats([i["luts"] for i in fit])
            rec["ice40"].update(luts=luts["mean"], luts_min=luts["min"], luts_max=luts["max"],
                                fmax_mhz_min=min(i["fmax_mhz"] for i in fit))
    return rec


def ice_cell(ice: dict) -> str:
    """One seed's iCE40 build in words: LUT4 and Fmax, or why there is no bitstream."""
    from rtl.pipeline import describe_every

    if not ice:
        return "–"
    if ice.get("fits"):
        pipe = f", {describe_every(ice['pipeline_every'])}" if ice.get("pipeline_every") else ""
        return f"{ice['luts']:,} ({ice.get('fmax_mhz')} MHz{pipe})"
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
    return "no bitstream: " + "; ".join(notes)


def _pct(x) -> str:
    return f"{100 * x:.2f}%"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def _luts(x: dict | None, key: str, n_seeds: int) -> str:
    if not x:
        return "–"
    some = f" ({x['seeds_built']} of {n_seeds} seeds)" if x["seeds_built"] < n_seeds else ""
    return f"{x[key]:,.0f} (max {x[key + '_max']:,})" + some


HEADER = ("| point | dataset | gates (live after optimise, mean) | test acc. per seed | "
          "test acc. mean (std) | valid. acc. mean | LUT6 whole core, mean (max) | "
          "LUT6 without encoder, mean (max) | popcount + argmax share | sim match per seed | "
          "xc7 post-synthesis match per seed | "
          "iCE40 UP5K per seed (LUT4, UART design) | training time per seed | rebuild |")
PIPE_HEADER = ("| point | options added | LUT6 whole core, mean (max) | LUT6 without encoder, "
               "mean (max) | flip-flops, mean | combinational whole core, mean | "
               "post-synthesis match per seed |")


def _pipelined_table(points: list) -> str:
    """The registered cores (points with ``pipelined_args``) beside their combinational count."""
    pts = [p for p in points if p.get("xc7_pipelined")]
    if not pts:
        return ""
    rows = ["", "Registered 7-series cores of the same netlists (`lgn-hw synth --target xc7` with "
                "the point's options and these added):", "", PIPE_HEADER,
            "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for p in pts:
        x, n = p["xc7_pipelined"], p["n_seeds"]
        extra = p["point"]["pipelined_args"]
        posts = ", ".join(f"{s['postsim_pipelined']['matching']}/{s['postsim_pipelined']['samples']}"
                          if s.get("postsim_pipelined") else "–" for s in p["seeds"])
        ff = "–" if x.get("flip_flops") is None else f"{x['flip_flops']:,.0f}"
        comb = f"{p['xc7']['luts']:,.0f}" if p.get("xc7") else "–"
        rows.append(f"| {p['name']} | `{' '.join(extra)}` | {_luts(x, 'luts', n)} | "
                    f"{_luts(x, 'luts_no_encoder', n)} | {ff} | {comb} | {posts} |")
    return "\n".join(rows) + "\n"


def markdown(points: list) -> str:
    rows = [HEADER, "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- | --- |"]
    for p in points:
        seeds, n = p["seeds"], p["n_seeds"]
        share = (p["xc7"] or {}).get("popcount_argmax_share")
        sims = ", ".join(f"{s['sim']['matching']}/{s['sim']['samples']}"
                         + ("" if s["sim"]["full_test_set"] else " (subset)") if s.get("sim")
                         else "–" for s in seeds)
        posts = ", ".join(f"{s['postsim']['matching']}/{s['postsim']['samples']}"
                          if s.get("postsim") else "–" for s in seeds)
        ice = "; ".join(ice_cell(s.get("ice40")) for s in seeds) if p.get("ice40") else "–"
        accs = ", ".join(f"{s['seed']}: {_pct(s['test_acc'])}" for s in seeds)
        times = ", ".join(_duration(t) for t in p["train_time_s"])
        share = "–" if share is None else f"{100 * share:.0f}%"
        rows.append(
            f"| {p['name']} | {p['dataset']} | {p['gates']:,} ({p['gates_after_optimize_mean']:,.0f}) | "
            f"{accs} | **{_pct(p['test_acc_mean'])}** ({100 * p['test_acc_std']:.2f}) | "
            f"{_pct(p['valid_acc_mean'])} | {_luts(p['xc7'], 'luts', n)} | "
            f"{_luts(p['xc7'], 'luts_no_encoder', n)} | {share} | {sims} | {posts} | {ice} | {times} | "
            f"`{p['commands']['rebuild']}` |")
    out = "\n".join(rows) + "\n" + _pipelined_table(points)
    lines = ["", "Commands of each seed (run from the repository root; the frontier ran exactly "
                 "these):", ""]
    for p in points:
        lines.append(f"- **{p['name']}**")
        for s in p["seeds"]:
            cmds = [c for key in ("train", "sim", "xc7", "postsim", "xc7_pipelined",
                                                       "postsim_pipelined", "ice40") for c in s["commands"].get(key, [])]
            lines.append(f"  - seed {s['seed']}: " + "; ".join(f"`{c}`" for c in cmds))
    return out + "\n".join(lines) + "\n"


def _published(ax, entries: list) -> None:
    for e in entries:
        ax.scatter([e["luts"]], [e["acc"]], marker=e["marker"], s=110, color="k", zorder=3)
        ax.annotate(f"{e['label']}: {e['acc']:g}% / {e['luts']:,} (published; {e['counts']})",
                    (e["luts"], e["acc"]), fontsize=6, xytext=(4, -9), textcoords="offset points")


def plot(points: list, title: str):
    """Two panels (iCE40 LUT4, 7-series LUT6), log x axis: each point at its seed mean with the
    seed spread (min to max) as error bars; published points where their dataset is plotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(15, 5.6))
    datasets = sorted({p["dataset"] for p in points})
    for ax, key, lut in ((axes[0], "ice40", "lut4"), (axes[1], "xc7", "lut6")):
        for k, ds in enumerate(datasets):
            pts = [p for p in points if p["dataset"] == ds and (p.get(key) or {}).get("luts")]
            for j, p in enumerate(pts):
                h, y = p[key], 100 * p["test_acc_mean"]
                ax.errorbar([h["luts"]], [y], fmt="o", color=f"C{k}", capsize=3,
                            label=f"lgn-hw, {ds} (mean of seeds, min-max)" if j == 0 else None,
                            yerr=[[y - 100 * p["test_acc_min"]], [100 * p["test_acc_max"] - y]],
                            xerr=[[h["luts"] - h["luts_min"]], [h["luts_max"] - h["luts"]]])
                if key == "xc7" and h["luts_no_encoder"] != h["luts"]:
                    ax.scatter([h["luts_no_encoder"]], [y], facecolors="none",
                               edgecolors=f"C{k}", label="without encoder" if j == 0 else None)
                pipe = p.get("xc7_pipelined") if key == "xc7" else None
                if pipe:  # the registered core of the same netlists
                    ax.scatter([pipe["luts"]], [y], marker="s", color=f"C{k}", alpha=0.6,
                               label="registered core (pipelined options)" if j == 0 else None)
                    if pipe["luts_no_encoder"] != pipe["luts"]:
                        ax.scatter([pipe["luts_no_encoder"]], [y], marker="s", facecolors="none",
                                   edgecolors=f"C{k}", label="registered, without encoder"
                                   if j == 0 else None)
                ax.annotate(f"{p['name']} ({p['n_seeds']} seeds)", (h["luts"], y), fontsize=7,
                            xytext=(4, 4), textcoords="offset points")
        if PUBLISHED_DATASET in datasets:
            _published(ax, PUBLISHED[lut])
        if key == "ice40":
            ax.axvline(UP5K_LUTS, color="r", ls=":", lw=1)
            ax.text(UP5K_LUTS, ax.get_ylim()[0], " UP5K: 5,280 LUT4", color="r", fontsize=7,
                    rotation=90, va="bottom")
            ax.set_title("iCE40 UP5K (build incl. UART wrapper): LUT4")
        else:
            ax.set_title("Xilinx 7-series (lgn-hw synth --target xc7, whole core): LUT6")
        ax.set_xscale("log")
        # plain counts on the log axis (a narrow range otherwise gets overlapping 4.5x10^3 labels)
        from matplotlib.ticker import FuncFormatter, NullFormatter
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        lo, hi = ax.get_xlim()
        ax.xaxis.set_minor_formatter(  # within one decade the minor ticks carry the labels
            FuncFormatter(lambda v, _: f"{v:,.0f}") if hi / lo < 10 else NullFormatter())
        ax.tick_params(axis="x", which="both", labelsize=7)
        ax.set_xlabel("LUTs (log scale)")
        ax.set_ylabel("test accuracy, discretized (%)")
        ax.grid(alpha=0.3, which="both")
        if ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def write_summary(points: list, mode: str, out) -> dict:
    import io
    from pathlib import Path

    import matplotlib.pyplot as plt

    from lgn_hw.atomic import write_bytes_atomic, write_json_atomic, write_text_atomic

    fig = plot(points, f"accuracy vs LUTs ({mode} sweep): lgn-hw seed means, published figures")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    summary = {"mode": mode, "published": PUBLISHED, "published_dataset": PUBLISHED_DATASET,
               "up5k_luts": UP5K_LUTS, "points": points,
               "protocol": "recipes chosen on the validation split carved from the training data "
                           "(each netlist's meta.valid); the test split gives the reported figure "
                           "only; accuracies are over all seeds of a point",
               "note": "measured on a 2-core machine shared with other jobs (times are noisy)"}
    out = Path(out)
    paths = {"json": out / f"frontier_{mode}.json", "md": out / f"frontier_{mode}.md",
             "png": out / f"frontier_{mode}.png"}
    write_json_atomic(paths["json"], summary)
    write_text_atomic(paths["md"], markdown(points))
    write_bytes_atomic(paths["png"], buf.getvalue())
    return paths
