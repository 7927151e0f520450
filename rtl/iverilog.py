"""Icarus Verilog testbench: simulate the *emitted Verilog* of a core, independently of Amaranth.

Writes the core's Verilog, the vectors as ``$readmemh`` files (inputs, expected counts, expected
class) and a self-checking testbench into a work directory, compiles with ``iverilog -g2012`` and
runs ``vvp``. The testbench compares every sample inside the simulator (``!==``, so X/Z count as
mismatches) and prints the first mismatches and a final tally that Python parses. A pipelined core
is clocked once per sample with ``valid_in`` high and checked ``latency`` cycles later, ``valid_out``
included. Tools come from ``$IVERILOG`` / ``$VVP`` or ``PATH`` (Debian package ``iverilog``).
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from amaranth.back import verilog as _verilog
from tqdm import tqdm

from .vectors import SimResult, Vectors, unpack_counts

__all__ = ["IcarusMissing", "find_icarus", "icarus_testbench", "write_bench", "run_bench",
           "simulate_iverilog"]

_KEEP = 20  # mismatches printed by the testbench
_PROGRESS = 256  # the testbench reports progress every this many samples


class IcarusMissing(RuntimeError):
    """iverilog / vvp not found."""


def find_icarus() -> tuple[str, str]:
    """Paths of ``iverilog`` and ``vvp`` (env ``IVERILOG`` / ``VVP`` override), or IcarusMissing."""
    found = []
    for tool, env in (("iverilog", "IVERILOG"), ("vvp", "VVP")):
        path = shutil.which(os.environ.get(env, tool))
        if path is None:
            raise IcarusMissing(f"{tool} not found (install the Debian package `iverilog`, "
                                f"or set ${env})")
        found.append(path)
    return found[0], found[1]


def icarus_testbench(core, n: int, top: str, input_width: int) -> str:
    """Verilog source of the self-checking testbench for ``n`` samples."""
    cw = core.count_width * core.classes
    xw = len(core.cls)
    port = "features" if core.raw_inputs else "bits"
    lat = core.latency
    pipelined = core.pipeline_every is not None
    conns = [f".{port}(x)", ".counts(counts)", ".cls(cls)"]
    if pipelined:
        conns += [".clk(clk)", ".rst(rst)", ".valid_in(valid_in)", ".valid_out(valid_out)"]
    check = f"""
      if (counts !== exp_counts[j] || cls !== exp_cls[j]{" || valid_out !== 1'b1" if pipelined else ""}) begin
        errors = errors + 1;
        if (errors <= {_KEEP}) $display("MISMATCH %0d %h %h", j, counts, cls);
      end
      if (j % {_PROGRESS} == {_PROGRESS - 1}) $display("PROGRESS %0d", j + 1);"""
    if pipelined:
        body = f"""
    rst = 1; valid_in = 0; x = 0; #1 clk = 1; #1 clk = 0; rst = 0;
    for (t = 0; t < {n + lat}; t = t + 1) begin
      if (t < {n}) begin x = inputs[t]; valid_in = 1; end else valid_in = 0;
      #1;
      j = t - {lat};
      if (j >= 0) begin{check}
      end else if (valid_out !== 1'b0) begin
        errors = errors + 1;
        $display("EARLY %0d", t);
      end
      clk = 1; #1 clk = 0;
    end"""
    else:
        body = f"""
    for (j = 0; j < {n}; j = j + 1) begin
      x = inputs[j];
      #1;{check}
    end"""
    return f"""`timescale 1ns/1ps
module lgn_tb;
  reg [{input_width - 1}:0] inputs [0:{n - 1}];
  reg [{cw - 1}:0] exp_counts [0:{n - 1}];
  reg [{xw - 1}:0] exp_cls [0:{n - 1}];
  reg [{input_width - 1}:0] x;
  reg clk = 0, rst = 0, valid_in = 0;
  wire [{cw - 1}:0] counts;
  wire [{xw - 1}:0] cls;
  wire valid_out;
  integer t, j, errors;
  {top} dut({", ".join(conns)});
  initial begin
    $readmemh("inputs.hex", inputs);
    $readmemh("counts.hex", exp_counts);
    $readmemh("cls.hex", exp_cls);
    errors = 0;{body}
    $display("DONE %0d", errors);
    $finish;
  end
endmodule
"""


def _hex_lines(values, width: int) -> str:
    digits = max(1, -(-width // 4))
    return "".join(format(int(v), f"0{digits}x") + "\n" for v in values)


def _children_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def _run_streaming(cmd, work, n, name, progress, timeout):
    """Run the compiled testbench, following its PROGRESS lines with a tqdm bar."""
    lines = []
    with tqdm(total=n, desc=f"{name} sim", unit="sample", disable=not progress,
              leave=False) as bar, subprocess.Popen(
            cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True) as proc:
        deadline = None if timeout is None else time.monotonic() + timeout
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("PROGRESS "):
                bar.update(int(line.split()[1]) - bar.n)
            if deadline is not None and time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{name} simulation timed out after {timeout} s")
        rc = proc.wait()
    return "".join(lines), rc


def write_bench(work: Path, core, vec: Vectors, top: str, verilog_text) -> None:
    """The design, the self-checking testbench and the ``$readmemh`` vector files, in ``work``."""
    w, classes = core.count_width, core.classes
    if verilog_text is None:
        verilog_text = _verilog.convert(core, name=top)
    (work / f"{top}.v").write_text(verilog_text)
    (work / "lgn_tb.v").write_text(icarus_testbench(core, len(vec), top, vec.input_width))
    (work / "inputs.hex").write_text(_hex_lines(vec.inputs, vec.input_width))
    packed = [sum(int(c) << (k * w) for k, c in enumerate(row)) for row in vec.counts]
    (work / "counts.hex").write_text(_hex_lines(packed, w * classes))
    (work / "cls.hex").write_text(_hex_lines(vec.pred, len(core.cls)))


def run_bench(name: str, build, run_cmd, core, vec: Vectors, *, top, workdir, verilog_text,
              timeout, progress) -> SimResult:
    """Write the bench, ``build(work)`` it, run ``run_cmd`` in ``work`` and parse its report.
    Shared by the Icarus and the Verilator back-ends (same testbench, same report)."""
    n = len(vec)
    if n == 0:
        return SimResult(name, 0, 0.0)
    w, classes = core.count_width, core.classes
    own_dir = workdir is None
    work = Path(tempfile.mkdtemp(prefix=f"lgn_{name}_") if own_dir else workdir)
    work.mkdir(parents=True, exist_ok=True)
    try:
        write_bench(work, core, vec, top, verilog_text)
        build(work)
        start, cpu = time.perf_counter(), _children_cpu()
        stdout, rc = _run_streaming(run_cmd, work, n, name, progress, timeout)
        seconds = time.perf_counter() - start
        cpu_seconds = _children_cpu() - cpu
        done = re.search(r"^DONE (\d+)", stdout, re.M)
        if rc != 0 or done is None:
            raise RuntimeError(f"{name} simulation failed: {stdout.strip()[-2000:]}")
    finally:
        if own_dir:
            shutil.rmtree(work, ignore_errors=True)
    result = SimResult(name, n, seconds, n_mismatch=int(done.group(1)), cpu_seconds=cpu_seconds)
    for m in re.finditer(r"^MISMATCH (\d+) (\S+) (\S+)", stdout, re.M):
        j = int(m.group(1))
        got = m.group(2)
        got_counts = (unpack_counts(int(got, 16), w, classes) if re.fullmatch(r"[0-9a-f]+", got)
                      else [got])
        got_cls = int(m.group(3), 16) if re.fullmatch(r"[0-9a-f]+", m.group(3)) else -1
        result.mismatches.append((j, [int(v) for v in vec.counts[j]], got_counts,
                                  int(vec.pred[j]), got_cls))
    for m in re.finditer(r"^EARLY (\d+)", stdout, re.M):
        result.mismatches.append((int(m.group(1)), [], [], -1, -1))
    return result


def simulate_iverilog(core, vec: Vectors, *, top: str = "lgn_core", workdir=None,
                      verilog_text: str | None = None, timeout: float | None = None,
                      progress: bool = False) -> SimResult:
    """Emit ``core`` (or use ``verilog_text``), simulate ``vec`` in Icarus, return the comparison."""
    iverilog, vvp = find_icarus()

    def build(work):
        comp = subprocess.run([iverilog, "-g2012", "-o", "sim.vvp", "-s", "lgn_tb", "lgn_tb.v",
                               f"{top}.v"], cwd=work, capture_output=True, text=True,
                              timeout=timeout)
        if comp.returncode != 0:
            raise RuntimeError(f"iverilog failed: {(comp.stderr or comp.stdout).strip()[:2000]}")

    return run_bench("iverilog", build, [vvp, "-n", "sim.vvp"], core, vec, top=top,
                     workdir=workdir, verilog_text=verilog_text, timeout=timeout,
                     progress=progress)
