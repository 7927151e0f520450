"""The compiled evaluator behind ``lgn-hw infer --engine c``: a netlist's C export, built into a
cached shared library (``lgn_hw.cbuild``) and called through ctypes (which releases the GIL).

The library is keyed by the generated source, the flags, the compiler and the CPU, so a netlist is
compiled once per machine (about a second for the MNIST UP5K model). :func:`available` says
whether a C compiler exists; :class:`CEngine` raises :class:`EngineError` with the compiler's
message when a build fails.
"""
from __future__ import annotations

import ctypes
import os
import tempfile
from pathlib import Path

import numpy as np

from lgn_hw.cbuild import build_cached, compiler_version, cpu_tag, find_compiler

from .c import count_type, render_c
from .encoder import plan_encoder

__all__ = ["CEngine", "EngineError", "available", "select_engine", "FLAGS", "ENGINES"]

#: the evaluators ``lgn-hw infer --engine`` knows
ENGINES = ("auto", "c", "numpy")

#: how the engine compiles the export (``-march=native``: the library stays on this machine's cache)
FLAGS = ("-O2", "-march=native", "-std=c99", "-shared", "-fPIC")
_PREFIX = "lgn"
_NP_TYPES = {"uint8_t": np.uint8, "int8_t": np.int8, "uint16_t": np.uint16, "int16_t": np.int16,
             "uint32_t": np.uint32, "int32_t": np.int32, "uint64_t": np.uint64, "int64_t": np.int64}


class EngineError(RuntimeError):
    """The C engine cannot be used (no compiler, or the build failed); one line."""


def available() -> bool:
    """Whether a C compiler is found (``$CC``, else cc/gcc/clang)."""
    return find_compiler() is not None


def select_engine(netlist, choice: str = "auto"):
    """``(CEngine or None, description)`` for ``lgn-hw infer --engine``: ``c`` builds the engine
    (a one-line ``click.ClickException`` if it cannot), ``numpy`` gives None, ``auto`` tries ``c``
    and falls back to numpy, saying why."""
    import click

    from .cnames import ExportError

    if choice == "numpy":
        return None, "numpy (bit-packed, --engine numpy)"
    cc = find_compiler()
    try:
        if cc is None:
            raise EngineError("no C compiler found (set $CC)")
        eng = CEngine(netlist, cc)
    except (EngineError, ExportError) as exc:
        if choice == "c":
            raise click.ClickException(f"--engine c: {exc}") from None
        return None, f"numpy (bit-packed; the C engine is unavailable: {exc})"
    return eng, f"c (the netlist compiled with {cc} {' '.join(FLAGS[:2])}: {eng.library})"


class CEngine:
    """A netlist compiled to a shared library: :meth:`evaluate` (bits) and :meth:`classify` (raw
    features), with the results of ``Netlist.evaluate`` / ``Netlist.evaluate_raw``; ``encoder``
    as for ``render_c`` (how :meth:`classify` encodes)."""

    def __init__(self, netlist, cc: str | None = None, encoder: str = "auto"):
        cc = cc or find_compiler()
        if cc is None:
            raise EngineError("no C compiler found (set $CC)")
        self.netlist = netlist
        exp = render_c(netlist, _PREFIX, encoder=encoder)
        self.export = exp
        self.count_dtype = np.int32 if count_type(netlist) == "int32_t" else np.int64
        key = b"\0".join([exp.files[f"{_PREFIX}.c"].encode(), exp.files[f"{_PREFIX}.h"].encode(),
                          " ".join(FLAGS).encode(), compiler_version(cc).encode(), cpu_tag().encode()])
        with tempfile.TemporaryDirectory(prefix="lgn-engine-") as tmp:
            for name in (f"{_PREFIX}.c", f"{_PREFIX}.h"):
                Path(tmp, name).write_text(exp.files[name])
            try:
                so = build_cached([cc, *FLAGS], Path(tmp, f"{_PREFIX}.c"), key, "lgn_net")
            except RuntimeError as exc:
                raise EngineError(str(exc).splitlines()[0][:300]) from None
        self.library = Path(so)
        self._lib = lib = ctypes.CDLL(os.fspath(so))
        p = ctypes.c_void_p
        lib.lgn_eval_packed.argtypes = [p, ctypes.c_size_t, p, p]
        lib.lgn_eval_packed.restype = None
        self.feature_dtype = None
        if netlist.encoding is not None:
            lib.lgn_classify.argtypes = [p, ctypes.c_size_t, p, p]
            lib.lgn_classify.restype = None
            lib.lgn_encode.argtypes = [p, ctypes.c_size_t, p]
            lib.lgn_encode.restype = None
            plan = plan_encoder(netlist.encoding)
            self.feature_dtype = _NP_TYPES[plan.ctype]
            self._type_range = (plan.type_min, plan.type_max)

    # ------------------------------------------------------------------ calls
    def _outputs(self, n: int, counts: bool):
        cls = np.empty(n, dtype=np.int32)
        cnt = np.empty((n, self.netlist.n_classes), dtype=self.count_dtype) if counts else None
        return cls, cnt, (cnt.ctypes.data if counts else None)

    def evaluate_packed(self, words: np.ndarray, n: int, counts: bool = True):
        """From packed bits ``uint64[n_inputs, ceil(n / 64)]`` (``pack_samples``):
        ``(counts int[n, C] or None, pred int32[n])``."""
        words = np.ascontiguousarray(words, dtype=np.uint64)
        if words.shape != (self.netlist.n_inputs, (n + 63) // 64):
            raise ValueError(f"evaluate_packed: expected words of shape "
                             f"({self.netlist.n_inputs}, {(n + 63) // 64}), got {words.shape}")
        cls, cnt, cptr = self._outputs(n, counts)
        self._lib.lgn_eval_packed(words.ctypes.data, n, cls.ctypes.data, cptr)
        return cnt, cls

    def evaluate(self, bits):
        """Like ``Netlist.evaluate``: ``bits[N, n_inputs]`` -> ``(counts, pred)``."""
        from lgn_hw.netlist import pack_samples

        bits = np.asarray(bits)
        if bits.ndim != 2 or bits.shape[1] != self.netlist.n_inputs:
            raise ValueError(f"evaluate: expected bits of shape (N, {self.netlist.n_inputs}), "
                             f"got {bits.shape}")
        cnt, cls = self.evaluate_packed(pack_samples(bits), len(bits))
        return cnt.astype(np.int64), cls.astype(np.int64)

    def features(self, x) -> np.ndarray:
        """``x[N, F]`` as the C feature type (features with a fixed-point map through
        ``lgn_hw.fixedpoint``, as ``Encoding.encode`` does); ValueError if a value is not an
        integer or does not fit that type (where the C encoder and ``Encoding.encode`` could
        differ)."""
        if self.feature_dtype is None:
            raise ValueError("classify: this netlist has no encoding (its inputs are bits)")
        x = np.asarray(x)
        f = self.netlist.encoding.n_features
        if x.ndim != 2 or x.shape[1] != f:
            raise ValueError(f"classify: expected raw input of shape [N, {f}], got {list(x.shape)}")
        if x.dtype == np.bool_:
            x = x.astype(np.uint8)
        mapped = self.netlist.encoding.mapped
        if mapped:  # real values -> the fixed-point integers the C (and the hardware) take
            x = x.astype(np.float64)
            for i in mapped:
                x[:, i] = self.netlist.encoding.features[i].to_integers(x[:, i], f"feature {i}")
        if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
            raise ValueError(f"classify: expected numbers, got dtype {x.dtype}")
        if x.dtype == self.feature_dtype:
            return np.ascontiguousarray(x)
        if x.size:
            if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x) & (np.floor(x) == x)):
                raise ValueError("classify: the C engine takes integer features (a value is not "
                                 "an integer)")
            lo, hi = self._type_range
            if x.min() < lo or x.max() > hi:
                raise ValueError(f"classify: a feature value lies outside {lo}..{hi}, the range "
                                 "of the exported feature type")
        return np.ascontiguousarray(x.astype(self.feature_dtype))

    def classify(self, x, counts: bool = True):
        """Raw features ``x[N, F]`` in, encoder included: ``(counts int[N, C] or None,
        pred int32[N])`` (counts None when ``counts`` is False: the faster path)."""
        x = self.features(x)
        cls, cnt, cptr = self._outputs(len(x), counts)
        self._lib.lgn_classify(x.ctypes.data, len(x), cls.ctypes.data, cptr)
        return cnt, cls

    def encode(self, x) -> np.ndarray:
        """The C encoder's packed bits ``uint64[n_inputs, ceil(N / 64)]`` of raw ``x[N, F]``."""
        x = self.features(x)
        words = np.empty((self.netlist.n_inputs, (len(x) + 63) // 64), dtype=np.uint64)
        self._lib.lgn_encode(x.ctypes.data, len(x), words.ctypes.data)
        return words

