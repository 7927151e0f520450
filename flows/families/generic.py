"""Technology-independent k-LUTs: Yosys ``synth -lut k`` (``--target lutK``), synthesis only.

Its parts are made on demand (``lut2`` .. ``lut8``, no capacity); cells are Yosys's own ``$lut``
and internal flip-flops, simulated with ``simcells.v``/``simlib.v`` and proved equivalent to the
RTL without extra models. There is no vendor LUT primitive, so no ``--lut-cells``.
"""

from __future__ import annotations

from .base import Device, Family, FamilyError

__all__ = ["FAMILY", "lut_device"]


def lut_device(k: int) -> Device:
    """The ``lutK`` target: ``synth -lut k``."""
    if not 2 <= k <= 8:
        raise FamilyError(f"lut{k}: LUT size must be 2..8")
    return Device(f"lut{k}", "generic", k, (), {}, f"generic {k}-input LUTs (synth -lut {k})",
                  synth_args=("-lut", str(k)))


FAMILY = Family(
    name="generic",
    description="generic k-input LUTs (Yosys synth -lut k), synthesis only",
    lut_k=6,
    synth="synth -top {top} {args} -flatten",
    cells=((r"\$lut", "lut"),
           (r"\$_(S?DFF|DFFE|SDFFE|SDFFCE|ALDFF|DLATCH|SR)\w*|\$dff|\$adff", "ff"),
           (r"\$mem|\$mem_v2", "bram")),
    sim_models=("simcells.v", "simlib.v"),
    formal="plain",
    parts=(lut_device(6),),
    default_part="lut6",
    default_clock_mhz=12.0,
)
