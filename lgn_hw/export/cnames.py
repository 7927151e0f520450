"""Everything untrusted that reaches generated C / C++ source goes through here.

A netlist's strings (feature names, the dataset name) come from a file: they are never pasted into
code or comments. :func:`c_string` turns any string into a C string literal in which every byte
outside a small safe set is an octal escape (so quotes, backslashes, ``*/``, ``??/`` trigraphs,
newlines, NUL and non-ASCII text are all inert), and :func:`check_prefix` admits only a plain C
identifier as the prefix of the generated symbols. Numbers reach the code through :func:`c_int`
and :func:`c_list` only.
"""
from __future__ import annotations

import re

__all__ = ["ExportError", "c_string", "check_prefix", "c_int", "c_list", "DEFAULT_PREFIX"]

#: prefix of every generated symbol when none is given (``lgn_classify``, ``LGN_N_CLASSES``, ...)
DEFAULT_PREFIX = "lgn"
_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.,:;=+()[]<>!#$%&^|~")
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
_RESERVED = {"auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
             "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
             "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
             "typedef", "union", "unsigned", "void", "volatile", "while", "bool", "class",
             "namespace", "template", "this", "new", "delete", "main"}


class ExportError(ValueError):
    """The netlist or an option cannot be exported; the message is one line."""


def c_string(s) -> str:
    """A C (and C++) string literal holding the UTF-8 bytes of ``s``, safe in any context."""
    out = []
    for byte in str(s).encode("utf-8", "surrogatepass"):
        out.append(chr(byte) if byte in _SAFE else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def check_prefix(prefix: str) -> str:
    """``prefix`` if it is a C identifier of 1-32 characters starting with a letter (not a keyword
    of C or C++), else :class:`ExportError`."""
    if not isinstance(prefix, str) or not _IDENT.fullmatch(prefix) or prefix.lower() in _RESERVED:
        raise ExportError(f"prefix {str(prefix)[:40]!r}: expected a C identifier of 1-32 letters, "
                          "digits and underscores starting with a letter (and not a keyword)")
    return prefix


def c_int(v: int) -> str:
    """An integer literal valid for any C integer type that holds ``v``."""
    v = int(v)
    if -2 ** 31 < v < 2 ** 31:
        return str(v)
    if v > 0:
        return f"{v}ull"
    return f"({v + 1}ll - 1)"


def c_list(items, per_line=16) -> str:
    """The body of a C array initialiser (``{...}`` without the braces), ``per_line`` a line."""
    items = [str(i) for i in items] or ["0"]  # C99 has no empty arrays: one unused entry
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "\n    " + ",\n    ".join(lines) + "\n"
