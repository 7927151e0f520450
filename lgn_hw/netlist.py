"""The Netlist IR: the contract between training and hardware (docs/netlist.md).

Owns the data model (:class:`Netlist`, :class:`Layer`, :class:`Head`), versioned JSON save/load,
validation with precise one-line errors (:class:`NetlistError`), the format's size limits
(``MAX_*``, docs/netlist.md *Limits*) and the bit-packed evaluator
(64 samples per ``uint64`` word, vectorised over the gates of a layer). The optimisation pass lives
in :mod:`lgn_hw.optimize` (``optimize(netlist)``), which builds on this module; nothing here
imports it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import fixedpoint
from .gates import MAX_FAN_IN, classify_table
from .packed import count_packed, eval_layer_packed, pack_samples
from .untrusted import FileRefused, json_depth, parse_json, read_regular

FORMAT = "lgn-hw-netlist"
#: The version written. Version 2 added the encoding's ``frac_bits`` (fixed-point map of real
#: features) and ``categories`` (names of categorical codes); version 3 the ``bits`` feature kind
#: (bit planes of the raw integer). Version 1 and 2 files load unchanged.
VERSION = 3
#: The versions read.
VERSIONS = (1, 2, 3)

# Limits of the format (docs/netlist.md, *Limits*), checked by load, from_dict and validate: far
# above any network trained here (the largest preset has 48,000 gates), and low enough that every
# tool handles a netlist within them with no integer overflow and in bounded memory.
MAX_FILE_BYTES = 1 << 28       # a netlist file: 256 MiB of JSON
MAX_SIGNALS = 1 << 21          # n_inputs + all gates; also bounds the head's entries and offsets
MAX_CLASSES = 1 << 12          # head.classes
MAX_RAW = fixedpoint.LIMIT     # |lo|, |hi| of encoding ranges and |one-hot values|: 2**53, exact in float64
MAX_META_DEPTH = 64            # nesting of the free-form meta object

# Sample-chunk budget of the evaluator's signal values, in uint64 words (256 MiB).
_VALUES_BUDGET_WORDS = 1 << 25


class NetlistError(ValueError):
    """A netlist that is malformed; the message names the offending field, layer and gate."""


@dataclass
class Layer:
    """``G`` gates of one fan-in: ``inputs[g]`` are signal indices, ``tables[g]`` the truth table."""

    fan_in: int
    inputs: np.ndarray  # int64[G, fan_in]
    tables: np.ndarray  # uint64[G]

    def __post_init__(self):
        self.fan_in = int(self.fan_in)
        self.inputs = np.asarray(self.inputs, dtype=np.int64).reshape(-1, self.fan_in)
        self.tables = np.asarray(self.tables, dtype=np.uint64).reshape(-1)

    def __len__(self):
        return len(self.tables)


@dataclass
class Head:
    """GroupSum: ``count[c] = offsets[c] + sum(value(s) for s in groups[c])``; argmax, ties low."""

    classes: int
    groups: list
    offsets: np.ndarray = None
    tau: float = 1.0

    def __post_init__(self):
        self.classes = int(self.classes)
        self.groups = [np.asarray(g, dtype=np.int64).reshape(-1) for g in self.groups]
        if self.offsets is None:
            self.offsets = np.zeros(self.classes, dtype=np.int64)
        self.offsets = np.asarray(self.offsets, dtype=np.int64).reshape(-1)
        self.tau = float(self.tau)

    @property
    def max_count(self) -> int:
        return max(int(o) + len(g) for o, g in zip(self.offsets, self.groups))


def _fail(path: str, msg: str):
    raise NetlistError(f"{path}: {msg}")


def _show(v, limit: int = 40) -> str:
    """``repr(v)`` cut to ``limit`` characters: a message never echoes a huge value back."""
    r = repr(v)
    return r if len(r) <= limit else f"{r[:limit - 5]}...{r[-2:]}"


def _int(v, path, lo=None, hi=None):
    """``v`` as an int; with bounds, ``lo <= v <= hi`` (which also keeps it inside int64)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        _fail(path, f"expected an integer, got {type(v).__name__} {_show(v)}")
    v = int(v)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        shown = str(v) if abs(v) < 10 ** 30 else f"a {len(str(abs(v)))}-digit number"
        _fail(path, f"must be in {lo}..{hi}, got {shown}")
    return v


def _index(v, path, first, scope) -> int:
    """A signal index read from JSON: an int in ``0..first-1`` (so never beyond int64)."""
    v = _int(v, path)
    if not 0 <= v < first:
        shown = str(v) if abs(v) < 10 ** 30 else f"of {len(str(abs(v)))} digits"
        _fail(path, f"index {shown} out of range ({scope} 0..{first - 1})")
    return v


def _check_raw(v, path) -> None:
    """One raw-feature integer of an encoding (a range end or a one-hot value) within MAX_RAW."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and abs(int(v)) > MAX_RAW:
        _fail(path, f"raw feature values are limited to +-2**53, got {int(v)}"[:200])


def _check_encoding_dict(enc) -> None:
    """Refuse one-hot values beyond MAX_RAW before the encoding builds int64 arrays from them
    (ranges stay Python ints: ``validate`` checks them, after the encoding's own checks)."""
    feats = enc.get("features") if isinstance(enc, dict) else None
    for i, fd in enumerate(feats if isinstance(feats, list) else []):
        if not isinstance(fd, dict):
            continue
        vals = fd.get("values")
        for j, v in enumerate(vals if isinstance(vals, list) else []):
            _check_raw(v, f"encoding.features[{i}].values[{j}]")


def _list(v, path, length=None):
    if not isinstance(v, (list, tuple)):
        _fail(path, f"expected a list, got {type(v).__name__}")
    if length is not None and len(v) != length:
        _fail(path, f"expected {length} entries, got {len(v)}")
    return v


def _table_from_hex(s, n, path) -> int:
    width = max(1, (1 << n) // 4)
    if not isinstance(s, str):
        _fail(path, f"expected a hex string, got {type(s).__name__}")
    if len(s) != width:
        _fail(path, f"table {_show(s)} must have exactly {width} hex digit(s) for fan-in {n}")
    try:
        value = int(s, 16)
    except ValueError:
        _fail(path, f"table {_show(s)} is not hexadecimal")
    if s.lower() != s or s.startswith(("0x", "-", "+")):
        _fail(path, f"table {_show(s)} must be lower-case hex without prefix")
    if value >> (1 << n):
        _fail(path, f"table {_show(s)} has bits beyond the {1 << n} entries of fan-in {n}")
    return value


def _table_to_hex(t, n) -> str:
    width = max(1, (1 << n) // 4)
    return format(int(t), f"0{width}x")


class Netlist:
    """A discretized logic gate network (see docs/netlist.md for every field)."""

    def __init__(self, n_inputs, layers, head, encoding=None, meta=None, *, validate=True):
        self.n_inputs = int(n_inputs)
        self.layers = list(layers)
        self.head = head
        if isinstance(encoding, dict):
            from .encoding import Encoding

            try:
                encoding = Encoding.from_dict(encoding)
            except (ValueError, TypeError, KeyError, OverflowError) as e:
                msg = str(e) if len(str(e)) <= 300 else f"{str(e)[:290]}... (cut)"
                raise NetlistError(msg if msg.startswith("encoding") else f"encoding: {msg}") from None
        self.encoding = encoding
        self.meta = dict(meta or {})
        if validate:
            self.validate()

    # ---------------------------------------------------------------- structure
    @property
    def layer_offsets(self) -> list:
        """First signal index of each layer (and, last, the total number of signals)."""
        offs = [self.n_inputs]
        for layer in self.layers:
            offs.append(offs[-1] + len(layer))
        return offs

    @property
    def n_signals(self) -> int:
        return self.layer_offsets[-1]

    @property
    def n_gates(self) -> int:
        return sum(len(layer) for layer in self.layers)

    @property
    def n_classes(self) -> int:
        return self.head.classes

    def gate_kinds(self) -> dict:
        """How many gates of each kind (const0/const1/pass/not/AND/.../other) the netlist holds."""
        kinds: dict = {}
        for layer in self.layers:
            for t in layer.tables:
                k = classify_table(t, layer.fan_in)
                k = "pass" if k.startswith("pass") else "not" if k.startswith("not") else k
                kinds[k] = kinds.get(k, 0) + 1
        return dict(sorted(kinds.items()))

    # ---------------------------------------------------------------- validation
    def validate(self) -> "Netlist":
        """Check every invariant of docs/netlist.md; raise :class:`NetlistError` naming the field."""
        if not 1 <= self.n_inputs <= MAX_SIGNALS:
            _fail("n_inputs", f"must be in 1..{MAX_SIGNALS}, got {self.n_inputs}")
        if self.n_signals > MAX_SIGNALS:
            _fail("layers", f"{self.n_signals:,} signals (inputs + gates), more than the "
                  f"{MAX_SIGNALS:,} a netlist may have")
        first = self.n_inputs
        for li, layer in enumerate(self.layers):
            p = f"layers[{li}]"
            if not 1 <= layer.fan_in <= MAX_FAN_IN:
                _fail(f"{p}.fan_in", f"must be in 1..{MAX_FAN_IN}, got {layer.fan_in}")
            if layer.inputs.shape != (len(layer.tables), layer.fan_in):
                _fail(f"{p}.inputs", f"shape {layer.inputs.shape} does not match "
                      f"{len(layer.tables)} gates of fan-in {layer.fan_in}")
            bad = np.argwhere((layer.inputs < 0) | (layer.inputs >= first))
            if len(bad):
                g, k = bad[0]
                _fail(f"{p}.inputs[{g}][{k}]", f"index {layer.inputs[g, k]} out of range "
                      f"(layer {li} may read signals 0..{first - 1})")
            over = np.flatnonzero(layer.tables >> np.uint64(1 << layer.fan_in)) \
                if layer.fan_in < 6 else np.array([], dtype=np.int64)
            if len(over):
                _fail(f"{p}.tables[{over[0]}]", f"table has bits beyond the {1 << layer.fan_in} "
                      f"entries of fan-in {layer.fan_in}")
            first += len(layer)
        h = self.head
        if not 1 <= h.classes <= MAX_CLASSES:
            _fail("head.classes", f"must be in 1..{MAX_CLASSES}, got {h.classes}")
        if len(h.groups) != h.classes:
            _fail("head.groups", f"expected {h.classes} groups (one per class), got {len(h.groups)}")
        if sum(len(g) for g in h.groups) > MAX_SIGNALS:
            _fail("head.groups", f"{sum(len(g) for g in h.groups):,} entries in all, more than "
                  f"the {MAX_SIGNALS:,} a head may have")
        for c, g in enumerate(h.groups):
            bad = np.flatnonzero((g < 0) | (g >= first))
            if len(bad):
                _fail(f"head.groups[{c}][{bad[0]}]", f"index {g[bad[0]]} out of range "
                      f"(signals are 0..{first - 1})")
        if h.offsets.shape != (h.classes,):
            _fail("head.offsets", f"expected {h.classes} entries, got {h.offsets.size}")
        if (h.offsets < 0).any():
            _fail("head.offsets", "offsets must be non-negative")
        if (h.offsets > MAX_SIGNALS).any():
            c = int(np.flatnonzero(h.offsets > MAX_SIGNALS)[0])
            _fail(f"head.offsets[{c}]", f"must be in 0..{MAX_SIGNALS}, got {h.offsets[c]}")
        if not (h.tau > 0 and np.isfinite(h.tau)):
            _fail("head.tau", f"must be a positive number, got {h.tau}")
        if self.encoding is not None:
            for i, f in enumerate(self.encoding.features):
                for j, v in enumerate(f.range):
                    _check_raw(v, f"encoding.features[{i}].range[{j}]")
                for j, v in enumerate(f.values if f.values is not None else []):
                    _check_raw(v, f"encoding.features[{i}].values[{j}]")
            if self.encoding.n_bits != self.n_inputs:
                _fail("encoding", f"encodes {self.encoding.n_bits} bits but n_inputs is "
                      f"{self.n_inputs}")
        if json_depth(self.meta, MAX_META_DEPTH) > MAX_META_DEPTH:
            _fail("meta", f"nested more than {MAX_META_DEPTH} levels deep")
        return self

    # ---------------------------------------------------------------- (de)serialisation
    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "n_inputs": self.n_inputs,
            "encoding": None if self.encoding is None else self.encoding.to_dict(),
            "layers": [
                {"fan_in": layer.fan_in, "inputs": layer.inputs.tolist(),
                 "tables": [_table_to_hex(t, layer.fan_in) for t in layer.tables]}
                for layer in self.layers
            ],
            "head": {"classes": self.head.classes,
                     "groups": [g.tolist() for g in self.head.groups],
                     "offsets": self.head.offsets.tolist(), "tau": self.head.tau},
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d) -> "Netlist":
        if not isinstance(d, dict):
            _fail("netlist", f"expected a JSON object, got {type(d).__name__}")
        if d.get("format") != FORMAT:
            _fail("format", f"expected {FORMAT!r}, got {_show(d.get('format'))}")
        version = d.get("version")
        if isinstance(version, bool) or version not in VERSIONS:
            _fail("version", f"unsupported version {_show(version)} (this lgn-hw reads versions "
                  f"{', '.join(map(str, VERSIONS))})")
        for key in ("n_inputs", "layers", "head"):
            if key not in d:
                _fail(key, "missing")
        n_inputs = _int(d["n_inputs"], "n_inputs", 1, MAX_SIGNALS)
        layers, first = [], n_inputs
        for li, ld in enumerate(_list(d["layers"], "layers")):
            p = f"layers[{li}]"
            if not isinstance(ld, dict):
                _fail(p, "expected an object")
            for key in ("fan_in", "inputs", "tables"):
                if key not in ld:
                    _fail(f"{p}.{key}", "missing")
            n = _int(ld["fan_in"], f"{p}.fan_in")
            if not 1 <= n <= MAX_FAN_IN:
                _fail(f"{p}.fan_in", f"must be in 1..{MAX_FAN_IN}, got {n}")
            rows = _list(ld["inputs"], f"{p}.inputs")
            tabs = _list(ld["tables"], f"{p}.tables", len(rows))
            if first + len(rows) > MAX_SIGNALS:
                _fail(f"{p}.inputs", f"{first + len(rows):,} signals (inputs + gates) up to this "
                      f"layer, more than the {MAX_SIGNALS:,} a netlist may have")
            inputs = np.empty((len(rows), n), dtype=np.int64)
            for g, row in enumerate(rows):
                _list(row, f"{p}.inputs[{g}]", n)
                for k, v in enumerate(row):
                    inputs[g, k] = _index(v, f"{p}.inputs[{g}][{k}]", first,
                                          f"layer {li} may read signals")
            first += len(rows)
            tables = np.array([_table_from_hex(s, n, f"{p}.tables[{g}]") for g, s in enumerate(tabs)],
                              dtype=np.uint64)
            layers.append(Layer(n, inputs, tables))
        hd = d["head"]
        if not isinstance(hd, dict):
            _fail("head", "expected an object")
        for key in ("classes", "groups"):
            if key not in hd:
                _fail(f"head.{key}", "missing")
        classes = _int(hd["classes"], "head.classes", 1, MAX_CLASSES)
        glist = _list(hd["groups"], "head.groups")
        if len(glist) != classes:
            _fail("head.groups", f"expected {classes} groups (one per class), got {len(glist)}")
        groups, entries = [], 0
        for c, g in enumerate(glist):
            entries += len(_list(g, f"head.groups[{c}]"))
            if entries > MAX_SIGNALS:
                _fail(f"head.groups[{c}]", f"more than the {MAX_SIGNALS:,} entries a head may have")
            groups.append(np.array([_index(v, f"head.groups[{c}][{i}]", first, "signals are")
                                    for i, v in enumerate(g)], dtype=np.int64))
        offsets = hd.get("offsets", [0] * classes)
        offsets = [_int(v, f"head.offsets[{i}]", 0, MAX_SIGNALS)
                   for i, v in enumerate(_list(offsets, "head.offsets"))]
        tau = hd.get("tau", 1.0)
        if isinstance(tau, bool) or not isinstance(tau, (int, float)):
            _fail("head.tau", f"expected a number, got {type(tau).__name__}")
        if isinstance(tau, int) and abs(tau) > 1 << 53:
            _fail("head.tau", f"must be a positive number of at most 2**53, got {tau}"[:200])
        meta = d.get("meta")
        meta = {} if meta is None else meta
        if not isinstance(meta, dict):
            _fail("meta", "expected an object")
        if json_depth(meta, MAX_META_DEPTH) > MAX_META_DEPTH:
            _fail("meta", f"nested more than {MAX_META_DEPTH} levels deep")
        enc = d.get("encoding")
        if enc is not None and not isinstance(enc, dict):
            _fail("encoding", "expected an object or null")
        _check_encoding_dict(enc)
        if len(offsets) != classes:
            _fail("head.offsets", f"expected {classes} entries, got {len(offsets)}")
        return cls(n_inputs, layers, Head(classes, groups, offsets, tau), enc, meta)

    def save(self, path) -> Path:
        """Write the netlist as JSON, atomically (temp file + rename)."""
        from .atomic import write_text_atomic

        return write_text_atomic(path, json.dumps(self.to_dict(), separators=(",", ":")) + "\n")

    @classmethod
    def load(cls, path) -> "Netlist":
        """Read and validate a netlist file: a regular file of at most MAX_FILE_BYTES (a FIFO or a
        device is refused without reading), JSON within the reader's limits."""
        path = Path(path)
        try:
            d = parse_json(read_regular(path, MAX_FILE_BYTES, "netlist file"), path)
        except FileRefused as e:
            raise NetlistError(str(e)) from None
        try:
            return cls.from_dict(d)
        except NetlistError as e:
            raise NetlistError(f"{path}: {e}") from None

    # ---------------------------------------------------------------- evaluation
    def evaluate(self, bits):
        """Evaluate on ``bits[N, n_inputs]`` (0/1). Returns ``(counts int64[N, C], pred int64[N])``."""
        bits = np.asarray(bits)
        if bits.ndim != 2 or bits.shape[1] != self.n_inputs:
            raise NetlistError(f"evaluate: expected bits of shape (N, {self.n_inputs}), "
                               f"got {bits.shape}")
        n = bits.shape[0]
        counts = np.zeros((n, self.head.classes), dtype=np.int64)
        # samples per pass, so that the signal values stay within their budget
        step = 64 * max(1, _VALUES_BUDGET_WORDS // max(1, self.n_signals))
        offs = self.layer_offsets
        for s in range(0, n, step):
            words = pack_samples(bits[s:s + step])
            values = np.empty((self.n_signals, words.shape[1]), dtype=np.uint64)
            values[: self.n_inputs] = words
            for li, layer in enumerate(self.layers):
                values[offs[li]:offs[li + 1]] = eval_layer_packed(layer, values)
            m = min(n, s + step) - s
            for c, group in enumerate(self.head.groups):
                counts[s:s + m, c] = count_packed(values, group, m) + self.head.offsets[c]
        return counts, np.argmax(counts, axis=1) if n else np.zeros(0, dtype=np.int64)

    def evaluate_raw(self, x):
        """Encode raw features with :attr:`encoding`, then :meth:`evaluate`."""
        if self.encoding is None:
            raise NetlistError("evaluate_raw: this netlist has no encoding (its inputs are bits)")
        return self.evaluate(self.encoding.encode(x))

    def __repr__(self):
        widths = "x".join(f"{len(layer)}/{layer.fan_in}" for layer in self.layers) or "none"
        return (f"Netlist(n_inputs={self.n_inputs}, layers={widths}, "
                f"classes={self.head.classes})")


def random_netlist(rng, n_inputs, widths, fan_ins, classes, *, special=0.2, skip=False,
                   tau=1.0, offsets=False) -> Netlist:
    """A random valid netlist for tests: ``widths[l]`` gates of fan-in ``fan_ins[l]`` per layer
    (an int applies to all), the last layer split into ``classes`` equal groups. A fraction
    ``special`` of gates is constant, pass-through or negation (to exercise the optimiser);
    ``skip`` lets gates read any earlier signal; ``offsets`` adds random class offsets."""
    from .gates import passthrough_table, table_mask

    rng = np.random.default_rng(rng)
    widths = list(widths)
    if isinstance(fan_ins, int):
        fan_ins = [fan_ins] * len(widths)
    layers, first, prev = [], n_inputs, (0, n_inputs)
    for w, n in zip(widths, fan_ins):
        lo, hi = (0, first) if skip else prev
        inputs = rng.integers(lo, hi, size=(w, n))
        mask = int(table_mask(n))
        tables = rng.integers(0, mask, size=w, dtype=np.uint64, endpoint=True)
        for g in np.flatnonzero(rng.random(w) < special):
            kind = rng.integers(4)
            k = int(rng.integers(n))
            pt = int(passthrough_table(n, k))
            tables[g] = [0, mask, pt, ~pt & mask][kind]
        layers.append(Layer(n, inputs, tables))
        prev = (first, first + w)
        first += w
    last = widths[-1] if widths else n_inputs
    if last % classes:
        raise ValueError(f"last width {last} is not divisible by {classes} classes")
    gs = last // classes
    groups = [np.arange(prev[0] + c * gs, prev[0] + (c + 1) * gs) for c in range(classes)]
    offs = rng.integers(0, 3, size=classes) if offsets else None
    return Netlist(n_inputs, layers, Head(classes, groups, offs, tau))
