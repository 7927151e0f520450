"""Benchmark: simulation speed (samples/s) of the core in Amaranth's simulator, Icarus Verilog and
(when installed) Verilator.

Runs the same vectors (a dataset's test split, encoded by the netlist, or random bits) through
``rtl.sim.simulate_amaranth`` and ``rtl.iverilog.simulate_iverilog``, alternating the contenders
(A B A B ...) and reporting the median over ``--repeats`` rounds, for the combinational core and a
pipelined one. Every run must also match ``Netlist.evaluate`` (a mismatch aborts the benchmark).
Wall and CPU time are both recorded (CPU time is steadier on a loaded machine). Amaranth's time is
the simulation loop; Icarus's is ``vvp`` only (its one-off ``iverilog`` compile and
Amaranth's Verilog conversion are timed separately as ``setup``). Writes ``sim_speed.json`` and
``sim_speed.png`` into ``--out`` and prints a Markdown table. Figures depend on the (shared,
noisy) machine; the thread count is recorded.

    python bench/sim_speed.py lgn-out/netlist.json --dataset digits --repeats 3
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# --rtl-root DIR: take the rtl package from another checkout (A/B against an older commit)
if "--rtl-root" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--rtl-root") + 1])

from lgn_hw.atomic import write_bytes_atomic, write_json_atomic  # noqa: E402


def _vectors(net, dataset, data_root, n_random, limit):
    from rtl.vectors import make_vectors, random_inputs

    if dataset:
        from lgn_hw.datasets import load

        ds = load(dataset, data_root)
        bits = net.encoding.encode(ds.x_test)
        what = f"{ds.name} test"
    else:
        bits = random_inputs(net, n_random, 0, raw_inputs=False)
        what = "random"
    if limit:
        bits = bits[:limit]
    return make_vectors(net, bits, raw_inputs=False), what


def _plot(rows, path):
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['simulator']}\n{r['mode']}" for r in rows]
    fig, ax = plt.subplots(figsize=(1.6 * len(rows) + 2, 3.4))
    ax.bar(labels, [r["samples_per_s"] for r in rows], color="tab:blue")
    ax.set_ylabel("samples / s (median)")
    ax.set_title("lgn-hw sim speed (shared machine)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    write_bytes_atomic(path, buf.getvalue())


@click.command()
@click.argument("netlist", required=False, type=click.Path(dir_okay=False))
@click.option("--dataset", default=None, help="Dataset whose test split to simulate.")
@click.option("--data-root", default=None, type=click.Path(file_okay=False))
@click.option("--random", "n_random", default=2000, show_default=True,
              help="Random vectors when no dataset is given.")
@click.option("--limit", type=int, default=None, help="Use only the first N samples.")
@click.option("--repeats", default=3, show_default=True, help="A/B rounds (median reported).")
@click.option("--pipeline", default=2, show_default=True, help="k of the pipelined variant.")
@click.option("--out", type=click.Path(file_okay=False), default="bench/results", show_default=True)
@click.option("--rtl-root", type=click.Path(file_okay=False), default=None,
              help="Import rtl from this checkout instead (A/B against an older commit).")
def main(netlist, dataset, data_root, n_random, limit, repeats, pipeline, out, rtl_root):
    from amaranth.back import verilog as amaranth_verilog
    from tqdm import tqdm

    from lgn_hw.infer import load_netlist
    from rtl.core import LGNCore
    from rtl.iverilog import simulate_iverilog
    from rtl.sim import simulate_amaranth

    import rtl

    click.echo(f"rtl from {Path(rtl.__file__).parent}", err=True)
    backends = {"iverilog": simulate_iverilog}
    sims = ["amaranth", "iverilog"]
    if shutil.which(os.environ.get("VERILATOR", "verilator")):
        from rtl.verilator import simulate_verilator

        backends["verilator"] = simulate_verilator
        sims.append("verilator")
    net = load_netlist(netlist)
    vec, what = _vectors(net, dataset, data_root, n_random, limit)
    rows = []
    for mode, every in (("combinational", None), (f"pipelined k={pipeline}", pipeline)):
        core = LGNCore(net, pipeline_every=every)
        t0 = time.perf_counter()
        vtext = amaranth_verilog.convert(core, name="lgn_core")
        convert_s = time.perf_counter() - t0
        times = {s: [] for s in sims}
        cpu = {s: [] for s in sims}
        setup = {s: [] for s in sims}
        for _ in tqdm(range(repeats), desc=mode, unit="round"):
            for sim in sims:  # A B C A B C ...
                t0 = time.perf_counter()
                if sim == "amaranth":
                    res = simulate_amaranth(core, vec)
                else:
                    res = backends[sim](core, vec, verilog_text=vtext)
                total = time.perf_counter() - t0
                if not res.ok:
                    raise click.ClickException(f"{sim} {mode}: {res.summary()}")
                times[sim].append(res.seconds)
                cpu[sim].append(getattr(res, "cpu_seconds", float("nan")))
                setup[sim].append(total - res.seconds)
        for sim in sims:
            med = statistics.median(times[sim])
            rows.append({"simulator": sim, "mode": mode, "latency": core.latency,
                         "samples": len(vec), "median_s": med,
                         "samples_per_s": len(vec) / med, "runs_s": times[sim],
                         "cpu_s": statistics.median(cpu[sim]),
                         "samples_per_cpu_s": len(vec) / statistics.median(cpu[sim]),
                         "runs_cpu_s": cpu[sim],
                         "setup_s": statistics.median(setup[sim])
                         + (convert_s if sim != "amaranth" else 0.0)})
    info = {"netlist": str(netlist), "vectors": what, "gates": core.netlist.n_gates,
            "layers": len(core.netlist.layers), "classes": core.classes,
            "threads": os.cpu_count(), "repeats": repeats, "rows": rows}
    out = Path(out)
    write_json_atomic(out / "sim_speed.json", info)
    _plot(rows, out / "sim_speed.png")
    click.echo(f"{info['gates']} gates (optimised), {info['layers']} layers, {info['classes']} "
               f"classes; {len(vec)} samples ({what}); {repeats} A/B rounds, "
               f"{info['threads']} CPUs (shared)")
    click.echo("| simulator | core | samples/s (wall, median) | samples per CPU-s (median) "
               "| median wall s | setup s |")
    click.echo("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        click.echo(f"| {r['simulator']} | {r['mode']} (latency {r['latency']}) | "
                   f"{r['samples_per_s']:,.0f} | {r['samples_per_cpu_s']:,.0f} | "
                   f"{r['median_s']:.2f} | {r['setup_s']:.2f} |")


if __name__ == "__main__":
    main()
