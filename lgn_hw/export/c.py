"""``--lang c``: a netlist as self-contained, bit-sliced C99 (``PREFIX.h``, ``PREFIX.c``, and the
command-line driver ``PREFIX_main.c``).

The logic graph (:mod:`lgn_hw.export.logic`) becomes straight-line code over a word type of
``PREFIX_LANES`` x 64 samples (``uint64_t``, or a GCC/Clang vector of them): one C operator per
graph operation, in the graph's depth-first schedule (few values alive at once), split into
functions of a bounded number of operations (so that the compiler's time stays linear in the
netlist). A value that a later function reads lives in a slot of one
workspace array; slots are reused once their last reader has run, which keeps the working set
small and in cache. The fixed parts (encoder tables and loop, bit-plane extraction, public
functions, driver) are in :mod:`lgn_hw.export.c_templates`; no string of the netlist reaches the
code except through :func:`lgn_hw.export.cnames.c_string`.
"""
from __future__ import annotations

from dataclasses import dataclass

from lgn_hw import __version__

from . import c_driver as D
from . import c_templates as T
from .cnames import DEFAULT_PREFIX, ExportError, c_int, c_list, c_string, check_prefix
from .c_compare import choose_encoder, compare_words, emit_compare
from .encoder import encoder_graph, plan_encoder
from .logic import build

__all__ = ["CExport", "render_c", "count_type", "DEFAULT_CHUNK"]

#: graph operations per generated C function
DEFAULT_CHUNK = 1024
_SYM = {"and": "&", "or": "|", "xor": "^"}


@dataclass
class CExport:
    """The generated files (name -> text) and the operation counts of the program."""

    files: dict
    gate_ops: int
    head_ops: int
    n_slots: int
    n_live_inputs: int
    n_outputs: int  # bit planes the logic writes (class bits, then every class's count bits)
    encoder: str | None = None  # how PREFIX_classify encodes: "compare", "planes" (None: no encoder)


def count_type(netlist) -> str:
    """``int32_t`` when every class count fits, else ``int64_t`` (counts beyond are refused)."""
    top = netlist.head.max_count
    if top < 2 ** 31:
        return "int32_t"
    if top < 2 ** 63:
        return "int64_t"
    raise ExportError(f"head: a class count can reach {top}, beyond a 64-bit integer")


def _emit_logic(graph, outputs, p: str, chunk: int):
    """C code of ``PREFIX_logic(in, out)`` and the number of workspace slots."""
    nodes = graph.nodes
    ops = graph.schedule(outputs)
    chunk_of = {n: i // chunk for i, n in enumerate(ops)}
    n_chunks = (len(ops) + chunk - 1) // chunk
    last = {}
    for n in ops:
        op, a, b = nodes[n]
        for m in ((a, b) if op != "not" else (a,)):
            if m in chunk_of and chunk_of[m] != chunk_of[n]:
                last[m] = max(last.get(m, -1), chunk_of[n])
    for o in outputs:
        if o in chunk_of:
            last[o] = n_chunks
    slot, free, n_slots, releases = {}, [], 0, {}
    for n in ops:  # allocation in order; a slot is free after the chunk that reads it last
        c = chunk_of[n]
        for m in releases.pop(c - 1, ()):
            free.append(slot[m])
        if n in last:
            if free:
                slot[n] = free.pop()
            else:
                slot[n], n_slots = n_slots, n_slots + 1
            releases.setdefault(last[n], []).append(n)

    def ref(m, c):
        op, a, _ = nodes[m]
        if op == "in":
            return f"in[{a}].w"
        return f"t{m}" if chunk_of[m] == c else f"v[{slot[m]}]"

    funcs, calls = [], []
    for c in range(n_chunks):
        body = []
        for n in ops[c * chunk:(c + 1) * chunk]:
            op, a, b = nodes[n]
            if op == "not":
                expr = f"~{ref(a, c)}"
            elif op == "andn":
                expr = f"{ref(a, c)} & ~{ref(b, c)}"
            else:
                expr = f"{ref(a, c)} {_SYM[op]} {ref(b, c)}"
            body.append(f"    const {p}_word t{n} = {expr};")
            if n in slot:
                body.append(f"    v[{slot[n]}] = t{n};")
        funcs.append(f"static void {p}_logic_{c}({p}_word *restrict v, const {p}_lanes *restrict in)\n"
                     "{\n    (void)v;\n    (void)in;\n" + "\n".join(body) + "\n}\n")
        calls.append(f"    {p}_logic_{c}(v, in);")
    stores = []
    for j, o in enumerate(outputs):
        op, a, _ = nodes[o]
        if op == "const":
            stores.append(f"    {p.upper()}_FILL(out[{j}], {'~0ull' if a else '0'});")
        else:
            stores.append(f"    out[{j}].w = {ref(o, n_chunks)};")
    top = (f"/* The logic: {len(ops)} operations over {p.upper()}_LANES x 64 samples. */\n"
           f"static void {p}_logic(const {p}_lanes *in, {p}_lanes *out)\n{{\n"
           f"    {p}_word v[{max(1, n_slots)}];\n    (void)in;\n" + "\n".join(calls) + "\n"
           + ("" if n_slots else "    (void)v;\n") + "\n".join(stores) + "\n}\n")
    return "\n".join(funcs) + "\n" + top, n_slots


def _info(netlist) -> str:
    widths = "x".join(f"{len(layer)}/{layer.fan_in}" for layer in netlist.layers) or "no layers"
    meta = netlist.meta if isinstance(netlist.meta, dict) else {}
    ds = meta.get("dataset")
    ds = ds.get("name") if isinstance(ds, dict) else ds
    text = (f"lgn-hw {__version__} export: {netlist.n_inputs} input bits, layers {widths}, "
            f"{netlist.n_gates} gates, {netlist.n_classes} classes")
    return text + (f", dataset {ds}" if isinstance(ds, str) else "")


def _fill(text: str, p: str, fields: dict) -> str:
    for key, value in fields.items():
        text = text.replace(f"@{key}@", str(value))
    return text.replace("@p@", p).replace("@P@", p.upper())


def render_c(netlist, prefix: str = DEFAULT_PREFIX, chunk: int = DEFAULT_CHUNK,
             encoder: str = "auto") -> CExport:
    """Generate the C export of a (validated) netlist. ``encoder`` (netlists with an encoding):
    how ``PREFIX_classify`` encodes, ``compare`` (:mod:`lgn_hw.export.c_compare`), ``planes``
    (bit planes of the raw features) or ``auto``, the one with fewer transposes."""
    p = check_prefix(prefix)
    netlist.validate()
    ctype = count_type(netlist)
    plan = plan_encoder(netlist.encoding) if netlist.encoding is not None else None
    prog = build(netlist, plan.const if plan else None)
    outputs = list(prog.class_bits)
    base, widths = [], []
    for bits in prog.count_bits:
        base.append(len(outputs))
        widths.append(len(bits))
        outputs += bits
    logic, n_slots = _emit_logic(prog.graph, outputs, p, max(1, int(chunk)))
    fields = {"INFO": c_string(_info(netlist)), "INFO_COMMENT": f"{netlist.n_gates} gates",
              "N_INPUTS": netlist.n_inputs, "N_CLASSES": netlist.n_classes, "COUNT_T": ctype,
              "HAS_ENCODER": int(plan is not None), "LOGIC": logic,
              "COUNT_BASE": ", ".join(map(str, base)), "COUNT_WIDTH": ", ".join(map(str, widths)),
              "N_CLASS_BITS": len(prog.class_bits), "N_OUT": len(outputs),
              "LIVE_IN": c_list(prog.inputs), "N_LIVE": len(prog.inputs)}
    method = None
    if plan is not None:
        method, enc = _encoder_fields(plan, prog.inputs, p, encoder)
        fields.update(enc)
    header = T.HEADER.replace("@ENCODER_API@", T.ENCODER_API if plan else "")
    source = T.RUNTIME.replace("@ENCODER@", T.ENCODER if plan else "")
    files = {f"{p}.h": _fill(header, p, fields), f"{p}.c": _fill(source, p, fields),
             f"{p}_main.c": _driver(netlist, plan, p, fields)}
    return CExport(files, prog.gate_ops, prog.head_ops, n_slots, len(prog.inputs), len(outputs),
                   method)


def _encoder_fields(plan, live: list, p: str, choice: str):
    words = compare_words(plan, live)
    method = choose_encoder(choice, words, len(_per_block(plan, live)[1]))
    if method == "compare":
        enc_live = emit_compare(words, plan, p, "enc_live", T.CMP_WORD)
    else:
        enc_live = _emit_encoder(plan, live, p, "enc_live", "the bits the logic reads")
    return method, {"N_FEATURES": plan.n_features, "FEATURE_T": plan.ctype, "SIGNED": int(plan.signed),
            "NAMES": c_list([c_string(n) for n in plan.names], 4),
            "MINS": c_list([c_int(lo) for lo, _ in plan.ranges]),
            "MAXS": c_list([c_int(hi) for _, hi in plan.ranges]),
            "ROW_WORD": _row_word(plan, p),
            "ENC_LIVE": enc_live,
            "ENC_ALL": _emit_encoder(plan, range(plan.n_bits), p, "enc_all", "every bit")}


def _row_word(plan, p: str) -> str:
    w, per = plan.width, 64 // plan.width
    ut = "u" + plan.ctype.lstrip("u")
    full = " | ".join(f"(uint64_t)({ut})r[f + {k}]" + (f" << {w * k}" if k else "")
                      for k in range(per))
    n_f = f"{p.upper()}_N_FEATURES"
    return (f"/* Features {per} g .. {per} g + {per - 1} of row r in one word, feature k at bit "
            f"{w} k (zero past the row). */\n"
            f"static uint64_t {p}_row_word(const {p}_feature_t *r, size_t g)\n{{\n"
            f"    size_t f = {per} * g, k;\n    uint64_t w = 0;\n"
            f"#if {p.upper()}_LITTLE_ENDIAN\n"
            f"    if (f + {per} <= {n_f}) {{\n        memcpy(&w, r + f, 8);\n        return w;\n    }}\n"
            f"#else\n"
            f"    if (f + {per} <= {n_f})\n        return {full};\n"
            f"#endif\n"
            f"    for (k = 0; f + k < {n_f}; k++)\n"
            f"        w |= (uint64_t)({ut})r[f + k] << ({w} * k);\n    return w;\n}}\n")


def _per_block(plan, bits):
    """``(graph, {block: [(bit, node)]}, [(bit, constant)])``: the encoder graph of ``bits`` and
    its outputs by the block of 64 raw bits (planes) they read."""
    graph, out = encoder_graph(plan, bits)
    outs = sorted(out.items())
    graph, nodes = graph.pruned([n for _, n in outs])
    per_block: dict = {}
    consts = []
    for (bit, _), node in zip(outs, nodes):
        op, a, _ = graph.nodes[node]
        if op == "const":
            consts.append((bit, a))
            continue
        per_block.setdefault(_block_of(graph, node) // 64, []).append((bit, node))
    return graph, per_block, consts


def _emit_encoder(plan, bits, p: str, name: str, what: str) -> str:
    """``PREFIX_<name>(x, m, in)``: the encoded ``bits`` of a block, feature block by block."""
    graph, per_block, const_bits = _per_block(plan, bits)
    consts = [f"    {p.upper()}_FILL(in[{bit}], {'~0ull' if a else '0'});" for bit, a in const_bits]
    body = []
    for blk in sorted(per_block):
        body.append(f"    {p}_planes(x, m, {blk}, a);")
        done: set = set()
        for bit, node in per_block[blk]:
            body += _emit_nodes(graph, node, done, blk, p)
            body.append(f"    in[{bit}].w = {_eref(graph, node, blk)};")
    unused = "" if body else "    (void)x;\n    (void)m;\n    (void)a;\n    (void)in;\n"
    return (f"/* Encode m samples: {what}. */\n"
            f"static void {p}_{name}(const {p}_feature_t *x, size_t m, {p}_lanes *in)\n{{\n"
            f"    {p}_lanes a[64];\n" + unused + "\n".join(consts + body) + "\n}\n")


def _block_of(graph, node) -> int:
    while True:
        op, a, _ = graph.nodes[node]
        if op == "in":
            return a
        node = a


def _eref(graph, node, blk) -> str:
    op, a, _ = graph.nodes[node]
    return f"a[{a - 64 * blk}].w" if op == "in" else f"e{node}"


def _emit_nodes(graph, node, done: set, blk: int, p: str) -> list:
    """Definitions (dependencies first) of the operations ``node`` needs, not yet in ``done``."""
    lines, stack = [], [(node, False)]
    while stack:
        n, ready = stack.pop()
        op, a, b = graph.nodes[n]
        if n in done or op in ("in", "const"):
            continue
        if not ready:
            stack.append((n, True))
            stack += [(m, False) for m in ((a,) if op == "not" else (a, b))]
            continue
        done.add(n)
        if op == "not":
            expr = f"~{_eref(graph, a, blk)}"
        elif op == "andn":
            expr = f"{_eref(graph, a, blk)} & ~{_eref(graph, b, blk)}"
        else:
            expr = f"{_eref(graph, a, blk)} {_SYM[op]} {_eref(graph, b, blk)}"
        lines.append(f"    const {p}_word e{n} = {expr};")
    return lines


def _driver(netlist, plan, p: str, fields: dict) -> str:
    P = p.upper()
    if plan is not None:
        frac = ", ".join(str(-1 if fb is None else fb) for fb in plan.frac_bits)
        f = dict(fields, DRIVER_INPUT=f"{plan.n_features} features (integers; real numbers for a "
                 "feature with a fixed-point map)", N_VALUES=f"{P}_N_FEATURES", PARSE=D.PARSE_RAW,
                 BUF_T=f"{p}_feature_t", BUF_SIZE=f"BATCH * {P}_N_FEATURES", CLEAR="",
                 FRAC_BITS=frac, EVAL=f"{p}_classify(buf, n, cls, counts);")
    else:
        f = dict(fields, DRIVER_INPUT=f"{netlist.n_inputs} input bits (0 or 1)",
                 N_VALUES=f"{P}_N_INPUTS", PARSE=D.PARSE_BITS, BUF_T="uint64_t",
                 BUF_SIZE=f"(size_t){P}_N_INPUTS * (BATCH / 64)",
                 CLEAR="memset(buf, 0, sizeof buf);",
                 EVAL=f"{p}_eval_packed(buf, BATCH, cls, counts);")
    return _fill(_fill(D.DRIVER, p, {"PARSE": f.pop("PARSE")}), p, f)
