"""A serial port whose other end is the Amaranth simulation of the real UART design.

``SimSerial(top)`` takes a ``UartTop`` (the same wrapper that goes on a board, with the real core)
and offers the part of pyserial's interface the host client uses: ``write``, ``read``, ``flush``,
``reset_input_buffer``, ``close``. Bytes written are driven onto the simulated ``rx`` pin bit by
bit (8N1 at the wrapper's divisor); the simulated ``tx`` pin is decoded back into bytes. Only the
wire is emulated: the bytes are produced by the simulated hardware. ``read`` waits in simulated
time; it gives up after ``idle_bytes`` byte-times without new data (pyserial's timeout).
"""

from __future__ import annotations

from collections import deque

from amaranth.sim import Simulator

__all__ = ["SimSerial"]

_PERIOD = 1e-6   # simulated clock period in seconds (the value is irrelevant to the logic)


class SimSerial:
    def __init__(self, top, *, idle_bytes: int = 64):
        self.top = top
        self.divisor = top.divisor
        self.idle_bytes = idle_bytes
        self.timeout = None
        self.is_open = True
        self._to_board: deque[int] = deque()
        self._from_board: deque[int] = deque()
        self._cycles = 0
        self.framing_errors = 0
        sim = Simulator(top)
        sim.add_clock(_PERIOD)
        sim.add_testbench(self._drive_rx, background=True)
        sim.add_testbench(self._watch_tx, background=True)
        self._sim = sim

    # -- simulated wire ------------------------------------------------------------------------
    async def _drive_rx(self, ctx):
        d, rx = self.divisor, self.top.rx
        ctx.set(rx, 1)
        while True:
            if not self._to_board:
                await ctx.tick()
                continue
            byte = self._to_board.popleft()
            for level in [0, *((byte >> k) & 1 for k in range(8)), 1]:
                ctx.set(rx, level)
                await ctx.tick().repeat(d)

    async def _watch_tx(self, ctx):
        d, tx = self.divisor, self.top.tx
        while True:
            if ctx.get(tx):
                await ctx.negedge(tx)                # start bit (tx changes after a clock edge)
            await ctx.tick().repeat(d // 2)          # middle of the start bit
            byte = 0
            for k in range(8):
                await ctx.tick().repeat(d)
                byte |= ctx.get(tx) << k
            await ctx.tick().repeat(d)
            if ctx.get(tx) != 1:
                self.framing_errors += 1
            self._from_board.append(byte)

    def _run(self, cycles: int) -> None:
        self._cycles += cycles
        self._sim.run_until(self._cycles * _PERIOD)

    # -- pyserial-like interface ---------------------------------------------------------------
    @property
    def cycles(self) -> int:
        """Simulated clock cycles so far."""
        return self._cycles

    def write(self, data: bytes) -> int:
        if not self.is_open:
            raise OSError("port is closed")
        self._to_board.extend(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        self._from_board.clear()

    def read(self, size: int = 1) -> bytes:
        if not self.is_open:
            raise OSError("port is closed")
        byte_time = 10 * self.divisor
        idle = 0
        while len(self._from_board) < size and idle < self.idle_bytes:
            before = len(self._from_board)
            pending = len(self._to_board)
            self._run(byte_time)
            idle = 0 if (len(self._from_board) > before or self._to_board or pending) else idle + 1
        n = min(size, len(self._from_board))
        return bytes(self._from_board.popleft() for _ in range(n))

    def close(self) -> None:
        self.is_open = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
