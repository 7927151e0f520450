"""boards.simport + boards.top: bytes on the simulated RX pin, answers from TX = evaluate."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

from boards.host import BoardClient, run_vectors
from boards.protocol import CLASSIFY, netlist_digest
from boards.simport import SimSerial
from boards.top import UartTop
from lgn_hw.netlist import random_netlist
from rtl.core import LGNCore
from rtl.vectors import make_vectors, random_inputs


@pytest.mark.parametrize("every", [None, 1, "head"])
def test_end_to_end(every):
    net = random_netlist(4, 20, [16, 12], 2, 3, offsets=True)
    top = UartTop(LGNCore(net, pipeline_every=every), 4, digest=netlist_digest(net),
                  timeout_cycles=400)
    port = SimSerial(top)
    client = BoardClient(port)
    geometry, digest = client.info()
    assert digest == netlist_digest(net) and geometry.classes == 3
    vec = make_vectors(net, random_inputs(net, 25, 1, raw_inputs=False), raw_inputs=False)
    res = run_vectors(client, vec)
    assert res.n == 25 and res.mismatches == [] and port.framing_errors == 0


def test_partial_frame_times_out():
    net = random_netlist(4, 20, [16, 12], 2, 3)
    top = UartTop(LGNCore(net), 4, timeout_cycles=200)
    port = SimSerial(top, idle_bytes=16)
    port.write(bytes([CLASSIFY, 1]))          # an interrupted frame
    assert port.read(1) == b""                # no answer, the wrapper drops it after 200 cycles
    client = BoardClient(port)
    vec = make_vectors(net, random_inputs(net, 3, 2, raw_inputs=False), raw_inputs=False)
    assert run_vectors(client, vec).mismatches == []
