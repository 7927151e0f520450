"""Tests for lgn_hw.atomic: content, parent creation, no temp leftovers, old file kept on failure."""

import json

import pytest

from lgn_hw.atomic import write_bytes_atomic, write_json_atomic, write_text_atomic


def test_write_text_and_bytes(tmp_path):
    p = write_text_atomic(tmp_path / "a" / "b.txt", "héllo\n")
    assert p.read_text(encoding="utf-8") == "héllo\n"
    write_bytes_atomic(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert sorted(x.name for x in p.parent.iterdir()) == ["b.txt"]


def test_write_json_roundtrip(tmp_path):
    obj = {"x": [1, 2, 3], "y": {"z": "w"}}
    p = write_json_atomic(tmp_path / "o.json", obj)
    assert json.loads(p.read_text()) == obj
    assert p.read_text().endswith("\n")


def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "o.json"
    write_json_atomic(p, {"old": 1})
    with pytest.raises(TypeError):
        write_json_atomic(p, {"bad": object()})
    assert json.loads(p.read_text()) == {"old": 1}
    assert [x.name for x in tmp_path.iterdir()] == ["o.json"]


def test_failure_during_replace_removes_temp(tmp_path, monkeypatch):
    import lgn_hw.atomic as atomic

    p = write_text_atomic(tmp_path / "t.txt", "old")

    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_text_atomic(p, "new")
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["t.txt"]


def test_written_files_get_the_usual_permissions(tmp_path):
    import os
    import stat

    from lgn_hw.atomic import write_text_atomic

    old = os.umask(0o022)
    try:
        p = write_text_atomic(tmp_path / "perm.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644


def test_make_folders_and_remove_empty_undo_only_what_was_made_and_is_still_empty(tmp_path):
    from lgn_hw.atomic import make_folders, remove_empty

    (tmp_path / "a").mkdir()
    made = make_folders(tmp_path / "a" / "b" / "c")
    assert made == [tmp_path / "a" / "b" / "c", tmp_path / "a" / "b"]
    assert make_folders(tmp_path / "a" / "b" / "c") == []  # nothing new
    remove_empty(made)
    assert (tmp_path / "a").is_dir() and not (tmp_path / "a" / "b").exists()
    made = make_folders(tmp_path / "a" / "b" / "c")
    (tmp_path / "a" / "b" / "kept.txt").write_text("x")
    remove_empty(made)
    assert not (tmp_path / "a" / "b" / "c").exists() and (tmp_path / "a" / "b" / "kept.txt").exists()
