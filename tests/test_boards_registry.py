"""boards.registry: every board resolves and its platform instantiates without a toolchain."""

import pytest

pytest.importorskip("amaranth")  # hardware tests skip where amaranth is absent (GPU machines)

from boards.registry import BOARDS, BoardError, list_boards, resolve_board


@pytest.mark.parametrize("name", list(BOARDS))
def test_board_smoke(name):
    b = resolve_board(name)
    p = b.make_platform()
    assert b.dev.name == b.device
    if p is not None:
        assert p.default_clk_frequency == b.clk_mhz * 1e6
        assert p.lookup("uart", 0) is not None


def test_aliases_and_errors():
    assert resolve_board("ice40").name == "icebreaker"
    assert resolve_board("arty").synth_only
    with pytest.raises(BoardError, match="unknown board 'zynq'"):
        resolve_board("zynq")
    assert {r["name"] for r in list_boards()} == set(BOARDS)
