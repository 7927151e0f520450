"""Board builds: a Netlist inside the UART wrapper, to a bitstream and a report.

Everything is checked before anything is written: the board, the clock (``--clock``, default the
board's oscillator), the UART divisor the baud rate gives, the core, and that every tool the
family needs is installed. Boards with an amaranth-boards platform take the design's RTLIL and
pin constraints from Amaranth's own build plan (``Platform.prepare``); board-less targets
convert the wrapper to Verilog. Then one ``flows`` plan runs the family's synthesis, place &
route and packing (``flows/families``; the same steps for every board of a family, so no build
calls a wrong packer), a hierarchical synthesis gives per-stage figures, and the report, the
core's RTL, logs and ``config.json`` are written into a staging folder that replaces ``out`` only
when everything is there (``flows.staging``); the report binds the netlist's fingerprint and the
SHA-256 of the bitstream and RTL. A design that misses the clock fails with advice (after its
complete report is in place) unless ``allow_timing_fail``.
"""

from __future__ import annotations

import time
from pathlib import Path

from lgn_hw.atomic import write_json_atomic, write_text_atomic

from flows.design import core_design, file_sha256, fingerprint
from flows.pnr import FitError, fit_error, plan_pnr, read_pnr_report, strip_clock_constraints
from flows.report import make_report, write_report
from flows.staging import check_output, staged
from flows.synth import module_names, plan_synth, read_result, synthesize
from flows.tools import ToolError, tool_env, tool_versions

__all__ = ["build_board", "BuildError", "TimingError", "find_core_path", "build_clock",
           "uart_divisor", "FitError"]


class BuildError(Exception):
    """A build step failed, or its options are unusable (one-line message)."""


class TimingError(BuildError):
    """The placed and routed design misses the clock (the report is written and says so)."""


def find_core_path(names) -> str:
    """The hierarchical name of the LGN core inside a wrapped design."""
    for n in names:
        if n.endswith(".core") and any(m.startswith(n + ".layer") or m == n + ".groupsum"
                                       for m in names):
            return n
    raise BuildError("could not find the core module in the synthesised design")


def build_clock(board, clock_mhz: float | None) -> float:
    """The P&R clock target in MHz. A board runs at its oscillator (lgn-hw inserts no PLL), so
    ``--clock`` may only raise the target above it (a headroom check); a board-less target runs
    at the clock it is given."""
    if clock_mhz is None:
        return float(board.clk_mhz)
    clock = float(clock_mhz)
    if not 0 < clock <= 1000:
        raise BuildError(f"--clock {clock_mhz:g}: expected a frequency in MHz, 0 < MHZ <= 1000")
    if board.platform is not None and clock < board.clk_mhz:
        raise BuildError(f"--clock {clock:g} MHz is below {board.name}'s {board.clk_mhz:g} MHz "
                         f"oscillator, which the design runs at (lgn-hw inserts no PLL): give "
                         f"--clock >= {board.clk_mhz:g} or leave it out")
    return clock


def uart_divisor(board, clock_mhz: float, baud: int) -> int:
    """Clock cycles per UART bit; a baud rate the clock cannot make is a one-line error."""
    run_mhz = board.clk_mhz if board.platform is not None else clock_mhz
    divisor = int(run_mhz * 1e6) // int(baud)
    if divisor < 4:
        raise BuildError(f"--baud {baud}: too fast for the {run_mhz:g} MHz clock (the UART "
                         f"needs >= 4 clock cycles per bit: at most "
                         f"{int(run_mhz * 1e6) // 4} baud)")
    return divisor


def _tools(device) -> list[str]:
    fam = device.fam
    names = ["yosys"]
    if device.has_pnr:
        names += [s.tool for s in fam.pnr.steps(device, "x", "top", 1.0, 1, None)]
    return names


def _sources(netlist, board, baud, divisor, pipeline_every, raw_inputs, clock_mhz):
    """``(sources, constraints file name or None, its text)`` of the whole design."""
    from amaranth.back import verilog as amaranth_verilog

    from flows.design import core_defaults
    from rtl.core import LGNCore

    from .protocol import netlist_digest
    from .top import BoardTop, UartTop

    device = board.dev
    structure = core_defaults(device.family)  # the family's popcount and argmax
    if board.platform is not None and not board.synth_only:
        platform = board.make_platform()
        top = BoardTop(netlist, baud=baud, pipeline_every=pipeline_every, raw_inputs=raw_inputs,
                       core_options=structure)
        plan = platform.prepare(top, name="top")
        suffix = device.fam.pnr.constraints
        files = plan.files
        cname = f"top{suffix}"
        if cname not in files:
            raise BuildError(f"{board.name}: Amaranth's plan has no {cname}")
        text = files[cname]
        text = text.decode() if isinstance(text, bytes) else text
        return {"top.il": files["top.il"]}, cname, strip_clock_constraints(device, text)
    core = LGNCore(netlist, raw_inputs=raw_inputs, pipeline_every=pipeline_every, **structure)
    wrapper = UartTop(core, divisor, digest=netlist_digest(netlist),
                      timeout_cycles=int(clock_mhz * 1e6) // 20)
    return {"top.v": amaranth_verilog.convert(wrapper, name="top")}, None, None


def _timing_advice(rep: dict) -> str:
    tm = rep["timing"]
    return (f"timing not met: Fmax {tm['fmax_mhz']:.2f} MHz < {tm['constraint_mhz']:g} MHz "
            f"clock (FAIL at {tm['constraint_mhz']:g} MHz). Try pipeline registers (--pipeline-every head: one register stage on the "
            f"class counts; then --pipeline-every 3, 2), a smaller model (fewer or narrower "
            f"layers), or --allow-timing-fail to keep the build anyway")


def _run(plan, stage, out, design, device, board, sources, config, with_pnr, hierarchy,
         progress, baud, clock, netlist_path, fp, t0) -> dict:
    """Run the plan in ``stage`` and write the report there; paths in it name ``out``."""
    write_text_atomic(stage / "rtl" / f"{design.top}.v", design.verilog)
    write_json_atomic(stage / "rtl" / f"{design.top}.json", design.sidecar)
    write_json_atomic(stage / "config.json", config)
    seconds, pnr, bitstream = {}, None, None
    bdir = stage / "build"
    try:
        res = plan.execute(bdir, progress=progress)
        seconds.update({k: round(v, 3) for k, v in res.seconds.items()})
        flat = read_result(bdir, device, "top", keep_hierarchy=False)
        if with_pnr:
            pnr = read_pnr_report(bdir / "top.pnr.json")
            bitstream = Path("build") / device.fam.bitstream("top")
        hier = None
        if hierarchy:
            core_path = find_core_path(module_names(sources))
            hier = synthesize(sources, "top", device, stage / "hier", keep_hierarchy=True,
                              core_path=core_path, write_netlists=False, progress=progress)
            seconds["synth_hierarchical"] = round(hier.seconds, 3)
    except ToolError as e:
        tim = bdir / "top.tim"
        if with_pnr and tim.exists():
            fit = fit_error(tim.read_text(errors="replace"), device)
            if fit is not None:
                raise fit from None
        raise BuildError(str(e)) from None
    seconds["total"] = round(time.perf_counter() - t0, 3)
    bound = {f"rtl/{design.top}.v": file_sha256(stage / "rtl" / f"{design.top}.v")}
    if bitstream is not None:
        bound[str(bitstream)] = file_sha256(stage / bitstream)
    rep = make_report(design=design.summary(), device=device, flat=flat, hier=hier, pnr=pnr,
                      board=board.name, tools=tool_versions(_tools(device) if with_pnr
                                                            else ["yosys"]),
                      seconds=seconds, netlist_path=netlist_path,
                      clock_mhz=clock if with_pnr else None, fingerprint=fp, files=bound,
                      extra={"bitstream": str(out / bitstream) if bitstream else None,
                             "wrapper": f"UART 8N1 at {baud} baud (boards/protocol.py)"})
    write_report(rep, stage)
    return rep


def build_board(netlist, board, out, *, netlist_path=None, baud: int = 115200,
                pipeline_every=None, raw_inputs: bool = False, hierarchy: bool = True,
                progress: bool = False, clock_mhz: float | None = None,
                allow_timing_fail: bool = False) -> dict:
    from .protocol import netlist_digest

    t0 = time.perf_counter()
    device = board.dev
    # -- everything that can be checked is checked before a file is written
    check_output(out)
    clock = build_clock(board, clock_mhz)
    divisor = uart_divisor(board, clock, baud)
    design = core_design(netlist, raw_inputs=raw_inputs, pipeline_every=pipeline_every,
                         family=device.family)
    with_pnr = device.has_pnr and not board.synth_only
    tool_env(_tools(device) if with_pnr else ["yosys"])      # a missing tool: ToolError
    try:
        sources, cname, ctext = _sources(netlist, board, baud, divisor, pipeline_every,
                                         raw_inputs, clock)
    except ValueError as e:
        raise BuildError(str(e)) from None
    plan = plan_synth(sources, "top", device)
    if cname:
        plan.add_file(cname, ctext)
    if with_pnr:
        plan_pnr(plan, device, freq_mhz=clock, constraints=cname)

    out = Path(out)
    fp = fingerprint(netlist)
    config = {"command": "build", "board": board.name, "device": device.name,
              "family": device.family, "clock_mhz": clock, "oscillator_mhz": board.clk_mhz,
              "baud": baud, "uart_divisor": divisor, "netlist": netlist_path,
              "netlist_fingerprint": fp, "pipeline_every": pipeline_every,
              "raw_inputs": raw_inputs, "digest": netlist_digest(netlist).hex(),
              "protocol": "boards/protocol.py"}
    with staged(out) as stage:       # out stays the old result until everything is written
        rep = _run(plan, stage, out, design, device, board, sources, config, with_pnr,
                   hierarchy, progress, baud, clock, netlist_path, fp, t0)
    if with_pnr and not rep["timing"]["meets_constraint"] and not allow_timing_fail:
        raise TimingError(_timing_advice(rep) + f" [report: {out / 'report.md'}]")
    return rep
