"""flows.staging: an output folder is the complete old result or the complete new one; anything
else (failed, interrupted, killed) is refused by every reader. Also the checks a flow makes
before writing (unwritable or foreign --out) and the build-to-netlist binding."""

import json
import os
import re
import signal
from pathlib import Path

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)
from click.testing import CliRunner

from flows.report import ReportError, check_binding, load_report
from flows.staging import MANIFEST, MARKER, OutputError, check_complete, check_output, staged
from lgn_hw.cli import main
from lgn_hw.netlist import random_netlist


def _result(folder, tag):
    (folder / "config.json").write_text(json.dumps({"command": "synth", "tag": tag}))
    (folder / "data.txt").write_text(tag)


def test_swap_replaces_only_at_the_end(tmp_path):
    out = tmp_path / "out"
    with staged(out) as s:
        _result(s, "old")
        assert not out.exists() and (s / MARKER).exists()
    assert (out / "data.txt").read_text() == "old" and not (out / MARKER).exists()
    with staged(out) as s:
        _result(s, "new")
        assert (out / "data.txt").read_text() == "old"     # untouched until the swap
    assert (out / "data.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging or old folder left


def test_failure_keeps_old_result_and_marks_the_failed_one(tmp_path):
    out = tmp_path / "out"
    with staged(out) as s:
        _result(s, "old")
    with pytest.raises(RuntimeError, match=str(tmp_path / "out.failed")):
        with staged(out) as s:
            _result(s, "new")
            raise RuntimeError(f"tool failed [log: {s / 'x.log'}]")
    assert (out / "data.txt").read_text() == "old"
    failed = tmp_path / "out.failed"
    assert (failed / "data.txt").read_text() == "new"
    with pytest.raises(OutputError, match="incomplete or failed build"):
        check_complete(failed)
    with pytest.raises(ReportError, match="incomplete or failed build"):
        load_report(failed)


def test_killed_staging_is_refused_and_cleaned_by_the_next_run(tmp_path):
    out = tmp_path / "out"
    dead = tmp_path / ".out.staging-999999999-abc"     # a pid that cannot exist
    dead.mkdir()
    (dead / MARKER).write_text("x")
    (dead / "report.json").write_text("{}")
    with pytest.raises(ReportError, match="incomplete"):
        load_report(dead)
    with staged(out) as s:
        _result(s, "new")
    assert not dead.exists()


def test_foreign_and_unwritable_outputs_are_refused(tmp_path):
    mine = tmp_path / "home"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError, match="not an lgn-hw result"):
        check_output(mine)
    with pytest.raises(OutputError, match="not a folder"):
        check_output(mine / "thesis.tex")
    if os.geteuid() != 0:    # root writes anywhere; the refusal is checked via the CLI below
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(OutputError, match="not writable"):
            check_output(ro / "x")
    assert (mine / "thesis.tex").read_text() == "precious"
    logs = tmp_path / "logs"          # logs of an earlier failed attempt may be replaced
    logs.mkdir()
    (logs / "build.log").write_text("did not fit")
    assert check_output(logs) == logs


def test_a_users_file_in_a_result_is_never_deleted_by_a_rebuild(tmp_path):
    out = tmp_path / "out"
    with staged(out) as s:
        _result(s, "old")
        (s / "flat").mkdir()
        (s / "flat" / "synth.log").write_text("log")
    assert json.loads((out / MANIFEST).read_text()) == ["config.json", "data.txt", "flat/synth.log"]
    (out / "flat" / "notes.txt").write_text("my notes")      # a user saves a file into it
    with pytest.raises(OutputError, match=r"also holds flat/notes.txt, which no build wrote"):
        check_output(out)
    with pytest.raises(OutputError, match="nothing was written"):
        with staged(out) as s:
            raise AssertionError("not reached: refused before the build")
    assert (out / "flat" / "notes.txt").read_text() == "my notes"
    (out / "flat" / "notes.txt").unlink()
    with staged(out) as s:                                   # now it may be replaced
        _result(s, "new")
    assert (out / "data.txt").read_text() == "new" and not (out / "flat").exists()


def test_a_file_saved_during_the_build_keeps_the_old_result(tmp_path):
    out = tmp_path / "out"
    with staged(out) as s:
        _result(s, "old")
    with pytest.raises(OutputError, match=r"during the build it became .* holds todo.txt.*"
                                          r"the new result is in .*out\.new"):
        with staged(out) as s:
            _result(s, "new")
            (out / "todo.txt").write_text("saved during the build")
    assert (out / "todo.txt").read_text() == "saved during the build"
    assert (out / "data.txt").read_text() == "old"
    assert (tmp_path / "out.new" / "data.txt").read_text() == "new"
    assert not (tmp_path / "out.new" / MARKER).exists()
    (out / "todo.txt").unlink()     # again: out.new is there and is kept, the newer result beside it
    with pytest.raises(OutputError, match=r"the new result is in .*out\.new-\d+-"):
        with staged(out) as s:
            _result(s, "newer")
            (out / "todo.txt").write_text("again")
    assert (tmp_path / "out.new" / "data.txt").read_text() == "new"


def test_a_result_without_a_file_list_is_replaced_as_before(tmp_path):
    out = tmp_path / "out"          # written before results listed their files
    out.mkdir()
    _result(out, "old")
    with staged(out) as s:
        _result(s, "new")
    assert (out / "data.txt").read_text() == "new"
    (out / MANIFEST).write_text("{not json")
    with pytest.raises(OutputError, match="file list .* is unreadable"):
        check_output(out)


def test_a_symlinked_out_keeps_its_link(tmp_path):
    real = tmp_path / "disk" / "results"
    real.parent.mkdir()
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    for tag in ("old", "new"):
        with staged(link) as s:
            _result(s, tag)
        assert link.is_symlink() and (real / "data.txt").read_text() == tag
        assert (link / "data.txt").read_text() == tag
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk", "out"]
    assert sorted(p.name for p in real.parent.iterdir()) == ["results"]


def test_the_current_folder_or_one_above_it_is_refused(tmp_path, monkeypatch):
    """``--out .`` would swap out the folder the process (and the user's shell) stands in, and a
    relative ``.`` has no name to stage next to: refused in one line, nothing written."""
    here = tmp_path / "work" / "here"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    for out in (".", "..", str(tmp_path), "./"):
        with pytest.raises(OutputError, match="the current folder or one above it"):
            with staged(out) as s:
                _result(s, "new")
    assert not any(tmp_path.rglob("*staging*")) and not any(here.iterdir())
    with staged("sub") as s:          # a relative folder below is fine
        assert s.parent == here
        _result(s, "new")
    assert (here / "sub" / "data.txt").read_text() == "new"
    assert sorted(p.name for p in here.iterdir()) == ["sub"]


def _netlist(tmp_path, seed=0):
    return random_netlist(seed, 16, [12, 9], 4, 3).save(tmp_path / f"n{seed}.json")


def test_unwritable_out_is_one_line_for_rtl_and_synth(tmp_path):
    net = _netlist(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for args in (["rtl", str(net), "--out", str(blocker / "sub")],
                 ["synth", str(net), "--out", str(blocker / "sub")],
                 ["verify", "--netlist", str(net), "--out", str(blocker / "sub")]):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 1 and "Traceback" not in r.output, r.output
        errors = [ln for ln in r.output.splitlines() if ln.startswith("Error:")]
        assert len(errors) == 1 and errors[0].startswith("Error: --out ")
        assert r.output.strip().splitlines()[-1] == errors[0]


def test_synth_into_the_current_folder_is_one_line(tmp_path, monkeypatch):
    net = _netlist(tmp_path)
    (tmp_path / "w").mkdir()
    monkeypatch.chdir(tmp_path / "w")
    r = CliRunner().invoke(main, ["synth", str(net), "--out", "."])
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
    assert r.output.strip().splitlines()[-1].startswith("Error: --out .: the current folder")
    assert not any((tmp_path / "w").iterdir()) and not list(tmp_path.glob(".*staging*"))


@pytest.mark.parametrize("text,message", [
    ("{", "not valid JSON"),
    ('{"format": "lgn-hw-report"}', "malformed report: 'target' missing"),
    ('{"format": "lgn-hw-report", "target": {}, "design": {}, "resources": {}, '
     '"utilisation": {}, "stages": {}, "layers": [], "timing": {}, "tools": {}, '
     '"seconds": {}}', r"malformed report \(KeyError"),
    ("[" * 100000 + "]" * 100000, "not valid JSON"),
])
def test_malformed_report_json_is_one_line(tmp_path, text, message):
    (tmp_path / "report.json").write_text(text)
    r = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1 and message.split("\\")[0] in r.output \
        or pytest.fail(r.output)


@pytest.mark.timeout(60)
def test_reports_and_configs_that_are_not_regular_files_are_refused_without_reading(tmp_path,
                                                                                   monkeypatch):
    """A FIFO named report.json hung `lgn-hw report`, /dev/zero filled memory; a FIFO named
    config.json in --out hung synth and build (they read it to see whether the folder is ours)."""
    import flows.report

    cases = {"fifo": "a FIFO, not a report", "zero": "a character device, not a report",
             "big": "bytes, more than the 1,000 a report may have"}
    monkeypatch.setattr(flows.report, "MAX_REPORT_BYTES", 1000)
    for name, message in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        if name == "fifo":
            os.mkfifo(folder / "report.json")
        elif name == "zero":
            (folder / "report.json").symlink_to("/dev/zero")
        else:
            (folder / "report.json").write_text(" " * 1001 + "{}")
        r = CliRunner().invoke(main, ["report", str(folder)])
        assert r.exit_code == 1 and len(r.output.splitlines()) == 1, r.output
        assert r.output.startswith(f"Error: {folder / 'report.json'}: ") and message in r.output
    out = tmp_path / "o"
    out.mkdir()
    os.mkfifo(out / "config.json")
    with pytest.raises(OutputError, match="not an lgn-hw result"):
        check_output(out)
    r = CliRunner().invoke(main, ["synth", str(_netlist(tmp_path)), "--out", str(out)])
    assert r.exit_code == 1 and "not an lgn-hw result" in r.output, r.output


def test_a_report_binding_a_file_outside_its_folder_is_refused(tmp_path, monkeypatch):
    """The files a report binds are relative to its folder: an absolute name is refused like a
    missing file, not hashed wherever it points."""
    import flows.report
    from flows.design import fingerprint, load_netlist

    path = _netlist(tmp_path)
    net = load_netlist(path)
    monkeypatch.setattr(flows.report, "render_markdown", lambda rep: "")
    out = tmp_path / "out"
    out.mkdir()
    rep = {name: kind() for name, kind in flows.report._FIELDS.items()}
    rep.update(format=flows.report.FORMAT, netlist_fingerprint=fingerprint(net),
               files={str(path): flows.design.file_sha256(path)})
    (out / "report.json").write_text(json.dumps(rep))
    with pytest.raises(ReportError, match=f"{re.escape(str(path))} is missing; rebuild it"):
        check_binding(out, net)


@pytest.mark.tools
def test_synth_binds_and_verify_build_catches_stale_and_altered(tmp_path):
    a, b = _netlist(tmp_path, 0), _netlist(tmp_path, 1)
    out = tmp_path / "s"
    r = CliRunner().invoke(main, ["synth", str(a), "--target", "lut4", "--out", str(out),
                                  "--no-hierarchy"])
    assert r.exit_code == 0, r.output
    assert "LUTs" in r.output and "None LUTs" not in r.output     # no per-layer figures
    r = CliRunner().invoke(main, ["verify", "--netlist", str(a), "--build", str(out)])
    assert r.exit_code == 0 and "matches" in r.output, r.output
    r = CliRunner().invoke(main, ["verify", "--netlist", str(b), "--build", str(out)])
    assert r.exit_code == 1 and "stale: built from another netlist" in r.output
    (out / "lgn_core.v").write_text("// edited\n")
    with pytest.raises(ReportError, match="lgn_core.v differs"):
        from flows.design import load_netlist
        check_binding(out, load_netlist(a))


def test_sigterm_cleans_up_then_dies_of_sigterm(tmp_path):
    """SIGTERM during a staged write: the staging folder is cleaned up, then the process dies
    of SIGTERM (its parent sees -15, what bench/frontier.py's time limit relies on)."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from flows.staging import staged, sigterm_as_exit
        with sigterm_as_exit():
            with staged({str(tmp_path / "out")!r}) as s:
                (s / "x").write_text("partial")
                os.kill(os.getpid(), signal.SIGTERM)
                signal.pause()
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGTERM, proc.stderr.decode()
    assert not (tmp_path / "out").exists()
    assert (tmp_path / "out.failed" / MARKER).exists()
