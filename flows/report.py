"""Build reports: one JSON document, a Markdown rendering and a PNG chart (docs/flows.md).

``make_report`` combines the flat synthesis (the true totals), the hierarchical synthesis (per
stage: encoder, each logic layer, groupsum/popcounts, argmax, I/O wrapper), nextpnr's report
(utilisation, Fmax, critical path) and the core's sidecar (surviving gates per layer, latency) into
one dictionary; ``write_report`` writes ``report.json``, ``report.md`` and ``report.png``
atomically. Throughput is samples per second: Fmax for a pipelined core (one sample per clock),
and for a combinational core 1 / its register-to-register critical path, which is again the
clock's Fmax when the core sits between the wrapper's registers.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from lgn_hw.atomic import write_bytes_atomic, write_json_atomic, write_text_atomic

from .stat import RESOURCES

__all__ = ["make_report", "write_report", "render_markdown", "render_png", "load_report",
           "ReportError", "check_binding"]

FORMAT = "lgn-hw-report"
#: The largest report.json read (a real one is a few kB; the per-layer rows of a 2^21-gate
#: netlist stay far below this).
MAX_REPORT_BYTES = 64 << 20


class ReportError(ValueError):
    """A report file is missing or not a report (one-line message)."""


def _layer_rows(design: dict, stages: dict) -> list:
    rows = []
    widths = design.get("layer_widths") or []
    fan_ins = design.get("layer_fan_ins") or []
    for i, gates in enumerate(widths):
        luts = stages.get(f"layer{i}", {}).get("lut") if stages else None
        rows.append({"layer": i, "fan_in": fan_ins[i] if i < len(fan_ins) else None,
                     "gates": int(gates), "luts": luts,
                     "luts_per_gate": round(luts / gates, 3) if luts is not None and gates else None})
    return rows


def _utilisation(resources: dict, capacity: dict) -> dict:
    out = {}
    for r, avail in capacity.items():
        used = resources.get(r, 0)
        out[r] = {"used": used, "available": avail,
                  "percent": round(100.0 * used / avail, 2) if avail else None}
    return out


def _timing(pnr, latency: int, pipelined: bool, clock_mhz: float | None = None) -> dict:
    if pnr is None or not pnr.fmax_mhz:
        return {"fmax_mhz": None, "latency_cycles": latency, "throughput_samples_per_s": None,
                "critical_path_ns": None, "constraint_mhz": clock_mhz, "meets_constraint": None,
                "basis": "synthesis only: no timing" if pnr is None else
                         "placed and routed, but nextpnr reported no clock"}
    clock, fmax = min(pnr.fmax_mhz.items(), key=lambda kv: kv[1])
    target = clock_mhz if clock_mhz is not None else pnr.constraint_mhz.get(clock, 0)
    same = [p for p in pnr.critical_paths if p["from"] and p["to"] and
            p["from"].startswith("posedge") and p["to"].startswith("posedge")]
    crit = max((p["delay_ns"] for p in same), default=None)
    return {"clock": clock, "fmax_mhz": fmax, "constraint_mhz": target,
            "meets_constraint": fmax >= target,
            "latency_cycles": latency, "critical_path_ns": crit,
            "throughput_samples_per_s": round(fmax * 1e6),
            "basis": ("pipelined: one sample per clock at Fmax" if pipelined else
                      "combinational core between registers: 1 / register-to-register "
                      "critical path = Fmax")}


def make_report(*, design: dict, device, flat, hier=None, pnr=None, board: str | None = None,
                tools: dict | None = None, seconds: dict | None = None,
                netlist_path: str | None = None, extra: dict | None = None,
                clock_mhz: float | None = None, fingerprint: str | None = None,
                files: dict | None = None) -> dict:
    """The report dictionary (see docs/flows.md for every field); ``clock_mhz`` is the clock
    P&R was constrained to (``timing.meets_constraint`` compares Fmax with it)."""
    stages = hier.stages if hier is not None else {}
    rep = {
        "format": FORMAT, "version": 1,
        "netlist": netlist_path,
        "netlist_fingerprint": fingerprint,   # flows.design.fingerprint of its netlist
        "files": files or {},                 # path relative to the folder -> SHA-256
        "design": design,
        "target": {"board": board, "device": device.name, "family": device.family,
                   "lut_k": device.lut_k, "capacity": device.capacity,
                   "description": device.description},
        "resources": flat.resources,
        "cells": dict(sorted(flat.cells.items())),
        "stages": stages,
        "hierarchical_total": hier.resources if hier is not None else None,
        "layers": _layer_rows(design, stages),
        "utilisation": _utilisation(flat.resources, device.capacity),
        "pnr": pnr.to_dict() if pnr is not None else None,
        "timing": _timing(pnr, int(design.get("latency") or 0),
                          design.get("pipeline_every") is not None, clock_mhz),
        "tools": tools or {},
        "seconds": seconds or {},
    }
    if extra:
        rep.update(extra)
    return rep


def _fmt(v):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _code(text) -> str:
    """``text`` as one Markdown code span, whatever it holds (backticks, newlines, pipes)."""
    text = str(text).encode("unicode_escape").decode("ascii")   # newlines etc. as \n
    ticks = 1
    while "`" * ticks in text:
        ticks += 1
    fence = "`" * ticks
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_markdown(rep: dict) -> str:
    t, d, tm = rep["target"], rep["design"], rep["timing"]
    out = [f"# lgn-hw build report: {t['board'] or t['device']}", ""]
    out.append(f"Device **{t['device']}** ({t['description']}); netlist "
               f"{_code(rep.get('netlist'))}; "
               f"{_fmt(d.get('gates_after'))} gates after optimisation "
               f"(of {_fmt(d.get('gates_before'))}), {d.get('classes')} classes, "
               f"{d.get('n_inputs')} input bits.")
    out += ["", "## Resources (flat synthesis: the real totals)", "",
            "| resource | used | available | utilisation |", "| --- | ---: | ---: | ---: |"]
    for r in RESOURCES:
        u = rep["utilisation"].get(r)
        used = rep["resources"].get(r, 0)
        if u is None and not used:
            continue
        out.append(f"| {r} | {_fmt(used)} | {_fmt(u and u['available'])} | "
                   f"{_fmt(u and u['percent'])}{'%' if u and u['percent'] is not None else ''} |")
    if rep["stages"]:
        cols = [r for r in RESOURCES if any(s.get(r) for s in rep["stages"].values())] or ["lut"]
        out += ["", "## Per stage (hierarchical synthesis, no cross-stage optimisation)", "",
                "| stage | " + " | ".join(cols) + " |", "| --- |" + " ---: |" * len(cols)]
        for name, s in rep["stages"].items():
            out.append(f"| {name} | " + " | ".join(_fmt(s.get(c, 0)) for c in cols) + " |")
        ht = rep["hierarchical_total"]
        out.append("| **total (hierarchical)** | " + " | ".join(_fmt(ht.get(c, 0)) for c in cols)
                   + " |")
        out.append("| **total (flat)** | " + " | ".join(_fmt(rep["resources"].get(c, 0))
                                                      for c in cols) + " |")
    if rep["layers"]:
        out += ["", "## Gates in, LUTs out (per logic layer)", "",
                "| layer | fan-in | surviving gates | LUTs | LUTs per gate |",
                "| ---: | ---: | ---: | ---: | ---: |"]
        for row in rep["layers"]:
            out.append(f"| {row['layer']} | {_fmt(row['fan_in'])} | {_fmt(row['gates'])} | "
                       f"{_fmt(row['luts'])} | {_fmt(row['luts_per_gate'])} |")
    out += ["", "## Timing", ""]
    if tm.get("fmax_mhz") is None:
        out.append(f"{tm['basis']}; latency {tm['latency_cycles']} cycles.")
    else:
        out += [f"- Fmax ({tm['clock']}): **{tm['fmax_mhz']:.2f} MHz** "
                f"(constraint {_fmt(tm.get('constraint_mhz'))} MHz, "
                f"{'met' if tm.get('meets_constraint') else 'NOT met'})",
                f"- critical path: {_fmt(tm.get('critical_path_ns'))} ns",
                f"- latency: {tm['latency_cycles']} cycles",
                f"- throughput: {_fmt(tm['throughput_samples_per_s'])} samples/s ({tm['basis']})"]
    if rep.get("pnr"):
        util = rep["pnr"]["utilisation"]
        used = {k: v for k, v in util.items() if v["used"]}
        out += ["", "## Place & route utilisation (nextpnr)", "", "| cell | used | available |",
                "| --- | ---: | ---: |"]
        out += [f"| {k} | {_fmt(v['used'])} | {_fmt(v['available'])} |" for k, v in used.items()]
    if rep["tools"]:
        out += ["", "## Tools", ""] + [f"- {k}: {v}" for k, v in rep["tools"].items()]
    if rep["seconds"]:
        out += ["", "## Wall time", ""] + [f"- {k}: {v:.2f} s" for k, v in rep["seconds"].items()]
    return "\n".join(out) + "\n"


def render_png(rep: dict) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    stages = rep["stages"] or {"design (flat)": rep["resources"]}
    cols = [r for r in ("lut", "carry", "ff", "bram", "mux") if any(s.get(r) for s in
                                                                      stages.values())] or ["lut"]
    names = list(stages)
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(names) + 3), 4.2), dpi=110)
    width = 0.8 / len(cols)
    for k, c in enumerate(cols):
        xs = [i + (k - (len(cols) - 1) / 2) * width for i in range(len(names))]
        vals = [stages[n].get(c, 0) for n in names]
        bars = ax.bar(xs, vals, width, label=c)
        ax.bar_label(bars, fontsize=7)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("cells")
    t = rep["target"]
    tm = rep["timing"]
    title = f"{t['board'] or t['device']}: {rep['resources'].get('lut', 0):,} LUTs (flat)"
    if tm.get("fmax_mhz"):
        title += f", Fmax {tm['fmax_mhz']:.1f} MHz"
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def write_report(rep: dict, out_dir) -> dict:
    out = Path(out_dir)
    paths = {"json": out / "report.json", "md": out / "report.md", "png": out / "report.png"}
    write_json_atomic(paths["json"], rep)
    write_text_atomic(paths["md"], render_markdown(rep))
    write_bytes_atomic(paths["png"], render_png(rep))
    return paths


#: top-level fields a report must have, with their types (what render_* read)
_FIELDS = {"target": dict, "design": dict, "resources": dict, "utilisation": dict,
           "stages": dict, "layers": list, "timing": dict, "tools": dict, "seconds": dict}


def load_report(path) -> dict:
    """A finished report (a folder or its report.json); a missing, malformed, foreign or
    unfinished one is a one-line ``ReportError``."""
    from .staging import OutputError, check_complete
    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    try:
        check_complete(p.parent)
    except OutputError as e:
        raise ReportError(str(e)) from None
    from lgn_hw.untrusted import FileRefused, read_regular
    if not os.path.lexists(p):
        raise ReportError(f"{p}: no report here (run `lgn-hw build` or `lgn-hw synth` first)")
    try:      # a regular file of bounded size: a FIFO or /dev/zero is refused without reading
        rep = json.loads(read_regular(p, MAX_REPORT_BYTES, "report").decode("utf-8"))
    except FileRefused as e:
        raise ReportError(str(e)) from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ReportError(f"{p}: not valid JSON ({str(e).splitlines()[0][:120]})") from None
    if not isinstance(rep, dict) or rep.get("format") != FORMAT:
        raise ReportError(f"{p}: not an lgn-hw report")
    for name, kind in _FIELDS.items():
        if not isinstance(rep.get(name), kind):
            raise ReportError(f"{p}: malformed report: {name!r} missing or not a "
                              f"{kind.__name__}")
    try:
        render_markdown(rep)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise ReportError(f"{p}: malformed report ({type(e).__name__}: "
                          f"{str(e)[:120]})") from None
    return rep


def check_binding(folder, netlist) -> list[str]:
    """Check that the finished result in ``folder`` was made from ``netlist`` and that its
    bound files (bitstream, RTL) are the ones the report describes; returns what was checked,
    raises ``ReportError`` naming the first stale or altered piece."""
    from .design import file_sha256, fingerprint
    folder = Path(folder)
    rep = load_report(folder)
    want = fingerprint(netlist)
    have = rep.get("netlist_fingerprint")
    if have is None:
        raise ReportError(f"{folder}: the report records no netlist fingerprint (made by an "
                          f"older lgn-hw); rebuild it")
    if have != want:
        raise ReportError(f"{folder}: stale: built from another netlist (fingerprint "
                          f"{str(have)[:12]}..., this netlist's is {want[:12]}...); rebuild it")
    done = [f"report made from this netlist (fingerprint {want[:12]}...)"]
    files = rep.get("files")
    if not isinstance(files, dict) or not files:
        raise ReportError(f"{folder}: the report binds no files; rebuild it")
    for rel, digest in files.items():
        path = folder / str(rel)
        if ".." in Path(str(rel)).parts or Path(str(rel)).is_absolute() or not path.is_file():
            raise ReportError(f"{folder}: {rel} is missing; rebuild it")
        if file_sha256(path) != digest:
            raise ReportError(f"{folder}: {rel} differs from the one the report was made "
                              f"with; rebuild it")
        done.append(f"{rel} matches the report (SHA-256 {str(digest)[:12]}...)")
    return done
