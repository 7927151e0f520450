"""``--lang hls``: a netlist as C++ for high-level synthesis (``PREFIX_hls.h``, ``PREFIX_hls.cpp``
and the C-simulation testbench ``PREFIX_tb.cpp``).

One top function, one sample per call: ``PREFIX_top(features, &cls, counts)`` with fixed-width
ports (the raw feature type of :mod:`lgn_hw.export.encoder`, or ``bool`` input bits when the
netlist has no encoding), ``#pragma HLS PIPELINE II=1``, every array completely partitioned, the
one loop (the argmax) unrolled, no dynamic memory and no library beyond ``<stdint.h>``. The body is
straight-line: the encoder's comparisons, the gates as the minimised Boolean graph of
:mod:`lgn_hw.export.logic` over ``bool``, each class count as one sum, the argmax with ties to the
lowest class. It is plain C++ (the pragmas are ignored by ordinary compilers), which is how it is
tested here: no vendor HLS tool is available on these machines.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import hls_templates as T
from .c import _fill, _info
from .cnames import DEFAULT_PREFIX, ExportError, c_int, c_string, check_prefix
from .encoder import plan_encoder
from .logic import build_gates

__all__ = ["HLSExport", "render_hls"]

_SYM = {"and": "&", "or": "|", "xor": "^"}


@dataclass
class HLSExport:
    files: dict
    gate_ops: int


def _uint_for(top: int) -> str:
    for bits in (8, 16, 32):
        if top < 2 ** bits:
            return f"uint{bits}_t"
    raise ExportError(f"head: a class count can reach {top}; the HLS export sums counts in 32 bits")


def render_hls(netlist, prefix: str = DEFAULT_PREFIX) -> HLSExport:
    """Generate the HLS C++ export of a (validated) netlist."""
    p = check_prefix(prefix)
    netlist.validate()
    count_t = _uint_for(netlist.head.max_count)
    class_t = _uint_for(netlist.n_classes - 1)
    plan = plan_encoder(netlist.encoding) if netlist.encoding is not None else None
    graph, groups = build_gates(netlist, plan.const if plan else None)

    def ref(n):
        op, a, _ = graph.nodes[n]
        if op == "const":
            return "true" if a else "false"
        return f"i{a}" if op == "in" else f"n{n}"

    body = ["    // the encoder: one comparison per input bit the logic reads" if plan
            else "    // the input bits the logic reads"]
    exprs = _input_exprs(plan)
    for op, a, _ in graph.nodes:
        if op == "in":
            body.append(f"    const bool i{a} = {exprs[a] if plan else f'bits[{a}]'};")
    body.append("    // the gates")
    ops = 0
    for n, (op, a, b) in enumerate(graph.nodes):
        if op in ("const", "in"):
            continue
        ops += 1
        if op == "not":
            expr = f"!{ref(a)}"
        elif op == "andn":
            expr = f"{ref(a)} & !{ref(b)}"
        else:
            expr = f"{ref(a)} {_SYM[op]} {ref(b)}"
        body.append(f"    const bool n{n} = {expr};")
    body.append("    // GroupSum: offset + the class's gates")
    for c, (grp, off) in enumerate(zip(groups, netlist.head.offsets)):
        terms = [str(int(off))] + [f"{ref(n)}" for n in grp]
        body.append(f"    const {p}_count_t c{c} = ({p}_count_t)(" + " + ".join(terms) + ");")
    fields = {"N_INPUTS": netlist.n_inputs, "N_CLASSES": netlist.n_classes, "COUNT_T": count_t,
              "CLASS_T": class_t, "INFO": c_string(_info(netlist)), "BODY": "\n".join(body),
              "COUNTS": ", ".join(f"c{c}" for c in range(netlist.n_classes))}
    if plan is not None:
        fields.update({"PORT_T": f"{p}_feature_t", "N_PORT": f"{p.upper()}_N_FEATURES",
                       "PORT": "features", "FEATURE_T": plan.ctype,
                       "N_FEATURES": plan.n_features, "SIGNED": int(plan.signed),
                       "MINS": ", ".join(c_int(lo) for lo, _ in plan.ranges),
                       "MAXS": ", ".join(c_int(hi) for _, hi in plan.ranges),
                       "FRAC_BITS": ", ".join(str(-1 if b is None else b) for b in plan.frac_bits)})
        header_extra = T.FEATURE_TYPES
        tb_read = T.TB_READ_FEATURES
    else:
        fields.update({"PORT_T": "bool", "N_PORT": f"{p.upper()}_N_INPUTS", "PORT": "bits"})
        header_extra = ""
        tb_read = T.TB_READ_BITS
    header = T.HEADER.replace("@FEATURE_TYPES@", header_extra)
    tb = T.TESTBENCH.replace("@READ@", tb_read)
    files = {f"{p}_hls.h": _fill(header, p, fields), f"{p}_hls.cpp": _fill(T.SOURCE, p, fields),
             f"{p}_tb.cpp": _fill(tb, p, fields)}
    return HLSExport(files, ops)


def _input_exprs(plan) -> dict:
    """Input bit -> its comparison on the ``features`` port (constant bits are not listed)."""
    if plan is None:
        return {}
    out = {b: f"features[{f}] >= ({plan.ctype}){c_int(k)}" for b, f, k in plan.ge}
    out.update({b: f"features[{f}] == ({plan.ctype}){c_int(v)}" for b, f, v in plan.eq})
    out.update({b: f"features[{f}] != 0" for b, f in plan.nz})
    out.update({b: f"((features[{f}] >> {p}) & 1) != 0" for b, f, p in plan.plane})
    return out
