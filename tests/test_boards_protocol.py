"""boards.protocol: framing round trips and clear errors."""

import pytest

from boards.protocol import (CLASSIFY, RESULT, Geometry, ProtocolError, decode_info,
                             decode_result, encode_request, netlist_digest)
from lgn_hw.netlist import random_netlist


def test_geometry_and_request():
    g = Geometry.of(input_width=20, classes=3, count_width=9)
    assert (g.payload_bytes, g.count_bytes, g.result_len) == (3, 2, 8)
    assert encode_request(0x0A0B0C, g) == bytes([CLASSIFY, 0x0C, 0x0B, 0x0A])
    with pytest.raises(ValueError):
        encode_request(1 << 24, g)


def test_decode():
    g = Geometry(1, 2, 2)
    assert decode_result(bytes([RESULT, 1, 5, 0, 0x10, 1]), g) == (1, [5, 0x110])
    with pytest.raises(ProtocolError, match="expected 6"):
        decode_result(b"\x5a\x01", g)
    with pytest.raises(ProtocolError, match="0x00"):
        decode_result(bytes(6), g)
    with pytest.raises(ProtocolError, match="no valid info"):
        decode_info(b"")


def test_digest_ignores_meta():
    a = random_netlist(0, 8, [4], 2, 2)
    b = random_netlist(0, 8, [4], 2, 2)
    b.meta = {"note": "x"}
    assert netlist_digest(a) == netlist_digest(b) != netlist_digest(random_netlist(1, 8, [4], 2, 2))
