"""flows.stat: classification, hierarchy multiplicity, stages, text cross-check."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

from collections import Counter

from flows.stat import (classify_cell, design_resources, instance_counts, parse_text_stat,
                        stage_counts)

STAT = {"modules": {
    "\\top": {"num_cells_by_type": {"SB_LUT4": 4, "SB_DFFSR": 2, "$scopeinfo": 3,
                                    "top.core": 1}},
    "\\top.core": {"num_cells_by_type": {"top.core.layer0": 1, "top.core.argmax": 1}},
    "\\top.core.layer0": {"num_cells_by_type": {"SB_LUT4": 7, "top.core.layer0.sub": 2}},
    "\\top.core.layer0.sub": {"num_cells_by_type": {"SB_LUT4": 1}},
    "\\top.core.argmax": {"num_cells_by_type": {"SB_LUT4": 3, "SB_CARRY": 2}},
}}


def test_classify():
    assert classify_cell("SB_LUT4", "ice40") == "lut"
    assert classify_cell("CCU2C", "ecp5") == "carry"
    assert classify_cell("LUT6", "xc7") == "lut" and classify_cell("FDRE", "xc7") == "ff"
    assert classify_cell("$lut", "generic") == "lut"
    assert classify_cell("SB_MAC16", "ice40") == "other"


def test_instances_and_totals():
    from flows.stat import module_cells
    inst = instance_counts(module_cells(STAT), "top")
    assert inst["top.core.layer0.sub"] == 2
    res, cells = design_resources(STAT, "ice40", "top")
    assert res["lut"] == 4 + 7 + 2 + 3 and res["carry"] == 2 and res["ff"] == 2
    assert "$scopeinfo" not in cells


def test_stages():
    st = stage_counts(STAT, "ice40", "top", "top.core")
    assert st["io"]["lut"] == 4 and st["layer0"]["lut"] == 9 and st["argmax"]["carry"] == 2
    assert st["core"]["lut"] == 0


def test_parse_text_stat():
    log = """
3. Printing statistics.

=== top ===

        4 ports
       27 cells
        3   SB_CARRY
        4   SB_DFFSR
       20   SB_LUT4
        2   $scopeinfo
"""
    assert parse_text_stat(log) == Counter({"SB_LUT4": 20, "SB_DFFSR": 4, "SB_CARRY": 3})


def test_table_without_hardware_cells_is_zero_not_an_error():
    """A core of constants synthesises to a module whose stat table lists only $scopeinfo."""
    log = """
6. Printing statistics.

=== lgn_core ===

        3 wires
        3 ports
        2 cells
        2   $scopeinfo
"""
    assert parse_text_stat(log) == Counter()
    import pytest

    from flows.stat import StatError
    with pytest.raises(StatError, match="no 'stat' report"):
        parse_text_stat("no statistics here")
