"""Checksums of dataset files already on disk: checked on every load, cached between loads.

A loader hands over each file it parsed (``check(path, rel, content)``, ``rel`` being the file's key
in ``download.SOURCES``). When the upstream MD5 of that file is known it is compared, over the
uncompressed content or the file as published (``SOURCES``' third field; a Fashion-MNIST file kept
uncompressed has no published sum and is only checked for its structure by its loader). A mismatch
is a one-line ``DatasetError``: the file is corrupt or not the original.

A verified file is recorded in ``CACHE`` (a JSON file under ``~/.cache/lgn-hw``) with its size,
modification and change times, inode and device; while all of them are unchanged the file is not
hashed again. The cache is only an optimisation: when it cannot be read or written, files are
hashed on every load.
"""

from __future__ import annotations

from pathlib import Path

from lgn_hw.atomic import write_json_atomic
from lgn_hw.datasets import DatasetError
from lgn_hw.datasets.download import MAX_FILE_BYTES, SOURCES, md5_hex
from lgn_hw.untrusted import FileRefused, parse_json, read_regular

__all__ = ["CACHE", "check"]

#: Where verified files are remembered.
CACHE = Path("~/.cache/lgn-hw/verified-datasets.json")
_CACHE_MAX_BYTES = 1 << 22


def _stamp(path: Path) -> list:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _read_cache() -> dict:
    try:
        d = parse_json(read_regular(CACHE.expanduser(), _CACHE_MAX_BYTES, "cache"), CACHE)
    except FileRefused:
        return {}
    return d if isinstance(d, dict) else {}


def _remember(key: str, entry: list) -> None:
    cache = {k: v for k, v in _read_cache().items() if Path(k).exists()}  # forget removed files
    cache[key] = entry
    try:
        write_json_atomic(CACHE.expanduser(), cache, indent=None)
    except OSError:
        pass  # a read-only home: verify again next time


def check(path: Path, rel: str, content: bytes) -> None:
    """Compare ``path`` (parsed ``content``) with the published MD5 of ``rel``, if one is known."""
    if rel not in SOURCES:
        return
    _, md5, covers = SOURCES[rel]
    if covers == "file" and Path(path).name != Path(rel).name:
        return  # the sum is of the published .gz; this is another form of the file
    key = str(Path(path).resolve())
    stamp = _stamp(Path(path))
    if _read_cache().get(key) == stamp + [md5]:
        return
    if covers == "file":
        try:
            content = read_regular(path, MAX_FILE_BYTES, "dataset file")
        except FileRefused as exc:
            raise DatasetError(str(exc)) from None
    got = md5_hex(content)
    if got != md5:
        what = "uncompressed content" if covers == "content" else "file"
        raise DatasetError(f"{path}: MD5 of its {what} is {got}, the published file's is {md5}: "
                           f"the file is corrupt or not the original; delete it and fetch it again "
                           f"(--download)")
    _remember(key, stamp + [md5])

