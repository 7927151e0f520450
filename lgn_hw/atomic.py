"""Atomic file writes: write a temporary file next to the target, then ``os.replace`` it.

Every stage writes its outputs through these helpers, so an interrupted run never leaves a
half-written netlist, report or dataset file behind. A process killed mid-write (SIGKILL) can leave
its temporary file (``.<name>.<random>.tmp``); ``stale_temps`` finds them for an owner that knows
no writer of its own is running (it holds its folder's lock) and may remove them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["write_bytes_atomic", "write_text_atomic", "write_json_atomic", "stale_temps",
           "make_folders", "remove_empty"]

_SUFFIX = ".tmp"


def _prefix(name: str) -> str:
    return f".{name}."


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (parent directories are created). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(path.name), suffix=_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600: give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically. Returns the path."""
    return write_bytes_atomic(path, text.encode(encoding))


def write_json_atomic(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> Path:
    """Serialise ``obj`` as JSON (with a trailing newline) and write it atomically."""
    return write_text_atomic(path, json.dumps(obj, indent=indent) + "\n")


def stale_temps(folder: str | os.PathLike, names) -> list[Path]:
    """The temporary files that writes of ``folder/<name>`` (for each of ``names``) left behind."""
    folder = Path(folder)
    found = []
    for name in names:
        found += [p for p in folder.glob(f"{_prefix(name)}*{_SUFFIX}")
                  if p.is_file() and len(p.name) > len(_prefix(name)) + len(_SUFFIX)]
    return sorted(found)


def make_folders(path: str | os.PathLike) -> list[Path]:
    """Create the folder ``path`` and its missing parents (``OSError`` as ``mkdir`` raises it);
    returns the folders this call made, deepest first, for ``remove_empty`` to undo."""
    made, p = [], Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        made.append(p)
        p = p.parent
    Path(path).mkdir(parents=True, exist_ok=True)
    return made


def remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first, as ``make_folders`` returns them) while they are empty:
    a command that fails before writing anything leaves no empty output folders behind."""
    for p in folders:
        try:
            p.rmdir()
        except OSError:  # not empty (something was written), or already gone: keep the rest
            break
