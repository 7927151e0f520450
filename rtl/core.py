"""The LGN core: a Netlist as one Amaranth component (see docs/hardware.md for the interface).

``LGNCore(netlist, *, raw_inputs=False, pipeline_every=None, optimize=True, popcount=DEFAULT,
resynth=None, argmax=DEFAULT, head_cells=None)`` optimises the netlist (``.netlist``, ``.stats``;
with ``resynth=k`` also collapses gates into their readers while they fit k-input LUTs,
``lgn_hw.resynth``), then instantiates one named submodule per stage so that Yosys keeps the hierarchy visible: ``encoder`` (raw inputs only;
only the bits some gate or the head reads are built; with ``head_cells`` the small ones share
dual-output LUTs), ``layer0`` .. ``layer<L-1>``, ``groupsum``
(holding ``popcount0`` .. ``popcount<C-1>``) and ``argmax``.

Ports: ``bits: In(n_inputs)`` or ``features: In(StructLayout f0..f<F-1>)``;
``counts: Out(ArrayLayout(unsigned(count_width), C))``; ``cls: Out(index_width(C))``; when pipelined
also ``valid_in: In(1)`` / ``valid_out: Out(1)`` (``sync`` domain, one sample per clock,
``.latency`` cycles from input to output). ``pipeline_every="head"`` is the cheapest pipelined
form: the logic, popcounts and argmax stay combinational and the only register stage holds the
class counts (C x count_width flip-flops, latency 1), which roughly halves the longest path;
registers every K levels instead cut the path K levels deep but register every signal crossing
a cut (hundreds of flip-flops for a layer), too many for a full iCE40 UP5K. Skip connections (a gate or a group reading a signal
from before the previous layer) are delayed through shared registers so every operand of a stage
belongs to the same sample.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.data import ArrayLayout
from amaranth.lib.wiring import In, Out

from .argmax import DEFAULT as ARGMAX_DEFAULT
from .argmax import Argmax, index_width
from .encoder import EncoderError, InputEncoder, feature_shape
from .groupsum import GroupSum
from .layer import LutLayer
from .pipeline import HEAD, Delays, block_latency, check_every, level_stage
from .popcount import DEFAULT, check_registered

__all__ = ["LGNCore", "EncoderError"]


def _quiet(elaboratable):
    """Silence Amaranth's "created but never used" warning: a core is also built only to query
    ``.latency`` / ``.describe()``."""
    elaboratable._MustUse__silence = True
    return elaboratable


class LGNCore(wiring.Component):
    """Hardware computing ``Netlist.evaluate`` (counts and predicted class) for one sample."""

    def __init__(self, netlist, *, raw_inputs: bool = False, pipeline_every=None,
                 optimize: bool = True, popcount: str = DEFAULT, lut_cells=None,
                 resynth: int | None = None, argmax: str = ARGMAX_DEFAULT, head_cells=None):
        _quiet(self)
        self.pipeline_every = check_every(pipeline_every)
        check_registered(popcount, self.pipeline_every)  # before any work: one line
        if raw_inputs and netlist.encoding is None:
            raise EncoderError("this netlist has no encoding, so the core cannot take raw "
                               "inputs (build it without --raw-inputs)")
        self.source = netlist
        self.resynth = None if resynth is None else int(resynth)
        if optimize and self.resynth is not None:
            from lgn_hw.resynth import resynthesize

            net, stats = resynthesize(netlist, self.resynth)
            stats = dict(net.meta["optimize"], **stats, optimized=True)
        elif optimize:
            from lgn_hw.optimize import optimize as optimize_netlist

            net, stats = optimize_netlist(netlist)
            stats = dict(stats, optimized=True)
        else:
            net = netlist
            stats = {"optimized": False, "gates_in": net.n_gates, "gates_out": net.n_gates,
                     "layers_in": len(net.layers), "layers_out": len(net.layers)}
        self.netlist, self.stats = net, stats
        self.raw_inputs = bool(raw_inputs)
        self.popcount = popcount
        self.lut_cells = lut_cells
        self.head_register = self.pipeline_every == HEAD
        every = None if self.head_register else self.pipeline_every
        self._every = every
        offs = net.layer_offsets
        self.layer_modules = [_quiet(LutLayer(layer.fan_in, layer.inputs, layer.tables, offs[i],
                                                     cells=lut_cells))
                              for i, layer in enumerate(net.layers)]
        read = {int(s) for layer in net.layers for s in layer.inputs.reshape(-1)}
        read |= {int(s) for g in net.head.groups for s in g}
        self.encoder = (_quiet(InputEncoder(net.encoding, used=read & set(range(net.n_inputs)),
                                            cells=head_cells))
                        if self.raw_inputs else None)
        if self.encoder is not None and self.encoder.n_bits != net.n_inputs:
            raise EncoderError(f"the encoding makes {self.encoder.n_bits} bits but the netlist "
                               f"has {net.n_inputs} inputs")
        self.head_stage = block_latency(len(net.layers), every)
        self.groupsum = _quiet(GroupSum(net.head.groups, net.head.offsets, strategy=popcount,
                                        every=every, cells=head_cells))
        for pc in self.groupsum.popcounts:
            _quiet(pc)
        self.argmax_strategy, self.head_cells = argmax, head_cells
        self.argmax = _quiet(Argmax(net.head.classes, self.groupsum.width, every=every,
                                    strategy=argmax, cells=head_cells))
        self.latency = self.head_stage + self.groupsum.latency + self.argmax.latency
        self.latency += 1 if self.head_register else 0
        # a pipelined core always registers something (its outputs at least): it has a clock
        self.extra_stage = 1 if every is not None and self.latency == 0 else 0
        self.latency += self.extra_stage
        self.count_width = self.groupsum.width
        self.classes = net.head.classes
        members = {}
        if self.raw_inputs:
            members["features"] = In(self.encoder.layout)
        else:
            members["bits"] = In(net.n_inputs)
        members["counts"] = Out(ArrayLayout(self.count_width, self.classes))
        members["cls"] = Out(index_width(self.classes))
        if self.pipeline_every is not None:
            members["valid_in"] = In(1)
            members["valid_out"] = Out(1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        net = self.netlist
        delays = Delays(m, "skip")
        if self.raw_inputs:
            m.submodules.encoder = self.encoder
            m.d.comb += self.encoder.features.eq(self.features)
            bits = self.encoder.bits
        else:
            bits = self.bits
        # one Value per global signal, created once (Delays shares registers by identity); slices
        # rather than named wires: every extra signal costs a delta cycle in Amaranth's simulator
        bits = Value.cast(bits)
        wires = [bits[k] for k in range(net.n_inputs)]
        stage = [0] * net.n_inputs
        for li, lm in enumerate(self.layer_modules):
            m.submodules[f"layer{li}"] = lm
            here = level_stage(li + 1, self._every)
            lm.attach(delays.at(wires[s], stage[s], here) for s in lm.reads)
            wires.extend(lm.o)
            stage.extend([here] * lm.n_gates)
        gs, am = self.groupsum, self.argmax
        m.submodules.groupsum = gs
        m.submodules.argmax = am
        gs.attach(delays.at(wires[s], stage[s], self.head_stage) for s in gs.reads)
        if self.head_register:  # the one register stage: the class counts
            counts = Signal(len(gs.counts.as_value()), name="counts_q")
            m.d.sync += counts.eq(gs.counts.as_value())
            m.d.comb += [am.counts.eq(counts), self.counts.eq(counts), self.cls.eq(am.index)]
        else:
            m.d.comb += am.counts.eq(gs.counts)
            out = am.latency + self.extra_stage
            m.d.comb += self.counts.eq(delays.at(gs.counts.as_value(), 0, out))
            m.d.comb += self.cls.eq(delays.at(am.index, am.latency, out))
        if self.pipeline_every is not None:
            m.d.comb += self.valid_out.eq(delays.shift(self.valid_in, self.latency, reset=True))
        self.n_pipeline_registers = delays.n_registers
        return m

    def describe(self) -> dict:
        """Ports, widths, latency and gate counts: the JSON sidecar's content."""
        net = self.netlist
        ports = []
        if self.raw_inputs:
            fields, offset = [], 0
            for i, f in enumerate(self.encoder.feature_list):
                shape = feature_shape(f)
                fields.append({"field": f"f{i}", "name": f.name if hasattr(f, "name") else f["name"],
                               "offset": offset, "width": shape.width, "signed": shape.signed})
                offset += shape.width
            ports.append({"name": "features", "dir": "in", "width": offset, "fields": fields})
        else:
            ports.append({"name": "bits", "dir": "in", "width": net.n_inputs})
        ports.append({"name": "counts", "dir": "out", "width": self.count_width * self.classes,
                      "count_width": self.count_width, "classes": self.classes,
                      "layout": "class c at bits [c*count_width, (c+1)*count_width)"})
        ports.append({"name": "cls", "dir": "out", "width": index_width(self.classes)})
        if self.pipeline_every is not None:
            ports = [{"name": "clk", "dir": "in", "width": 1},
                     {"name": "rst", "dir": "in", "width": 1}] + ports
            ports.append({"name": "valid_in", "dir": "in", "width": 1})
            ports.append({"name": "valid_out", "dir": "out", "width": 1})
        return {
            "ports": ports,
            "latency": self.latency,
            "pipeline_every": self.pipeline_every,
            "raw_inputs": self.raw_inputs,
            "popcount": self.popcount,
            "lut_cells": None if self.lut_cells is None else str(self.lut_cells),
            "resynth": self.resynth,
            "argmax": self.argmax_strategy,
            "head_cells": None if self.head_cells is None else str(self.head_cells),
            "classes": self.classes,
            "n_inputs": net.n_inputs,
            "gates_before": int(self.source.n_gates),
            "gates_after": int(net.n_gates),
            "layers_before": len(self.source.layers),
            "layers_after": len(net.layers),
            "layer_widths": [len(layer) for layer in net.layers],
            "layer_fan_ins": [layer.fan_in for layer in net.layers],
            "group_sizes": [len(g) for g in net.head.groups],
            "offsets": [int(o) for o in net.head.offsets],
            "optimize": {k: v if isinstance(v, bool) else int(v) for k, v in self.stats.items()},
        }
