"""The board registry: boards (amaranth-boards platforms) and board-less targets (device only).

Each entry is a short, logic-free declaration. ``--board ice40`` means the iCEBreaker (iCE40
UP5K), ``ecp5`` the ULX3S 85F, ``gowin`` the Tang Nano 9K (GW1NR-9), ``arty`` the Arty A7-35
(Xilinx: synthesis-only reports, since it has no open place & route here). ``clk_mhz`` is the
board's oscillator, the clock the design runs at (no PLL is inserted). Board-less targets name a
device from ``flows.devices`` (``ice40-up5k-sg48``, ``ecp5-85f``, ``gw2a-18``, ...) and run at
the family's default clock (or ``--clock``): a build places the UART wrapper on pins the placer
chooses.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.devices import DEVICES, Device

__all__ = ["Board", "BOARDS", "ALIASES", "BoardError", "resolve_board", "list_boards"]


class BoardError(ValueError):
    """Unknown board name (one-line message listing the known ones)."""


@dataclass(frozen=True)
class Board:
    name: str
    device: str                  # key of flows.devices.DEVICES
    platform: str | None         # "module:Class" in amaranth_boards; None for board-less targets
    clk_mhz: float               # clock the design runs at (board oscillator, or a default)
    description: str
    synth_only: bool = False

    @property
    def dev(self) -> Device:
        return DEVICES[self.device]

    def make_platform(self):
        """An instance of the amaranth-boards platform (None for board-less targets)."""
        if self.platform is None:
            return None
        import importlib
        mod, cls = self.platform.split(":")
        return getattr(importlib.import_module(mod), cls)()


BOARDS: dict[str, Board] = {b.name: b for b in [
    Board("icebreaker", "ice40-up5k-sg48", "amaranth_boards.icebreaker:ICEBreakerPlatform", 12.0,
          "1BitSquared iCEBreaker (iCE40 UP5K), UART over the FTDI"),
    Board("ulx3s-85f", "ecp5-85f", "amaranth_boards.ulx3s:ULX3S_85F_Platform", 25.0,
          "Radiona ULX3S with ECP5 85F, UART over the FTDI"),
    Board("tang-nano-9k", "gw1nr-9", "amaranth_boards.tang_nano_9k:TangNano9kPlatform", 27.0,
          "Sipeed Tang Nano 9K (Gowin GW1NR-9), UART over the BL702 USB bridge"),
    Board("tang-primer-20k", "gw2a-18",
          "amaranth_boards.tang_primer_20k:TangPrimer20kDockPlatform", 27.0,
          "Sipeed Tang Primer 20K on its dock (Gowin GW2A-18), UART over the dock's USB bridge"),
    Board("arty-a7-35", "xc7a35t", "amaranth_boards.arty_a7:ArtyA7_35Platform", 100.0,
          "Digilent Arty A7-35 (Artix-7): synthesis-only reports", synth_only=True),
    *[Board(name, name, None, dev.fam.default_clock_mhz, f"board-less: {dev.description}",
            synth_only=not dev.has_pnr or dev.fam.pnr.pins_required)
      for name, dev in DEVICES.items() if dev.capacity],  # parts of a chip: generic k-LUTs
      # (no datasheet capacity) are synthesis targets (lgn-hw synth --target lutK), no boards
]}

ALIASES = {"ice40": "icebreaker", "ecp5": "ulx3s-85f", "xc7": "arty-a7-35", "arty": "arty-a7-35",
           "ulx3s": "ulx3s-85f", "gowin": "tang-nano-9k"}


def resolve_board(name: str) -> Board:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in BOARDS:
        raise BoardError(f"unknown board {name!r}; known: {', '.join([*ALIASES, *BOARDS])} "
                         f"(`lgn-hw boards` lists them)")
    return BOARDS[key]


def list_boards() -> list[dict]:
    aliases = {}
    for a, b in ALIASES.items():
        aliases.setdefault(b, []).append(a)
    return [{"name": b.name, "aliases": aliases.get(b.name, []), "device": b.device,
             "clock_mhz": b.clk_mhz, "platform": b.platform, "synth_only": b.synth_only,
             "description": b.description} for b in BOARDS.values()]
