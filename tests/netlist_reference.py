"""Brute-force reference for netlist tests: evaluates gate by gate, sample by sample semantics,
with no bit packing (independent of lgn_hw.netlist's evaluator)."""

import numpy as np

from lgn_hw import gates


def brute_counts(net, bits):
    vals = [np.asarray(bits)[:, i].astype(np.uint8) for i in range(net.n_inputs)]
    for layer in net.layers:
        for g in range(len(layer)):
            x = np.stack([vals[i] for i in layer.inputs[g]], axis=-1)
            vals.append(gates.eval_tables(layer.tables[g], layer.fan_in, x))
    v = np.stack(vals, 1).astype(np.int64)
    return np.stack([v[:, grp].sum(1) + o for grp, o in zip(net.head.groups, net.head.offsets)], 1)
