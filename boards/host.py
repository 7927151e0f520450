"""The host side of the UART protocol: classify samples on a board (or its simulation).

``BoardClient(port)`` wraps any pyserial-like object (``serial.Serial`` or ``SimSerial``):
``info()`` reads the board's geometry and netlist digest, ``classify(payload)`` sends one sample
and returns ``(class, counts)``. ``run_vectors`` classifies a set of test vectors, compares every
answer with ``Netlist.evaluate`` and measures the samples per second the link achieved.
``open_port`` turns a ``--port`` argument into a port: a device path for pyserial, or ``sim`` for
the Amaranth simulation of the board design.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .protocol import INFO, INFO_LEN, Geometry, ProtocolError, decode_info, decode_result, \
    encode_request

__all__ = ["BoardClient", "RunResult", "run_vectors", "open_port"]


class BoardClient:
    def __init__(self, port, geometry: Geometry | None = None):
        self.port = port
        self.geometry = geometry

    def info(self) -> tuple[Geometry, bytes]:
        self.port.reset_input_buffer()
        self.port.write(bytes([INFO]))
        self.port.flush()
        geometry, digest = decode_info(self.port.read(INFO_LEN))
        if self.geometry is None:
            self.geometry = geometry
        return geometry, digest

    def classify(self, payload: int) -> tuple[int, list[int]]:
        if self.geometry is None:
            self.info()
        g = self.geometry
        self.port.write(encode_request(payload, g))
        self.port.flush()
        return decode_result(self.port.read(g.result_len), g)


@dataclass
class RunResult:
    n: int = 0
    seconds: float = 0.0
    mismatches: list = field(default_factory=list)   # (sample, expected class, got class)
    correct: int | None = None                          # against labels, when given
    classes: list = field(default_factory=list)         # the board's class for every sample

    @property
    def rate(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else float("inf")


def run_vectors(client: BoardClient, vec, labels=None, *, progress: bool = False) -> RunResult:
    """Classify every vector on the board; compare class and counts with the oracle."""
    from tqdm import tqdm
    res = RunResult()
    correct = 0
    t0 = time.perf_counter()
    for i in tqdm(range(len(vec)), desc="board", unit="sample", disable=not progress,
                  leave=False):
        cls, counts = client.classify(int(vec.inputs[i]))
        res.classes.append(cls)
        exp_cls, exp_counts = int(vec.pred[i]), [int(c) for c in vec.counts[i]]
        if cls != exp_cls or counts != exp_counts:
            res.mismatches.append((i, exp_cls, exp_counts, cls, counts))
        if labels is not None:
            correct += int(cls == int(labels[i]))
        res.n += 1
    res.seconds = time.perf_counter() - t0
    if labels is not None:
        res.correct = correct
    return res


def open_port(spec: str, baud: int, netlist=None, *, raw_inputs: bool = False,
              pipeline_every=None):
    """``sim`` -> a simulated board running ``netlist``; anything else -> ``serial.Serial``."""
    if spec == "sim":
        if netlist is None:
            raise ProtocolError("--port sim needs a netlist to simulate")
        from rtl.core import LGNCore
        from .protocol import netlist_digest
        from .simport import SimSerial
        from .top import UartTop
        core = LGNCore(netlist, raw_inputs=raw_inputs, pipeline_every=pipeline_every)
        top = UartTop(core, divisor=4, digest=netlist_digest(netlist), timeout_cycles=4000)
        return SimSerial(top)
    try:
        import serial
    except ImportError:
        raise ProtocolError("pyserial is not installed: pip install pyserial") from None
    try:
        return serial.Serial(spec, baud, timeout=1.0)
    except serial.SerialException as e:
        raise ProtocolError(f"cannot open serial port {spec!r}: {e}") from None
