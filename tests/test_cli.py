"""Tests for lgn_hw.cli: every stage is listed, missing or broken stage modules are explained in
--help and fail with one line when invoked, and the installed entry point runs."""

import re
import subprocess
import sys
import textwrap

import click
import pytest
from click.testing import CliRunner

from lgn_hw import cli
from lgn_hw.cli import COMMANDS, LazyGroup, main

ALL = ["boards", "build", "export", "infer", "report", "rtl", "run", "sim", "synth", "verify"]


def test_help_lists_all_commands():
    res = CliRunner().invoke(main, ["--help"], terminal_width=400)
    assert res.exit_code == 0, res.output
    listed = re.findall(r"^  (\S+)", res.output.split("Commands:")[1], flags=re.M)
    assert sorted(COMMANDS) == ALL
    assert listed == ALL


def test_command_table_matches_the_contract():
    assert COMMANDS == {
        "infer": "lgn_hw.infer:infer_command", "export": "lgn_hw.export.cli:export_command",
        "rtl": "rtl.cli:rtl_command", "sim": "rtl.cli:sim_command",
        "build": "boards.cli:build_command", "report": "flows.cli:report_command",
        "verify": "flows.cli:verify_command", "synth": "flows.cli:synth_command",
        "run": "boards.cli:run_command", "boards": "boards.cli:boards_command",
    }


def test_infer_is_loaded_for_real():
    cmd = main.get_command(click.Context(main), "infer")
    from lgn_hw.infer import infer_command

    assert cmd is infer_command


@pytest.fixture
def group(tmp_path, monkeypatch):
    """A LazyGroup over fake stage modules: absent, importing a missing package, raising, not a command."""
    (tmp_path / "lgn_fake_needs_pkg.py").write_text("import lgn_no_such_package_zz\n")
    (tmp_path / "lgn_fake_raises.py").write_text("raise RuntimeError('boom at import\\nsecond line')\n")
    (tmp_path / "lgn_fake_ok.py").write_text(textwrap.dedent("""
        import click
        @click.command()
        @click.option("--n", type=int, default=1)
        def hello(n):
            '''Say hello.'''
            click.echo("hello " * n)
        not_a_command = 3
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    table = {
        "absent": "lgn_fake_absent_mod:cmd",
        "needs": "lgn_fake_needs_pkg:cmd",
        "raises": "lgn_fake_raises:cmd",
        "attr": "lgn_fake_ok:missing",
        "notcmd": "lgn_fake_ok:not_a_command",
        "hello": "lgn_fake_ok:hello",
    }
    monkeypatch.setattr(cli, "COMMANDS", table)

    @click.group(cls=LazyGroup, lazy_commands=table)
    def g():
        """test group"""

    return g


def test_unavailable_commands_are_listed_with_a_reason(group):
    res = CliRunner().invoke(group, ["--help"], terminal_width=200)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "absent  (unavailable: module 'lgn_fake_absent_mod' not found)" in out
    assert "needs   (unavailable: module 'lgn_fake_needs_pkg' needs package 'lgn_no_such_package_zz' (not installed))" in out
    assert "raises  (unavailable: importing 'lgn_fake_raises' failed: RuntimeError: boom at import)" in out
    assert "notcmd  (unavailable: lgn_fake_ok:not_a_command is not a click command)" in out
    assert "attr    (unavailable: lgn_fake_ok:missing not found" in out
    assert "hello   Say hello." in out


@pytest.mark.parametrize("name, reason", [
    ("absent", "module 'lgn_fake_absent_mod' not found"),
    ("needs", "module 'lgn_fake_needs_pkg' needs package 'lgn_no_such_package_zz' (not installed)"),
    ("raises", "importing 'lgn_fake_raises' failed: RuntimeError: boom at import"),
])
def test_invoking_an_unavailable_command_is_one_line(group, name, reason):
    res = CliRunner().invoke(group, [name, "--some-flag", "x"])
    assert res.exit_code == 1
    assert res.output == f"Error: `lgn-hw {name}` is unavailable: {reason}\n"


def test_available_lazy_command_runs(group):
    res = CliRunner().invoke(group, ["hello", "--n", "2"])
    assert res.exit_code == 0 and res.output == "hello hello \n"


def test_unknown_command_is_a_usage_error():
    res = CliRunner().invoke(main, ["frobnicate"])
    assert res.exit_code == 2 and "No such command 'frobnicate'" in res.output


def test_module_entry_point_and_version():
    out = subprocess.run([sys.executable, "-m", "lgn_hw.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("lgn-hw, version ")
    out = subprocess.run([sys.executable, "-m", "lgn_hw.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "infer" in out.stdout and out.stderr == ""


def test_infer_without_netlist_points_at_training(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["infer", "--dataset", "digits"])
    assert res.exit_code == 1
    assert res.output == ("Error: no netlist at lgn-out/netlist.json: run `python -m train` first "
                          "or pass a path\n")


def test_core_imports_stay_light():
    """The numpy-only core (and infer before it runs) never imports torch, amaranth, cupy or sklearn."""
    code = ("import sys, lgn_hw, lgn_hw.cli, lgn_hw.infer, lgn_hw.datasets, lgn_hw.datasets.idx, "
            "lgn_hw.datasets.uci, lgn_hw.datasets.digits, lgn_hw.encoding, lgn_hw.thresholds, lgn_hw.atomic; "
            "print(sorted(m for m in ('torch', 'amaranth', 'cupy', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
