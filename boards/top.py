"""The UART I/O wrapper: receive a sample over a serial line, run the core, send the result back.

``UartTop(core, divisor, digest=..., timeout_cycles=...)`` is a component with ports ``rx`` and
``tx`` (plus the ``sync`` domain); ``BoardTop(netlist, ...)`` builds an ``LGNCore`` and a
``UartTop`` for a board, connecting them to the platform's ``uart`` resource and clock. The framing
is ``boards.protocol``. The payload register holds the sample while the core computes: a
combinational core's result is latched the cycle after the last payload byte (so the core's depth
is a register-to-register path that nextpnr times); a pipelined core gets one ``valid_in`` pulse
and its result is latched on ``valid_out``.
"""


from amaranth.hdl import Cat, Const, Elaboratable, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .protocol import CLASSIFY, INFO, RESULT, Geometry
from .uart import UARTRx, UARTTx, check_divisor

__all__ = ["UartTop", "BoardTop", "core_input", "core_geometry"]


def core_input(core):
    """The core's input port (``bits`` or the raw ``features``) as a flat value."""
    members = core.signature.members
    port = core.bits if "bits" in members else core.features
    return port.as_value() if hasattr(port, "as_value") else port


def core_geometry(core) -> Geometry:
    return Geometry.of(len(core_input(core)), core.classes, core.count_width)


class UartTop(wiring.Component):
    """Serial front end for an ``LGNCore`` (already constructed, not yet elaborated)."""

    rx: In(1, init=1)
    tx: Out(1, init=1)

    def __init__(self, core, divisor: int, *, digest: bytes = b"\0\0\0\0",
                 timeout_cycles: int = 600_000):
        self.core = core
        self.divisor = check_divisor(divisor)
        self.geometry = core_geometry(core)
        if self.geometry.classes > 255:
            raise ValueError("the UART protocol carries the class in one byte (at most 255 "
                             "classes)")
        if len(digest) != 4:
            raise ValueError("digest must be 4 bytes")
        self.digest = bytes(digest)
        self.timeout_cycles = max(int(timeout_cycles), 4 * 10 * self.divisor)
        self.pipelined = "valid_in" in core.signature.members
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        g = self.geometry
        core = self.core
        m.submodules.core = core
        m.submodules.uart_rx = rx = UARTRx(self.divisor)
        m.submodules.uart_tx = tx = UARTTx(self.divisor)
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx)]

        payload = Signal(8 * g.payload_bytes)
        inp = core_input(core)
        m.d.comb += inp.eq(payload[:len(inp)])

        b = g.count_bytes
        result = Cat(Const(RESULT, 8), core.cls, Const(0, 8 - len(core.cls)),
                     *[Cat(core.counts[c], Const(0, 8 * b - core.count_width))
                       for c in range(g.classes)])
        info = Cat(Const(INFO, 8), Const(g.payload_bytes, 16), Const(g.classes, 8),
                   Const(b, 8), Const(int.from_bytes(self.digest, "little"), 32))
        out = Signal(max(len(result), len(info)))
        left = Signal(range(max(g.result_len, 9) + 1))
        got = Signal(range(g.payload_bytes + 1))
        idle = Signal(range(self.timeout_cycles + 1))

        m.d.comb += [tx.data.eq(out[:8]), tx.valid.eq(left != 0)]
        with m.If(tx.valid & tx.ready):
            m.d.sync += [out.eq(out >> 8), left.eq(left - 1)]
        if self.pipelined:
            m.d.sync += core.valid_in.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(rx.valid & (left == 0)):
                    with m.If(rx.data == CLASSIFY):
                        m.d.sync += [got.eq(0), idle.eq(0)]
                        m.next = "RECEIVE"
                    with m.Elif(rx.data == INFO):
                        m.d.sync += [out.eq(info), left.eq(9)]
            with m.State("RECEIVE"):
                with m.If(rx.valid):
                    m.d.sync += [payload.eq(Cat(payload[8:], rx.data)), got.eq(got + 1),
                                 idle.eq(0)]
                    with m.If(got == g.payload_bytes - 1):
                        m.next = "RUN"
                with m.Elif(idle == self.timeout_cycles):
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += idle.eq(idle + 1)
            with m.State("RUN"):
                if self.pipelined:
                    m.d.sync += core.valid_in.eq(1)
                    m.next = "WAIT"
                else:
                    m.d.sync += [out.eq(result), left.eq(g.result_len)]
                    m.next = "IDLE"
            if self.pipelined:
                with m.State("WAIT"):
                    with m.If(core.valid_out):
                        m.d.sync += [out.eq(result), left.eq(g.result_len)]
                        m.next = "IDLE"
        return m


class BoardTop(Elaboratable):
    """A board's top level: ``UartTop`` on the platform's ``uart`` resource and default clock."""

    def __init__(self, netlist, *, baud: int = 115200, pipeline_every=None, raw_inputs=False,
                 digest: bytes | None = None, core_options: dict | None = None):
        from rtl.core import LGNCore
        from .protocol import netlist_digest
        self.netlist = netlist
        self.baud = int(baud)
        self.core = LGNCore(netlist, raw_inputs=raw_inputs, pipeline_every=pipeline_every,
                            **(core_options or {}))
        self.digest = digest if digest is not None else netlist_digest(netlist)

    def elaborate(self, platform):
        m = Module()
        clk_hz = int(platform.default_clk_frequency)
        divisor = clk_hz // self.baud
        uart = platform.request("uart", 0)
        m.submodules.lgn = top = UartTop(self.core, divisor, digest=self.digest,
                                         timeout_cycles=clk_hz // 20)
        m.d.comb += [top.rx.eq(uart.rx.i), uart.tx.o.eq(top.tx)]
        return m
