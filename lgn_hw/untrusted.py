"""Reading files a user hands us, without hanging, exhausting memory or running code.

``read_regular(path, max_bytes, what)`` returns the bytes of a regular file of at most
``max_bytes``: a FIFO, a device (``/dev/zero``), a directory or a socket is refused before anything
is read (the file is opened non-blocking, so a FIFO without a writer cannot hang the open), and so is
a file larger than the limit. ``parse_json(data, where)`` decodes UTF-8 JSON, refusing integers of
more than :data:`MAX_NUMBER_DIGITS` digits (Python would otherwise spend quadratic time on them, or
refuse them with a traceback past 4,300 digits) and nesting too deep for the parser. Every refusal is
a :class:`FileRefused` with one line naming the file; callers re-raise it as their own error type.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

__all__ = ["FileRefused", "MAX_NUMBER_DIGITS", "check_regular", "open_regular", "read_regular",
           "parse_json", "json_depth"]

# The longest integer literal a JSON file we read may hold. A signed 64-bit value has 19 digits;
# anything longer is refused by the reader's own range checks, which then name the field.
MAX_NUMBER_DIGITS = 100


class FileRefused(ValueError):
    """A file that cannot be read safely or is not what it claims; the message is one line."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_regular(path, what: str = "file") -> None:
    """Refuse ``path`` if it exists and is not a regular file (a FIFO, device, directory, socket)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise FileRefused(f"{path}: {_kind(mode)}, not a {what}")


def open_regular(path, max_bytes: int, what: str = "file"):
    """Open regular file ``path`` (at most ``max_bytes``) for binary reading, else
    :class:`FileRefused`; nothing is read from a file that is refused."""
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileRefused(f"{path}: no such {what}") from None
    except OSError as e:
        raise FileRefused(f"{path}: cannot read the {what} ({e.strerror or e})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(f"{path}: {_kind(st.st_mode)}, not a {what}")
        if st.st_size > max_bytes:
            raise FileRefused(f"{path}: {st.st_size:,} bytes, more than the {max_bytes:,} a {what} "
                              f"may have")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_regular(path, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of regular file ``path`` (at most ``max_bytes``), else :class:`FileRefused`."""
    with open_regular(path, max_bytes, what) as f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as e:
            raise FileRefused(f"{path}: cannot read the {what} ({e.strerror or e})") from None
    if len(data) > max_bytes:  # grew while we read it
        raise FileRefused(f"{path}: more than the {max_bytes:,} bytes a {what} may have")
    return data


class _LongNumber(Exception):
    pass


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _LongNumber(len(text.lstrip("-")))
    return int(text)


def parse_json(data: bytes | str, where) -> object:
    """Decode JSON text from a file we were handed; :class:`FileRefused` names ``where``."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    except UnicodeDecodeError as e:
        raise FileRefused(f"{where}: not UTF-8 text (byte {e.start}): not a JSON file?") from None
    try:
        return json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as e:
        raise FileRefused(f"{where}: not valid JSON (truncated or corrupt?): {e}") from None
    except _LongNumber as e:
        raise FileRefused(f"{where}: holds a {e.args[0]:,}-digit integer (at most "
                          f"{MAX_NUMBER_DIGITS} digits are read)") from None
    except RecursionError:
        raise FileRefused(f"{where}: JSON nested too deeply to read") from None


def json_depth(value, limit: int) -> int:
    """Nesting depth of a JSON-like value (a scalar is 0), counting no further than ``limit + 1``;
    iterative, so any depth is measured without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list, tuple)):
            d += 1
            deepest = max(deepest, d)
            if d > limit:
                return d
            stack.extend((x, d) for x in (v.values() if isinstance(v, dict) else v))
    return deepest
