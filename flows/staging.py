"""Output folders that are always whole: build into a staging folder, swap it in at the end.

``staged(out)`` (a context manager) checks that ``out`` can be written, creates a fresh hidden
sibling ``.<name>.staging-<pid>-<random>`` holding an ``INCOMPLETE`` marker, and yields it; the
flow writes everything there. On success the marker goes and the folder is swapped in for
``out`` in one ``renameat2(RENAME_EXCHANGE)`` (Linux; elsewhere two renames), and the old result
is deleted. On any failure or interrupt ``out`` is untouched: the staging folder becomes
``<out>.failed`` (marker kept, so every reader refuses it; its logs are there to read). A folder
killed mid-build (SIGKILL) stays a hidden, marked staging folder that the next run for the same
``out`` removes. So ``out`` is always the complete old result or the complete new one.

``out`` may only replace an empty folder, an earlier lgn-hw result (a ``config.json`` with a
``command``) or a folder of ``*.log`` files only: a build never deletes a folder it did not make.
Every result lists the files it wrote (``MANIFEST``); a result holding a file that is not in its
list (notes a user saved there) is refused as well, before the build and again at the swap, so a
rebuild never deletes a user's file. A symlinked ``out`` keeps its link: the build replaces the
folder it points to. ``check_complete`` is what readers call; ``sigterm_as_exit`` turns SIGTERM
into an exception so the same clean-up runs (and ``flows.tools.run_tool`` kills the running tool's
process group) before the process dies of the signal.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
from pathlib import Path

__all__ = ["staged", "OutputError", "check_complete", "check_output", "sigterm_as_exit",
           "MARKER"]

MARKER = "INCOMPLETE"
MANIFEST = ".lgn-hw-files"  # the relative paths of every file the build wrote, one JSON list
_STAGING = ".staging-"
_MANIFEST_LIMIT = 16 << 20


class OutputError(Exception):
    """The output folder cannot be used, or a folder is an incomplete result (one line)."""


def check_complete(folder) -> Path:
    """``folder``, unless it is an unfinished or failed lgn-hw result (``OutputError``)."""
    folder = Path(folder)
    if (folder / MARKER).exists() or _STAGING in folder.name:
        raise OutputError(f"{folder}: an incomplete or failed build (interrupted, or it "
                          f"failed); rebuild it")
    return folder


def _files(folder: Path) -> list[str]:
    """Every file (and link, and special file) below ``folder``, as sorted relative paths."""
    out = []
    for root, dirs, names in os.walk(folder):
        rel = Path(root).relative_to(folder)
        # a linked folder is listed as an entry, not followed
        names = names + [d for d in dirs if os.path.islink(os.path.join(root, d))]
        out += [(rel / n).as_posix() for n in names]
    return sorted(out)


def _foreign(folder: Path) -> str | None:
    """Why ``folder`` may not be replaced (a sentence), or None: it is empty, an earlier lgn-hw
    result, or holds only logs of earlier attempts (what bench/frontier.py leaves after a build
    that did not fit)."""
    if all(p.is_file() and p.suffix == ".log" for p in folder.iterdir()):
        return None
    from lgn_hw.untrusted import FileRefused, read_regular
    not_ours = "a non-empty folder that is not an lgn-hw result"
    try:      # a FIFO or a huge file named config.json is not ours (and must not hang us)
        cfg = json.loads(read_regular(folder / "config.json", 1 << 20, "config"))
    except (FileRefused, ValueError, RecursionError):
        return not_ours
    if not (isinstance(cfg, dict) and isinstance(cfg.get("command"), str)):
        return not_ours
    if not (folder / MANIFEST).exists() and not (folder / MANIFEST).is_symlink():
        return None   # a result written before results listed their files
    try:
        listed = json.loads(read_regular(folder / MANIFEST, _MANIFEST_LIMIT, "file list"))
    except (FileRefused, ValueError, RecursionError):
        return f"an lgn-hw result whose file list {MANIFEST} is unreadable"
    if not (isinstance(listed, list) and all(isinstance(x, str) for x in listed)):
        return f"an lgn-hw result whose file list {MANIFEST} is not a list of paths"
    extra = [f for f in _files(folder) if f not in set(listed) | {MANIFEST}]
    if extra:
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        return f"an lgn-hw result that also holds {extra[0]}{more}, which no build wrote"
    return None


def check_output(out) -> Path:
    """``out`` as a Path if a result can be written there, else ``OutputError`` (one line)."""
    out = Path(out)
    _check_target(out)
    return out


def _check_target(out: Path) -> None:
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        raise OutputError(f"--out {out}: the current folder or one above it; a result replaces "
                          f"its whole folder, so choose a folder below this one (nothing was "
                          f"written)")
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder")
    why = (_foreign(out) if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists()
           else None)
    if why:
        raise OutputError(f"--out {out}: {why}; move that away, or choose an empty or new "
                          f"folder (nothing was written)")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"--out {out}: cannot create {parent} ({e.strerror or e})") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out}: {parent} is not writable (nothing was written)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(out: Path) -> None:
    """Staging folders of runs for ``out`` whose process is gone (killed with SIGKILL)."""
    prefix = f".{out.name}{_STAGING}"
    for p in out.parent.glob(prefix + "*"):
        try:
            pid = int(p.name[len(prefix):].split("-")[0])
        except ValueError:
            continue
        if not _alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    rc = fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    return rc == 0


def _swap_in(stage: Path, out: Path) -> None:
    (stage / MARKER).unlink()
    from lgn_hw.atomic import write_json_atomic
    write_json_atomic(stage / MANIFEST, [f for f in _files(stage) if f != MANIFEST], indent=None)
    why = _foreign(out) if out.is_dir() and any(out.iterdir()) else None
    if why:   # a file was saved into the old result while this one was built
        new = out.parent / f"{out.name}.new"
        if new.exists() or new.is_symlink():     # never replace anything already there
            new = out.parent / f"{out.name}.new-{os.getpid()}-{secrets.token_hex(3)}"
        os.rename(stage, new)
        raise OutputError(f"--out {out}: during the build it became {why}; it is untouched, and "
                          f"the new result is in {new}")
    if not out.exists():
        os.rename(stage, out)
        return
    if _exchange(stage, out):
        shutil.rmtree(stage, ignore_errors=True)     # stage now holds the old result
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}-{secrets.token_hex(3)}"
    os.rename(out, old)
    os.rename(stage, out)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged(out):
    """Yield a fresh staging folder for ``out``; swap it in when the block completes."""
    out = Path(out)
    _check_target(out)
    if out.is_symlink():     # the folder it points to is replaced; the link stays
        out = Path(os.path.realpath(out))
        _check_target(out)
    out = Path(os.path.abspath(out))    # its name and parent, also for a relative spelling
    _remove_stale(out)
    stage = out.parent / f".{out.name}{_STAGING}{os.getpid()}-{secrets.token_hex(3)}"
    try:
        stage.mkdir()
        (stage / MARKER).write_text(f"lgn-hw output in progress (pid {os.getpid()})\n")
    except OSError as e:
        shutil.rmtree(stage, ignore_errors=True)
        raise OutputError(f"--out {out}: cannot write next to it ({e.strerror or e})") from None
    try:
        yield stage
    except BaseException as e:
        failed = out.parent / f"{out.name}.failed"
        try:
            shutil.rmtree(failed, ignore_errors=True)
            os.rename(stage, failed)
        except OSError:
            shutil.rmtree(stage, ignore_errors=True)
        else:   # messages name the logs where they now are
            if e.args and isinstance(e.args[0], str) and str(stage) in e.args[0]:
                e.args = (e.args[0].replace(str(stage), str(failed)), *e.args[1:])
        raise
    _swap_in(stage, out)


class Terminated(BaseException):
    """SIGTERM arrived (raised by ``sigterm_as_exit``'s handler)."""


@contextlib.contextmanager
def sigterm_as_exit():
    """While active, SIGTERM raises ``Terminated``, so staging and tool clean-up run as for
    Ctrl-C; then the process dies of SIGTERM after all (its parent sees -15, as without us)."""
    def handler(signum, frame):
        raise Terminated()
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:          # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    except Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise SystemExit(128 + signal.SIGTERM) from None   # if SIGTERM is blocked
    finally:
        signal.signal(signal.SIGTERM, previous)
