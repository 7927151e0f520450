"""Build plans: the files and tool steps of a flow, produced deterministically, run separately.

Like Amaranth's ``BuildPlan``, making a plan needs no tools; ``Plan.write`` lays the files out in
a directory (with ``run.sh``, a shell script that reproduces the steps with the same tools) and
``Plan.execute`` runs the steps there, one log per step, with a progress bar. Every path in a plan
is relative, because YoWASP tools cannot see absolute ``/tmp`` paths.
"""

from __future__ import annotations

import hashlib
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lgn_hw.atomic import write_bytes_atomic, write_text_atomic

from .tools import run_tool, spec as tool_spec

__all__ = ["Step", "Plan", "PlanResult"]


@dataclass(frozen=True)
class Step:
    tool: str                 # a tool name known to flows.tools
    args: tuple[str, ...]
    log: str                  # log file name (relative)
    what: str                 # short description for progress and errors


@dataclass
class PlanResult:
    root: Path
    seconds: dict[str, float]  # step log name -> wall seconds
    logs: dict[str, str]       # step log name -> output


@dataclass
class Plan:
    name: str
    files: dict[str, bytes | str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    def add_file(self, path: str, content: bytes | str) -> None:
        p = PurePosixPath(path)
        if p.is_absolute() or ".." in p.parts:
            raise ValueError(f"plan file {path!r} must be a relative path inside the build")
        if path in self.files:
            raise ValueError(f"plan file {path!r} added twice")
        self.files[path] = content

    def add_step(self, tool: str, args, log: str, what: str) -> None:
        for a in args:
            if str(a).startswith("/tmp/"):
                raise ValueError(f"step {what!r}: absolute /tmp path {a!r} is invisible to YoWASP")
        self.steps.append(Step(tool, tuple(str(a) for a in args), log, what))

    def script(self) -> str:
        """A POSIX shell script equivalent to ``execute`` (tools overridable by env vars)."""
        lines = ["#!/bin/sh", f"# lgn-hw flow plan {self.name!r}: run from this directory.",
                 "set -e"]
        for s in self.steps:
            spec = tool_spec(s.tool)
            lines.append(f"# {s.what}")
            if spec.log_flags:
                args = [*spec.log_flags, s.log, *s.args]
                redirect = ""
            else:
                args, redirect = list(s.args), f" > {shlex.quote(s.log)} 2>&1"
            cmd = " ".join(shlex.quote(a) for a in args)
            lines.append(f'"${{{spec.env}:-{spec.default}}}" {cmd}{redirect}')
        return "\n".join(lines) + "\n"

    def digest(self) -> str:
        """A hash identifying the plan's files and steps (equal plans, equal digests)."""
        h = hashlib.blake2b(digest_size=16)
        for name in sorted(self.files):
            content = self.files[name]
            h.update(name.encode())
            h.update(content.encode() if isinstance(content, str) else content)
        h.update(self.script().encode())
        return h.hexdigest()

    def write(self, root: str | os.PathLike) -> Path:
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            data = content.encode() if isinstance(content, str) else content
            write_bytes_atomic(root / name, data)
        write_text_atomic(root / "run.sh", self.script())
        return root

    def execute(self, root: str | os.PathLike, *, progress: bool = False,
                timeout: float | None = None) -> PlanResult:
        root = self.write(root)
        seconds, logs = {}, {}
        steps = self.steps
        bar = None
        if progress and steps:
            from tqdm import tqdm
            bar = tqdm(total=len(steps), desc=self.name, unit="step", leave=False)
        try:
            for s in steps:
                if bar is not None:
                    bar.set_postfix_str(s.what)
                out, secs = run_tool(s.tool, list(s.args), root, log=s.log, what=s.what,
                                     timeout=timeout)
                seconds[s.log], logs[s.log] = secs, out
                if bar is not None:
                    bar.update()
        finally:
            if bar is not None:
                bar.close()
        return PlanResult(root, seconds, logs)
