"""The serial framing between a host and the UART wrapper (``boards.top``), shared by both sides.

All multi-byte values are little-endian. ``P`` = payload bytes, ``C`` = classes, ``B`` = bytes per
count (``ceil(count_width / 8)``).

* **Classify**: the host sends ``0xA5`` then ``P`` payload bytes: the core's input port value
  (input bit k = bit k%8 of payload byte k//8; with raw inputs, the packed ``features`` port,
  feature f at its field's offset, two's complement of its width). The board answers ``0x5A``,
  the class (1 byte), then ``C`` counts of ``B`` bytes each.
* **Info**: the host sends ``0x3F`` (``?``). The board answers ``0x3F``, ``P`` (2 bytes), ``C``
  (1 byte), ``B`` (1 byte) and the first 4 bytes of the netlist digest (``netlist_digest``), so
  the host can check that the board runs the netlist it thinks it does.
* Bytes outside a frame other than these two commands are ignored. If a classify frame stops
  arriving for longer than the wrapper's timeout (50 ms by default), the partial frame is dropped,
  so a host that lost sync only has to wait and resend.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

__all__ = ["CLASSIFY", "RESULT", "INFO", "INFO_LEN", "Geometry", "ProtocolError",
           "netlist_digest", "encode_request", "decode_result", "decode_info"]

CLASSIFY = 0xA5
RESULT = 0x5A
INFO = 0x3F
INFO_LEN = 9          # INFO, P(2), C, B, digest(4)


class ProtocolError(Exception):
    """The board's answer does not follow the protocol (one-line message)."""


@dataclass(frozen=True)
class Geometry:
    payload_bytes: int
    classes: int
    count_bytes: int

    @property
    def result_len(self) -> int:
        return 2 + self.classes * self.count_bytes

    @classmethod
    def of(cls, input_width: int, classes: int, count_width: int) -> "Geometry":
        return cls((input_width + 7) // 8, classes, (count_width + 7) // 8)


def netlist_digest(netlist) -> bytes:
    """4 bytes identifying a netlist's function-relevant content (layers, head, encoding)."""
    d = netlist.to_dict()
    d.pop("meta", None)
    blob = json.dumps(d, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.blake2b(blob, digest_size=4).digest()


def encode_request(payload: int, geometry: Geometry) -> bytes:
    if payload < 0 or payload.bit_length() > 8 * geometry.payload_bytes:
        raise ValueError(f"payload does not fit {geometry.payload_bytes} bytes")
    return bytes([CLASSIFY]) + payload.to_bytes(geometry.payload_bytes, "little")


def decode_result(frame: bytes, geometry: Geometry) -> tuple[int, list[int]]:
    """``(class, counts)`` from a result frame."""
    if len(frame) != geometry.result_len:
        raise ProtocolError(f"result frame has {len(frame)} bytes, expected "
                            f"{geometry.result_len} (timeout or wrong netlist?)")
    if frame[0] != RESULT:
        raise ProtocolError(f"result frame starts with 0x{frame[0]:02x}, expected "
                            f"0x{RESULT:02x}")
    b = geometry.count_bytes
    counts = [int.from_bytes(frame[2 + c * b: 2 + (c + 1) * b], "little")
              for c in range(geometry.classes)]
    return frame[1], counts


def decode_info(frame: bytes) -> tuple[Geometry, bytes]:
    if len(frame) != INFO_LEN or frame[0] != INFO:
        raise ProtocolError(f"no valid info answer from the board (got {frame.hex() or 'nothing'})"
                            "; is the right bitstream loaded and the baud rate right?")
    geometry = Geometry(int.from_bytes(frame[1:3], "little"), frame[3], frame[4])
    return geometry, bytes(frame[5:9])
