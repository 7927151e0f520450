"""Pipeline bookkeeping: which stage a logic level belongs to, and delay lines between stages.

A design is cut into *levels* (one logic layer, one compressor stage, one comparator level: about
one LUT deep each). With ``every = k`` a register boundary follows every k-th level and the last
level of a block, so level ``j`` (1-based) is computed combinationally in stage ``(j - 1) // k`` and
a block of ``D`` levels has latency ``ceil(D / k)``. A value computed in stage ``s`` and read in
stage ``t >= s`` passes through ``t - s`` registers; :class:`Delays` builds those registers lazily
and shares them between readers (so a skip connection is delayed once, not once per reader).
With ``every = None`` everything is combinational and every latency is 0.
"""

from __future__ import annotations

from amaranth.hdl import Const, Signal, Value

__all__ = ["HEAD", "check_every", "parse_every", "describe_every", "click_every", "level_stage", "block_latency", "Delays"]


#: ``pipeline_every="head"``: one register stage only, on the GroupSum counts (see rtl/core.py).
HEAD = "head"


def check_every(every):
    """Validate a ``pipeline_every`` argument: None, an int >= 1, or ``"head"``."""
    if every is None or every == HEAD:
        return every
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"pipeline_every must be None, an integer >= 1 or 'head', got {every!r}")
    return every


def parse_every(text):
    """A command-line ``--pipeline-every`` value: ``K`` (an integer >= 1) or ``head``."""
    if text is None or text == HEAD:
        return text
    try:
        k = int(text)
    except (TypeError, ValueError):
        k = 0
    if k < 1:
        raise ValueError(f"expected an integer >= 1 or 'head', got {text!r}")
    return k


def level_stage(level: int, every) -> int:
    """Stage in which 1-based ``level`` is computed (level 0: the block's inputs, stage 0)."""
    if every is None or level <= 0:
        return 0
    return (level - 1) // every


def block_latency(levels: int, every) -> int:
    """Cycles through a block of ``levels`` levels (its outputs are registered when pipelined)."""
    if every is None or levels <= 0:
        return 0
    return -(-levels // every)


class Delays:
    """Lazily built, shared delay lines in the ``sync`` domain of module ``m``.

    ``at(value, produced, wanted)`` returns ``value`` (computed in stage ``produced``) as seen in
    stage ``wanted``. Data registers are ``reset_less``: only the valid chain needs a reset.
    """

    def __init__(self, m, prefix: str = "d"):
        self.m = m
        self.prefix = prefix
        self._chains: dict = {}  # id(value) -> (value, [delayed by 1, delayed by 2, ...])
        self.n_registers = 0  # flip-flop bits created

    def at(self, value, produced: int, wanted: int):
        d = wanted - produced
        if d < 0:
            raise ValueError(f"value from stage {produced} read in earlier stage {wanted}")
        if d == 0:
            return value
        value = Value.cast(value)
        if isinstance(value, Const):
            return value
        key = id(value)
        if key not in self._chains:
            self._chains[key] = (value, [])
        origin, chain = self._chains[key]
        while len(chain) < d:
            prev = chain[-1] if chain else origin
            name = f"{self.prefix}_{getattr(origin, 'name', 'v')}_p{len(chain) + 1}"
            reg = Signal(origin.shape(), name=name, reset_less=True)
            self.m.d.sync += reg.eq(prev)
            self.n_registers += len(reg)
            chain.append(reg)
        return chain[d - 1]

    def shift(self, value, cycles: int, reset: bool = False):
        """A fresh delay line of ``cycles`` registers (with reset when ``reset``), not shared."""
        out = Value.cast(value)
        for i in range(cycles):
            reg = Signal(out.shape(), name=f"{self.prefix}_shift{i + 1}", reset_less=not reset)
            self.m.d.sync += reg.eq(out)
            self.n_registers += len(reg)
            out = reg
        return out


def describe_every(every) -> str:
    """A ``pipeline_every`` value in words, for messages and tables."""
    if every is None:
        return "combinational"
    if every == HEAD:
        return "register stage on the class counts"
    return f"registers every {every} levels"


def click_every():
    """A click parameter type for ``--pipeline-every`` / ``--pipeline``: K >= 1, or ``head``."""
    import click

    class Every(click.ParamType):
        name = "K|head"

        def convert(self, value, param, ctx):
            try:
                return parse_every(value if value is None or value == HEAD else str(value))
            except ValueError as e:
                self.fail(str(e), param, ctx)

    return Every()
