"""The compare-first C encoder: each sample's comparisons first, then bit-sliced.

The bit-plane encoder (:mod:`lgn_hw.export.c`) transposes every bit of every raw feature the logic
reads (8 planes per ``uint8_t`` pixel) and computes each encoded bit from its feature's planes.
When the logic reads fewer encoded bits than it would transpose raw bits (a few thresholds per
feature, as for MNIST), comparing first is cheaper: for each sample, 64 comparisons at a time
give one 64-bit *comparison word* (bit ``i``: ``lo[i] <= x[f0 + i] <= hi[i]``, XOR an inversion
bit), with contiguous features so that a compiler (or, for one-byte feature types, the optional
AVX-512BW / AVX2 paths) compares many features per instruction; then one 64 x 64 bit transpose
per word turns 64 samples' words into the logic's input words. Every kind but ``bits`` (an input
plane, nothing to compare) is such an interval: ``x >= k`` is ``[k, max]``, ``x == v`` is
``[v, v]``, ``x != 0`` is ``[1, max]`` for an unsigned type and not ``[0, 0]`` for a signed one.
Semantics are those of :mod:`lgn_hw.export.encoder`, bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .cnames import ExportError, c_int, c_list

__all__ = ["CompareWord", "compare_words", "choose_encoder", "emit_compare", "ENCODERS"]

#: ``render_c(encoder=...)``: ``auto`` takes the cheaper of the two for the bits the logic reads
ENCODERS = ("auto", "compare", "planes")
#: comparison words computed per sweep over a block's rows (their buffer: 8 x BATCH x BLOCK bytes)
BATCH = 8


@dataclass
class CompareWord:
    """Up to 64 comparisons of contiguous features ``f0 .. f0 + len(lo) - 1`` of one sample, and
    the encoded bit of each one the logic reads: ``puts = [(bit in word, encoded bit)]``."""

    f0: int
    lo: list
    hi: list
    inv: int = 0
    puts: list = field(default_factory=list)


def _intervals(plan) -> dict:
    """``bit -> (feature, lo, hi, inverted)`` for every encoded bit that is a comparison."""
    out = {b: (f, k, plan.type_max, 0) for b, f, k in plan.ge}
    out.update({b: (f, v, v, 0) for b, f, v in plan.eq})
    for b, f in plan.nz:
        out[b] = (f, 0, 0, 1) if plan.signed else (f, 1, plan.type_max, 0)
    return out


def compare_words(plan, live: list):
    """The comparison words of the encoded bits ``live``, or None when one of them is not a
    comparison (a ``bits`` plane). The ``t``-th live comparison of each feature goes to plane
    ``t``; a plane is cut into words of 64 features (only the words that hold a live bit are kept;
    the last one shifted to end at the row's end, so that every word of a row of 64 or more
    features is 64 wide and reads only its row); an unused column compares against an empty
    interval."""
    iv = _intervals(plan)
    if any(b not in iv for b in live):
        return None
    rank, planes = {}, []
    for b in live:
        f, lo, hi, inv = iv[b]
        t = rank.get(f, 0)
        rank[f] = t + 1
        while len(planes) <= t:
            planes.append({})
        planes[t][f] = (lo, hi, inv, b)
    words = []
    n_f = plan.n_features
    for cols in planes:
        for g in range(0, n_f, 64):
            used = [f for f in range(g, min(n_f, g + 64)) if f in cols]
            if not used:
                continue
            f0 = min(g, max(0, n_f - 64))  # the last word ends at the row's end: always 64 wide
            width = min(64, n_f - f0)
            w = CompareWord(f0, [plan.type_max] * width, [plan.type_min] * width)
            for f in used:
                lo, hi, inv, b = cols[f]
                w.lo[f - f0], w.hi[f - f0] = lo, hi
                w.inv |= inv << (f - f0)
                w.puts.append((f - f0, b))
            words.append(w)
    return words


def choose_encoder(choice: str, words, n_plane_blocks: int) -> str:
    """``compare`` or ``planes``: ``auto`` compares first when that needs no more transposes."""
    if choice not in ENCODERS:
        raise ExportError(f"encoder {choice!r}: expected one of {', '.join(ENCODERS)}")
    if choice == "compare" and words is None:
        raise ExportError("encoder 'compare': a bit the logic reads is a bit plane (kind 'bits'), "
                          "not a comparison")
    if choice == "auto":
        return "compare" if words and len(words) <= n_plane_blocks else "planes"
    return choice


def emit_compare(words, plan, p: str, name: str, template: str) -> str:
    """Tables, the fixed ``template`` (one word's comparisons, the transposes), a batch function
    per 8 words (:func:`_emit_batch`) and ``PREFIX_<name>(x, m, in)``."""
    P = p.upper()
    if not words:  # the logic reads no input bit: nothing to compare (and no unused functions)
        return (f"static void {p}_{name}(const {p}_feature_t *x, size_t m, {p}_lanes *in)\n{{\n"
                "    (void)x;\n    (void)m;\n    (void)in;\n}\n")
    lo = [c_int(v) for w in words for v in w.lo + [plan.type_max] * (64 - len(w.lo))]
    hi = [c_int(v) for w in words for v in w.hi + [plan.type_min] * (64 - len(w.hi))]
    inv = [f"{w.inv:#x}ull" for w in words]
    out = [f"#define {P}_N_CW {max(1, len(words))} /* comparison words */",
           f"static const uint32_t {p}_cw_f0[{P}_N_CW] = {{{c_list(w.f0 for w in words)}}};",
           f"static const uint8_t {p}_cw_nf[{P}_N_CW] = {{{c_list(len(w.lo) for w in words)}}};",
           f"static const uint64_t {p}_cw_inv[{P}_N_CW] = {{{c_list(inv, 6)}}};",
           f"static const {p}_feature_t {p}_cw_lo[64 * {P}_N_CW] = {{{c_list(lo)}}};",
           f"static const {p}_feature_t {p}_cw_hi[64 * {P}_N_CW] = {{{c_list(hi)}}};",
           template.replace("@SIGNED@", str(int(plan.signed)))
           .replace("@FEATURE_BYTES@", str(plan.width // 8))]
    body = []
    for q0 in range(0, len(words), BATCH):
        batch = words[q0:q0 + BATCH]
        out.append(_emit_batch(p, q0, len(batch)))
        body.append(f"    {p}_cmp_batch_{q0 // BATCH}(x, m, cw);")
        for i, w in enumerate(batch):
            body.append(f"    {p}_cmp_planes(cw[{i}], a);")
            body += [f"    in[{b}].w = a[{c}].w;" for c, b in w.puts]
    out.append(f"/* Encode m samples: the bits the logic reads, compared first. */\n"
               f"static void {p}_{name}(const {p}_feature_t *x, size_t m, {p}_lanes *in)\n{{\n"
               f"    uint64_t cw[{BATCH}][{P}_BLOCK];\n    {p}_lanes a[64];\n"
               + "\n".join(body) + "\n}\n")
    return "\n".join(out)


def _emit_batch(p: str, q0: int, nq: int) -> str:
    """``PREFIX_cmp_batch_K(x, m, cw)``: words ``q0 .. q0 + nq - 1`` of the block's m samples,
    ``cw[q - q0][s]`` (zero past the last sample). The word numbers are constants, so the compiler
    keeps each word's bounds in registers across the samples; the first batch reads each row first
    and fetches the rows ``PREFIX_CMP_AHEAD`` samples ahead."""
    P = p.upper()
    ahead = (f"        if (s + {P}_CMP_AHEAD < m) /* rows are read in order: fetch a few ahead */\n"
             f"            for (b = 0; b < sizeof(*x) * {P}_N_FEATURES; b += 64)\n"
             f"                {P}_PREFETCH((const char *)(r + {P}_CMP_AHEAD * {P}_N_FEATURES) + b);\n"
             if q0 == 0 else "")
    words = "\n".join(f"        cw[{i}][s] = {p}_cmp_word(r, {q0 + i});" for i in range(nq))
    zeros = " ".join(f"cw[{i}][s] = 0;" for i in range(nq))
    return (f"static void {p}_cmp_batch_{q0 // BATCH}(const {p}_feature_t *x, size_t m, "
            f"uint64_t (*cw)[{P}_BLOCK])\n{{\n    size_t s{', b' if q0 == 0 else ''};\n"
            f"    for (s = 0; s < m; s++) {{\n"
            f"        const {p}_feature_t *r = x + s * {P}_N_FEATURES;\n{ahead}{words}\n    }}\n"
            f"    for (; s < {P}_BLOCK; s++) {{\n        {zeros}\n    }}\n}}\n")
