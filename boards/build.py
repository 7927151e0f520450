"""Board builds: a Netlist inside the UART wrapper, to a bitstream and a report.

Boards with an amaranth-boards platform build through Amaranth's own ``Platform.build``: the plan
(``do_build=False``) is extracted into ``<out>/build`` and its script runs with the tools from
``flows.tools`` (YoWASP by default) in the environment, with ``stat -json`` after synthesis and
``--report`` for nextpnr added through Amaranth's overrides. Board-less targets and synthesis-only
boards (Arty A7) run the same wrapper through ``flows`` plans directly. Every build then runs a
hierarchical synthesis for per-stage figures and writes the report, the core's RTL, the whole
design's RTLIL/Verilog, logs and ``config.json`` (the resolved configuration).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from lgn_hw.atomic import write_json_atomic, write_text_atomic

from flows.design import core_design
from flows.pnr import FitError, fit_error, plan_pnr, read_pnr_report
from flows.report import make_report, write_report
from flows.synth import PRE_SYNTH, module_names, plan_synth, read_result, synthesize
from flows.tools import ToolError, last_error, tool_env, tool_versions

__all__ = ["build_board", "BuildError", "find_core_path"]


class BuildError(Exception):
    """A build step failed (one-line message naming the log to read)."""


def find_core_path(names) -> str:
    """The hierarchical name of the LGN core inside a wrapped design."""
    for n in names:
        if n.endswith(".core") and any(m.startswith(n + ".layer") or m == n + ".groupsum"
                                       for m in names):
            return n
    raise BuildError("could not find the core module in the synthesised design")


def _platform_build(board, top, bdir: Path, env: dict):
    platform = board.make_platform()
    plan = platform.build(top, name="top", build_dir=str(bdir), do_build=False,
                          script_after_read="\n".join(PRE_SYNTH),
                          script_after_synth="tee -q -o top.stat.json stat -json\nstat",
                          nextpnr_opts="--report top.pnr.json")
    plan.extract(str(bdir))
    try:
        subprocess.run(["sh", f"{plan.script}.sh"], cwd=bdir, env=env, check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except subprocess.CalledProcessError as e:
        out = e.stdout.decode("utf-8", "replace") if e.stdout else ""
        tim = bdir / "top.tim"
        if tim.exists():
            text = tim.read_text(errors="replace")
            fit = fit_error(text, board.dev)
            if fit is not None:
                raise fit from None
            raise BuildError(f"nextpnr failed: {last_error(text)} [log: {tim}]") from None
        rpt = bdir / "top.rpt"
        text = rpt.read_text(errors="replace") if rpt.exists() else out
        raise BuildError(f"build failed: {last_error(text)} [log: {rpt}]") from None
    return (bdir / "top.il").read_text()


def build_board(netlist, board, out, *, netlist_path=None, baud: int = 115200,
                pipeline_every=None, raw_inputs: bool = False, hierarchy: bool = True,
                progress: bool = False) -> dict:
    from amaranth.back import verilog as amaranth_verilog

    from .protocol import netlist_digest
    from .top import BoardTop, UartTop

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    device = board.dev
    design = core_design(netlist, raw_inputs=raw_inputs, pipeline_every=pipeline_every)
    write_text_atomic(out / "rtl" / f"{design.top}.v", design.verilog)
    write_json_atomic(out / "rtl" / f"{design.top}.json", design.sidecar)
    config = {"command": "build", "board": board.name, "device": device.name,
              "clock_mhz": board.clk_mhz, "baud": baud, "netlist": netlist_path,
              "pipeline_every": pipeline_every, "raw_inputs": raw_inputs,
              "digest": netlist_digest(netlist).hex(), "protocol": "boards/protocol.py"}
    write_json_atomic(out / "config.json", config)
    seconds, pnr, bitstream = {}, None, None
    bdir = out / "build"
    try:
        if board.platform is not None and not board.synth_only:
            env = tool_env(["yosys", f"nextpnr-{device.family}",
                            "icepack" if device.family == "ice40" else "ecppack"])
            top = BoardTop(netlist, baud=baud, pipeline_every=pipeline_every,
                           raw_inputs=raw_inputs)
            t = time.perf_counter()
            il = _platform_build(board, top, bdir, env)
            seconds["platform_build"] = round(time.perf_counter() - t, 3)
            flat = read_result(bdir, device, "top", keep_hierarchy=False, log="top.rpt",
                               stat="top.stat.json")
            pnr = read_pnr_report(bdir / "top.pnr.json")
            bitstream = bdir / ("top.bin" if device.family == "ice40" else "top.bit")
            sources = {"top.il": il}
        else:
            divisor = max(4, int(board.clk_mhz * 1e6) // baud)
            from rtl.core import LGNCore
            core = LGNCore(netlist, raw_inputs=raw_inputs, pipeline_every=pipeline_every)
            wrapper = UartTop(core, divisor, digest=netlist_digest(netlist),
                              timeout_cycles=int(board.clk_mhz * 1e6) // 20)
            sources = {"top.v": amaranth_verilog.convert(wrapper, name="top")}
            plan = plan_synth(sources, "top", device)
            if device.has_pnr:
                plan_pnr(plan, device, freq_mhz=board.clk_mhz)
            res = plan.execute(bdir, progress=progress)
            seconds.update({k: round(v, 3) for k, v in res.seconds.items()})
            flat = read_result(bdir, device, "top", keep_hierarchy=False)
            if device.has_pnr:
                pnr = read_pnr_report(bdir / "top.pnr.json")
                bitstream = bdir / ("top.bin" if device.family == "ice40" else "top.bit")
        hier = None
        if hierarchy:
            core_path = find_core_path(module_names(sources))
            hier = synthesize(sources, "top", device, out / "hier", keep_hierarchy=True,
                              core_path=core_path, write_netlists=False, progress=progress)
            seconds["synth_hierarchical"] = round(hier.seconds, 3)
    except ToolError as e:
        text = str(e)
        if "nextpnr" in text and (bdir / "top.tim").exists():
            fit = fit_error((bdir / "top.tim").read_text(errors="replace"), device)
            if fit is not None:
                raise fit from None
        raise BuildError(text) from None
    seconds["total"] = round(time.perf_counter() - t0, 3)
    tools = ["yosys"] + ([f"nextpnr-{device.family}",
                          "icepack" if device.family == "ice40" else "ecppack"]
                         if device.has_pnr and not board.synth_only else [])
    rep = make_report(design=design.summary(), device=device, flat=flat, hier=hier, pnr=pnr,
                      board=board.name, tools=tool_versions(tools), seconds=seconds,
                      netlist_path=netlist_path,
                      extra={"bitstream": str(bitstream) if bitstream else None,
                             "wrapper": f"UART 8N1 at {baud} baud (boards/protocol.py)"})
    write_report(rep, out)
    return rep


__all__ += ["FitError"]
