"""rtl.cells: the head's vendor-primitive forms compute what their expression forms compute.

The cells are opaque to Amaranth's simulator, so each form is simulated in Icarus with Yosys's
7-series cell models (``flows.postsim.cell_models``), with many ties, and a corrupted INIT must be
caught. Synthesis keeps one LUT site per planned cell (tests marked ``tools``).
"""

import re

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

import numpy as np
from amaranth.back import verilog

from flows.families import get_family
from rtl.argmax import Argmax
from rtl.cells import HeadCells
from rtl_cases import run_with_cell_models

XC7 = get_family("xc7").head_cells

pytestmark = pytest.mark.tools


def _icarus(tmp_path, text, top, ports, rows, expect, out_width):
    """Drive ``rows`` (one integer per port list entry) and count mismatches against ``expect``."""
    decl = "\n".join(f"reg [{w - 1}:0] {n};" for n, w in ports)
    conn = ", ".join(f".{n}({n})" for n, _ in ports)
    lines = [f"module tb; {decl} wire [{out_width - 1}:0] y; {top} dut({conn}, .index(y));",
             "integer e; initial begin e = 0;"]
    for row, want in zip(rows, expect):
        sets = " ".join(f"{n} = {w}'d{v};" for (n, w), v in zip(ports, row))
        lines.append(f"{sets} #1; if (y !== {want}) e = e + 1;")
    lines.append('$display("ERRORS %0d", e); $finish; end endmodule')
    out = run_with_cell_models(tmp_path, "xc7", text + "\n" + "\n".join(lines))
    return int(re.search(r"ERRORS (\d+)", out).group(1))


def _argmax_case(classes, width, rng):
    rows = rng.integers(0, 1 << width, size=(400, classes))
    rows[:150] = rng.integers(0, min(3, 1 << width), size=(150, classes))  # ties
    rows[150] = (1 << width) - 1
    if classes > 2 and width > 2:  # class 1 beats class 0 only by the lowest bit pair
        rows[151:170] = 0
        rows[151:170, 0] = 4
        rows[151:170, 1] = 5
    words = [[sum(int(v) << (width * c) for c, v in enumerate(r))] for r in rows]
    return words, [int(np.argmax(r)) for r in rows]


@pytest.mark.parametrize("classes,width", [(10, 6), (10, 4), (10, 10), (3, 5), (2, 1), (5, 9)])
def test_cell_argmax_matches_numpy(tmp_path, classes, width):
    am = Argmax(classes, width, cells=XC7)
    text = verilog.convert(am, name="am", ports=[am.counts.as_value(), am.index])
    words, want = _argmax_case(classes, width, np.random.default_rng(classes * 100 + width))
    bad = _icarus(tmp_path, text, "am", [("counts", classes * width)], words, want,
                  len(am.index))
    assert bad == 0
    if classes == 10 and width == 6:  # the negative twin: "greater" wrong for 01 vs 00 in one comparator
        mutant = re.sub(r"64'h([0-9a-f]{16})(\)\s*\)\s*n1_0_gt_p0 )",
                        lambda mt: "64'h" + format(int(mt.group(1), 16) ^ (1 << 1), "016x")
                        + mt.group(2), text)
        assert mutant != text
        assert _icarus(tmp_path, mutant, "am", [("counts", 60)], words, want, 4) > 0


def test_cells_are_declared_by_the_family():
    assert isinstance(XC7, HeadCells) and str(XC7) == "xc7"
    assert get_family("ice40").head_cells is None
