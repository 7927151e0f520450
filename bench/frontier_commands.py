"""The commands a frontier point runs, and the runner that runs them.

Every stage of a frontier point is one of the project's own commands, run as a subprocess from the
repository root (``python -m train``, ``lgn-hw sim``, ``lgn-hw synth``, ``lgn-hw build``), so that
the command recorded in the results is exactly the one that ran and can be pasted into a shell.
This module owns:

- turning a point's training overrides into a ``python -m train`` argument list
  (``train_argv``), by the option names of the train command itself, and proving the list
  faithful: parsed back by that command and resolved, it must give the configuration the point
  asks for (``check_train_argv``);
- checking a point's pass-through options for ``lgn-hw synth`` / ``lgn-hw build`` against those
  commands' own option parsers before anything is trained (``check_cli_args``);
- ``run_command``: one subprocess with its output kept in a log (and shown live on request), a
  time limit that stops the command's whole process group, and Ctrl-C handed on cleanly.
"""
from __future__ import annotations

import codecs
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: ``python -m train`` options that are not training settings (where and how it runs)
_RUN_OPTIONS = ("out", "resume", "threads", "quiet", "download")
#: Configuration keys that say where or how a run ran, not what it is (ignored by reuse checks):
#: a preset is a name for values compared here; a fine-tuning stage's start is checked by digest
RUN_KEYS = ("device", "data_root", "init_from", "preset")


class FrontierError(Exception):
    """A point cannot be built (bad option, training or tool failure); one-line message."""


def path_arg(path) -> str:
    """``path`` as a command argument: relative to the repository root (the commands' working
    directory) when it lies inside it, else absolute."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(REPO))
    except ValueError:
        return str(p)


def shown(argv: list) -> str:
    """The shell line of ``argv`` (run from the repository root) as it is recorded."""
    head = ["python", "-m", "train"] if argv[:2] == ["-m", "train"] else ["lgn-hw"]
    return shlex.join(head + list(argv[2:]))  # "-m lgn_hw.cli" is the lgn-hw command


def _train_cli():
    from train.__main__ import main

    return main


def train_argv(preset: str, settings: dict, out, *, threads=None, quiet=False) -> list:
    """``-m train --preset P --opt value ... --out OUT``: every key of ``settings`` spelled as the
    train command's option for it (``mapping_gradient`` -> ``--mapping-grad``, lists joined)."""
    params = {p.name: p for p in _train_cli().params}
    argv = ["-m", "train", "--preset", preset]
    for key, value in settings.items():
        p = params.get(key)
        if p is None or key in _RUN_OPTIONS or key == "preset":
            raise FrontierError(f"unknown training option {key!r} (options are "
                                f"python -m train's: {', '.join(sorted(set(params) - set(_RUN_OPTIONS)))})")
        opt = max(p.opts, key=len)
        if getattr(p, "is_flag", False):
            if value:
                argv.append(opt)
            continue
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(map(str, value))
        argv += [opt, str(value)]
    argv += ["--out", path_arg(out)]
    if threads is not None:
        argv += ["--threads", str(threads)]
    if quiet:
        argv.append("--quiet")
    return argv


def config_of_argv(argv: list):
    """The TrainConfig that ``python -m train`` resolves from ``argv`` (parsed by its own
    options, not run)."""
    import click

    from train.config import ConfigError, resolve

    try:
        ctx = _train_cli().make_context("train", list(argv[2:]))
    except click.ClickException as exc:
        raise FrontierError(f"python -m train refuses the command: {exc.format_message()}") from None
    params = dict(ctx.params)
    for k in _RUN_OPTIONS:
        params.pop(k, None)
    try:
        return resolve(params.pop("preset"), layers=params.pop("layers"), **params)
    except ConfigError as exc:
        raise FrontierError(str(exc)) from None


def check_train_argv(argv: list, cfg) -> None:
    """The command must configure exactly ``cfg``: a copy-pasted command then trains the same."""
    got, want = config_of_argv(argv).to_dict(), cfg.to_dict()
    diff = sorted(k for k in want if got.get(k) != want[k])
    if diff:
        raise FrontierError(f"the train command {shown(argv)!r} would configure "
                            f"{', '.join(f'{k}={got.get(k)!r}' for k in diff)} instead of "
                            f"{', '.join(f'{k}={want[k]!r}' for k in diff)}")


def check_cli_args(command: str, args: list, forbidden: tuple) -> None:
    """Parse ``lgn-hw COMMAND <netlist> ARGS`` with the command's own options (nothing runs):
    a misspelt or invalid pass-through option fails now, not after hours of training."""
    import click

    from lgn_hw.cli import load_command

    bad = [a for a in args if a.split("=")[0] in forbidden]
    if bad:
        raise FrontierError(f"lgn-hw {command} option {bad[0]} is set by the frontier itself "
                            f"(not allowed in a point's options)")
    cmd = load_command(command)
    lead = ["x.json"] if command == "synth" else ["--netlist", "x.json"]
    try:
        cmd.make_context(command, [*lead, *args])
    except click.ClickException as exc:
        raise FrontierError(f"lgn-hw {command} {shlex.join(args)}: "
                            f"{exc.format_message()}") from None


def lgn_hw_argv(command: str, *args) -> list:
    return ["-m", "lgn_hw.cli", command, *map(str, args)]


@dataclass
class Ran:
    returncode: int | None
    seconds: float
    timed_out: bool
    log: Path
    tail: str

    def last_line(self) -> str:
        lines = [ln.strip() for ln in self.tail.replace("\r", "\n").splitlines() if ln.strip()]
        return lines[-1] if lines else "no output"


def _stop(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass


def run_command(argv: list, log: Path, *, live: bool = False, timeout: float | None = None) -> Ran:
    """Run ``python ARGV`` from the repository root; its output (stdout and stderr) goes to
    ``log`` and, with ``live``, to our stderr as it comes (progress bars included).

    With ``timeout`` the command runs in its own process group, stopped (SIGTERM to the group)
    when the time is up. On Ctrl-C a command in our process group has received it too and is
    waited for (training saves a checkpoint); one in its own group is stopped."""
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tail = bytearray()
    timed_out = threading.Event()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with open(log, "wb") as fh:
        fh.write(f"$ {shown(argv)}\n".encode())
        fh.flush()
        proc = subprocess.Popen([sys.executable, *argv], cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=timeout is not None)
        timer = None
        if timeout is not None:
            def expire():
                timed_out.set()
                _stop(proc)
            timer = threading.Timer(timeout, expire)
            timer.daemon = True
            timer.start()
        try:
            while chunk := proc.stdout.read1(65536):
                fh.write(chunk)
                tail += chunk
                del tail[:-8192]
                if live:
                    sys.stderr.write(decoder.decode(chunk))
                    sys.stderr.flush()
            proc.wait()
        except BaseException:
            if timeout is not None:
                _stop(proc)
            proc.wait()
            raise
        finally:
            if timer is not None:
                timer.cancel()
            proc.stdout.close()
        if timed_out.is_set():
            fh.write(f"\n[frontier] stopped after {timeout:.0f} s\n".encode())
    return Ran(proc.returncode, round(time.perf_counter() - t0, 1), timed_out.is_set(), log,
               tail.decode(errors="replace"))
