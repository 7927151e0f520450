"""lgn_hw.cbuild: the cached, atomic shared-library build shared by training and export."""
import ctypes

import pytest

from lgn_hw import cbuild

CC = cbuild.find_compiler()
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")


def test_build_is_cached_and_loadable(tmp_path, monkeypatch):
    monkeypatch.setenv("LGN_HW_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "f.c"
    src.write_text("int twice(int x) { return 2 * x; }\n")
    cmd = [CC, "-O1", "-shared", "-fPIC"]
    a = cbuild.build_cached(cmd, src, b"key-1", "t")
    assert a.parent == tmp_path / "cache" and ctypes.CDLL(str(a)).twice(21) == 42
    stamp = a.stat().st_mtime_ns
    assert cbuild.build_cached(cmd, src, b"key-1", "t") == a and a.stat().st_mtime_ns == stamp
    assert cbuild.build_cached(cmd, src, b"key-2", "t") != a
    assert not [p for p in a.parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_failed_build_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("LGN_HW_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "bad.c"
    src.write_text("int f( {\n")
    with pytest.raises(RuntimeError, match="compiling bad.c failed"):
        cbuild.build_cached([CC, "-shared", "-fPIC"], src, b"k", "bad")
    assert list((tmp_path / "cache").iterdir()) == []
