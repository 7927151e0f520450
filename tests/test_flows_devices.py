"""flows.devices: target names resolve to parts with capacities."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

from flows.devices import DeviceError, resolve_target


def test_family_defaults():
    assert resolve_target("ice40").name == "ice40-up5k-sg48"
    assert resolve_target("ECP5").capacity["lut"] == 83640
    xc7 = resolve_target("xc7")
    assert xc7.lut_k == 6 and not xc7.has_pnr


def test_generic_lut():
    d = resolve_target("lut6")
    assert d.family == "generic" and d.lut_k == 6
    with pytest.raises(DeviceError, match="2..8"):
        resolve_target("lut9")


def test_gowin_parts():
    assert resolve_target("gowin").name == "gw1nr-9"
    assert resolve_target("gw2a-18").capacity["lut"] == 20736
    assert resolve_target("gowin").has_pnr


def test_unknown():
    with pytest.raises(DeviceError, match="unknown target 'zynq'.*ice40.*gowin"):
        resolve_target("zynq")
