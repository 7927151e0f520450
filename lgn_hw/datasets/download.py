"""Finding dataset files under the data root, and fetching missing ones from upstream.

Owns the table of upstream URLs and MD5 sums (``SOURCES``) and ``find_file``, which either returns
an existing file, downloads it (``download=True``: checksum verified before an atomic write), or
raises a one-line ``DatasetError`` saying which file, where it was looked for, and how to get it.
MD5 sums are over the *uncompressed* content (so a re-compressed ``.gz`` still matches), except for
Fashion-MNIST, whose published sums are of Zalando's ``.gz`` files. Files already on disk are checked
against the same sums by ``lgn_hw.datasets.verify``. ``read_maybe_gzip`` reads regular files only,
of at most ``MAX_FILE_BYTES`` before and after decompression.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from lgn_hw import DATA_ENV
from lgn_hw.atomic import write_bytes_atomic
from lgn_hw.datasets import DatasetError
from lgn_hw.untrusted import FileRefused, check_regular, read_regular

__all__ = ["SOURCES", "MAX_FILE_BYTES", "find_file", "fetch", "read_maybe_gzip", "gunzip_bounded",
           "md5_hex"]

#: The largest dataset file read, compressed or after decompression (MNIST's largest is 47 MB).
MAX_FILE_BYTES = 1 << 30

_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/"

#: path under the data root -> (url, md5, what the md5 covers: "content" (uncompressed) or "file")
SOURCES: dict[str, tuple[str, str, str]] = {
    "mnist/train-images-idx3-ubyte.gz": (_MNIST + "train-images-idx3-ubyte.gz", "6bbc9ace898e44ae57da46a324031adb", "content"),
    "mnist/train-labels-idx1-ubyte.gz": (_MNIST + "train-labels-idx1-ubyte.gz", "a25bea736e30d166cdddb491f175f624", "content"),
    "mnist/t10k-images-idx3-ubyte.gz": (_MNIST + "t10k-images-idx3-ubyte.gz", "2646ac647ad5339dbf082846283269ea", "content"),
    "mnist/t10k-labels-idx1-ubyte.gz": (_MNIST + "t10k-labels-idx1-ubyte.gz", "27ae3e4e09519cfbb04c329615203637", "content"),
    "fashion-mnist/train-images-idx3-ubyte.gz": (_FASHION + "train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "file"),
    "fashion-mnist/train-labels-idx1-ubyte.gz": (_FASHION + "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", "file"),
    "fashion-mnist/t10k-images-idx3-ubyte.gz": (_FASHION + "t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", "file"),
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": (_FASHION + "t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", "file"),
    "uci/adult.data": (_UCI + "adult/adult.data", "5d7c39d7b8804f071cdd1f2a7c460872", "content"),
    "uci/adult.test": (_UCI + "adult/adult.test", "35238206dfdf7f1fe215bbb874adecdc", "content"),
    "uci/breast-cancer.data": (_UCI + "breast-cancer/breast-cancer.data", "d887db31e2b99e39c4b7fc79d2f36a3a", "content"),
    "uci/monks-1.train": (_UCI + "monks-problems/monks-1.train", "fc1fc3a673e00908325c67cf16283335", "content"),
    "uci/monks-1.test": (_UCI + "monks-problems/monks-1.test", "de4255acb72fb29be5125a7c874e28a0", "content"),
    "uci/monks-2.train": (_UCI + "monks-problems/monks-2.train", "f109ee3f95805745af6cdff06d6fbc94", "content"),
    "uci/monks-2.test": (_UCI + "monks-problems/monks-2.test", "106cb9049ba5ccd7969a0bd5ff19681d", "content"),
    "uci/monks-3.train": (_UCI + "monks-problems/monks-3.train", "613e44dbb8ffdf54d364bd91e4e74afd", "content"),
    "uci/monks-3.test": (_UCI + "monks-problems/monks-3.test", "46815731e31c07f89422cf60de8738e7", "content"),
}


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def read_maybe_gzip(path: Path) -> bytes:
    """The file's bytes, gunzipped if the name ends in ``.gz``; a corrupt or truncated gzip
    stream raises ``DatasetError`` naming the file, and so does a FIFO, a device or a file (or its
    decompressed content) larger than ``MAX_FILE_BYTES``."""
    try:
        data = read_regular(path, MAX_FILE_BYTES, "dataset file")
    except FileRefused as exc:
        raise DatasetError(str(exc)) from None
    if path.suffix != ".gz":
        return data
    try:
        return gunzip_bounded(data, path)
    except (EOFError, OSError, zlib.error) as exc:
        raise DatasetError(f"{path}: corrupt or truncated gzip file ({exc}); delete it and fetch it again") from None


def gunzip_bounded(data: bytes, path: Path) -> bytes:
    """gzip.decompress, but stopping at MAX_FILE_BYTES of output (a few KiB can claim gigabytes)."""
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
        out = f.read(MAX_FILE_BYTES + 1)
    if len(out) > MAX_FILE_BYTES:
        raise DatasetError(f"{path}: decompresses to more than {MAX_FILE_BYTES:,} bytes: not a "
                           f"dataset file")
    return out


def fetch(url: str, dest: Path, md5: str, covers: str = "content", timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest`` atomically after checking its MD5 (of the gunzipped content
    when ``covers == "content"`` and the URL is a .gz, else of the bytes as downloaded)."""
    try:
        from tqdm import tqdm

        with urllib.request.urlopen(url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            chunks = []
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"download {Path(dest).name}",
                      leave=False) as bar:
                while chunk := resp.read(1 << 20):
                    chunks.append(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DatasetError(f"download of {url} failed: {reason}") from None
    data = b"".join(chunks)
    content = data
    if covers == "content" and url.endswith(".gz"):
        try:
            content = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise DatasetError(f"download of {url}: not a valid gzip file ({exc})") from None
    got = md5_hex(content)
    if got != md5:
        raise DatasetError(f"download of {url}: MD5 {got} does not match the expected {md5}; nothing was saved")
    return write_bytes_atomic(dest, data)


def find_file(root: Path, dataset: str, rel: str, alternatives: tuple[str, ...] = (),
              download: bool = False) -> Path:
    """Return the first existing path among ``root/rel`` and ``root/alternatives``; if none exists,
    download ``rel`` (when ``download`` and ``rel`` has a known source) or raise ``DatasetError``."""
    candidates = [root / rel] + [root / a for a in alternatives]
    for p in candidates:
        try:
            check_regular(p, "dataset file")
        except FileRefused as exc:
            raise DatasetError(str(exc)) from None
        if p.is_file():
            return p
    if download:
        if rel not in SOURCES:
            raise DatasetError(f"{dataset}: no download source known for {rel}")
        url, md5, covers = SOURCES[rel]
        return fetch(url, root / rel, md5, covers)
    looked = ", ".join(str(p) for p in candidates)
    raise DatasetError(f"{dataset}: missing file {rel} (looked in {looked}); "
                       f"fetch it with --download (load(..., download=True)) or point {DATA_ENV} / "
                       f"--data-root at a folder that holds it")
