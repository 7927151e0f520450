"""``lgn-hw export`` (files written atomically, one-line errors, nothing written on failure) and
``lgn-hw infer --engine c|numpy|auto`` (the same accuracy either way; says which engine ran)."""
import re

import pytest
from click.testing import CliRunner

import export_cases as ec
from lgn_hw.cli import main
from lgn_hw.export.c import render_c
from lgn_hw.export.hls import render_hls


@pytest.fixture(scope="module")
def net_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "netlist.json"
    ec.trained(ec.DIGITS).save(path)
    return path


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("lang,render", [("c", render_c), ("hls", render_hls)])
def test_export_writes_the_rendered_files(net_path, tmp_path, lang, render):
    out = tmp_path / "out" / "deeper"
    res = _invoke("export", net_path, "--lang", lang, "--out", out, "--prefix", "dig")
    assert res.exit_code == 0, res.output
    want = render(ec.Netlist.load(net_path), "dig").files
    assert sorted(p.name for p in out.iterdir()) == sorted(want)
    for name, text in want.items():
        assert (out / name).read_text() == text
    assert "wrote " in res.output and ("build: cc -O2" in res.output if lang == "c" else "g++" in res.output)


def test_export_errors_are_one_line_and_write_nothing(net_path, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "lgn-hw-netlist", "version": 1, "n_inputs": 2')
    afile = tmp_path / "afile"
    afile.write_text("x")
    cases = [(("export", tmp_path / "none.json", "--lang", "c", "--out", tmp_path / "o1"), "no netlist at"),
             (("export", bad, "--lang", "c", "--out", tmp_path / "o2"), "not valid JSON"),
             (("export", net_path, "--lang", "c", "--out", tmp_path / "o3", "--prefix", "9x"), "prefix '9x'"),
             (("export", net_path, "--lang", "c", "--out", afile), "is a file"),
             (("export", net_path, "--lang", "vhdl", "--out", tmp_path / "o4"), "Invalid value for '--lang'")]
    for args, msg in cases:
        res = _invoke(*args)
        assert res.exit_code != 0 and msg in res.output, res.output
        assert [ln for ln in res.output.splitlines() if ln.startswith("Error")] == \
            [res.output.strip().splitlines()[-1]], res.output  # one error line (usage adds a hint)
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 5))
    assert "export" in _invoke("--help").output


@pytest.mark.skipif(ec.CC is None, reason="no C compiler")
def test_infer_engines_agree_and_say_which_ran(net_path):
    outs = {}
    for engine in ("c", "numpy", "auto"):
        res = _invoke("infer", net_path, "--engine", engine)
        assert res.exit_code == 0, res.output
        outs[engine] = res.output
    acc = {e: re.search(r"accuracy: .*", o).group(0) for e, o in outs.items()}
    assert acc["c"] == acc["numpy"] == acc["auto"]
    assert "engine: c (" in outs["c"] and "engine: c (" in outs["auto"]
    assert "engine: numpy" in outs["numpy"] and "classify:" in outs["c"] and "C, packed bits" in outs["c"]


def test_infer_without_a_compiler(net_path, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no cc, gcc or clang
    monkeypatch.delenv("CC", raising=False)
    res = _invoke("infer", net_path)
    assert res.exit_code == 0, res.output
    assert "engine: numpy (bit-packed; the C engine is unavailable: no C compiler found (set $CC))" in res.output
    res = _invoke("infer", net_path, "--engine", "c")
    assert res.exit_code == 1 and res.output.strip() == "Error: --engine c: no C compiler found (set $CC)"
