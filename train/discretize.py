"""discretize(model) -> lgn_hw.netlist.Netlist: the trained network as hard truth tables.

Each gate's table is its eval-mode function (bit p = rho_p > 0.5 for IWP, the argmax function for
the original parametrisation), so for every input the Netlist's class counts equal the torch
model's eval-mode counts. Signal indices are global (docs/netlist.md): layer l reads layer l-1,
whose first signal is ``n_inputs + sum(widths[:l-1])``.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from lgn_hw.gates import TWO_INPUT_NAMES, TWO_INPUT_TABLES, passthrough_table, table_mask
from lgn_hw.netlist import Head, Layer, Netlist


def discretize(model, encoding=None, meta: dict | None = None) -> Netlist:
    """Build the Netlist of a trained :class:`train.model.LogicNet`.

    ``encoding`` (an ``lgn_hw.encoding.Encoding`` or its dict) is recorded so that the netlist can
    evaluate raw features; ``meta`` is stored as-is (dataset, config, accuracies).
    """
    layers = []
    first_prev = 0  # first signal of the previous layer (the inputs for layer 0)
    offset = model.n_inputs
    for layer in model.layers:
        idx = layer.hard_idx() if hasattr(layer, "hard_idx") else layer.idx  # learned connections
        inputs = idx.detach().cpu().numpy().astype(np.int64) + first_prev
        layers.append(Layer(layer.fan_in, inputs, layer.tables()))
        first_prev = offset
        offset += layer.out_dim
    width = model.layers[-1].out_dim
    per = width // model.classes
    groups = [np.arange(first_prev + c * per, first_prev + (c + 1) * per, dtype=np.int64)
              for c in range(model.classes)]
    head = Head(model.classes, groups, np.zeros(model.classes, dtype=np.int64), model.tau)
    if encoding is not None and hasattr(encoding, "to_dict"):
        encoding = encoding.to_dict()
    return Netlist(model.n_inputs, layers, head, encoding=encoding, meta=meta)


def _layer_kinds(tables: np.ndarray, n: int) -> Counter:
    """Vectorised lgn_hw.gates.classify_table, with pass<k>/not<k> merged into pass/not."""
    tables = np.asarray(tables, dtype=np.uint64)
    kind = np.full(tables.shape, "other", dtype=object)
    if n == 2:
        for t, name in zip(TWO_INPUT_TABLES, TWO_INPUT_NAMES):
            kind[tables == t] = name
    mask = table_mask(n)
    for k in range(n):
        pt = passthrough_table(n, k)
        kind[tables == pt] = "pass"
        kind[tables == (~pt & mask)] = "not"
    kind[tables == 0] = "const0"
    kind[tables == mask] = "const1"
    return Counter(kind.tolist())


def gate_kinds(netlist: Netlist) -> dict:
    """Fraction of gates of each kind per layer and overall: const0/const1/pass/not/other and,
    for fan-in 2, the difflogic function names (AND, XOR, ...)."""
    total: Counter = Counter()
    per_layer = []
    for layer in netlist.layers:
        c = _layer_kinds(layer.tables, layer.fan_in)
        per_layer.append({k: v / len(layer) for k, v in sorted(c.items())})
        total.update(c)
    n = sum(total.values()) or 1
    return {"overall": {k: v / n for k, v in sorted(total.items())}, "per_layer": per_layer}
