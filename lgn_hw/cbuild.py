"""Building C sources into cached shared libraries (torch-free; used by training and export).

Owns finding a compiler (``$CC``/``$CXX``, else the usual names on the PATH), the per-user build
cache (``$LGN_HW_CACHE``, else ``~/.cache/lgn-hw``) and the cached, atomic build itself: a library
is named by a hash of everything that decides its contents (source, flags, compiler version, CPU),
compiled into a temporary file and renamed into place, so an interrupted or concurrent build never
leaves a half-written library that a later run would load.
"""
from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["find_compiler", "compiler_version", "cpu_tag", "cache_dir", "build_cached"]


def find_compiler(env: str = "CC", names=("cc", "gcc", "clang")) -> str | None:
    """The compiler named by ``$env``, else the first of ``names`` on the PATH (None if none)."""
    for name in (os.environ.get(env), *names):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def compiler_version(cc: str) -> str:
    """``cc --version`` (the compiler's path if it cannot be run): part of every cache key."""
    try:
        return subprocess.run([cc, "--version"], capture_output=True, text=True).stdout or cc
    except OSError:
        return cc


def cpu_tag() -> str:
    """The CPU's feature flags (``-march=native`` builds are only valid on the same CPU)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cache_dir() -> Path:
    root = os.environ.get("LGN_HW_CACHE") or os.path.join(Path.home(), ".cache", "lgn-hw")
    return Path(root)


def build_cached(command: list, source: Path, key: bytes, stem: str, libs=()) -> Path:
    """Compile ``source`` with ``command`` (compiler and flags) into a shared library in
    :func:`cache_dir`, named by a hash of ``key``; built once per key, atomically (temp + rename).
    Raises RuntimeError with the compiler's message on failure."""
    out = cache_dir() / f"{stem}_{hashlib.sha256(key).hexdigest()[:16]}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".so", dir=out.parent)
    os.close(fd)
    try:
        proc = subprocess.run([*command, str(source), "-o", tmp, *libs],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"compiling {Path(source).name} failed: {proc.stderr.strip()[-2000:]}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
