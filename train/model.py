"""LogicNet: a stack of logic layers followed by GroupSum, built from a resolved config.

``forward(bits[B, n_inputs]) -> logits[B, C]`` transposes once into the feature-major layout the
layers use. In eval mode every gate is hard, and ``logits * tau`` are the integer class counts
that the discretized Netlist computes.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .layers import GroupSum, IWPLayer, OriginalLayer, _check_fan_in
from .wiring import local_connections, patch_connections

PARAMS = ("iwp", "original")
#: Wiring of the first layer: as --connections, 2-D pixel patches (image datasets), or a learnable
#: mapping over all inputs (train/mapping.py).
FIRST_LAYER = ("same", "patch", "learned")


class LogicNet(nn.Module):
    def __init__(self, n_inputs: int, widths, fan_ins, classes: int, *, param: str = "iwp",
                 estimator: str = "sin", init: str = "residual", tau: float = 1.0, seed: int = 0,
                 connections: str = "random", candidates: int = 8, window: int = 16,
                 first_layer: str = "same", patch_window: int = 16, image_shape=None,
                 mapping_gradient: str = "fd"):
        super().__init__()
        widths = [int(w) for w in widths]
        fan_ins = [int(f) for f in fan_ins]
        if not widths:
            raise ValueError("a LogicNet needs at least one layer")
        if len(fan_ins) != len(widths):
            raise ValueError(f"{len(widths)} layer widths but {len(fan_ins)} fan-ins")
        if param not in PARAMS:
            raise ValueError(f"unknown parametrisation {param!r} (expected iwp or original)")
        for f in fan_ins:
            _check_fan_in(f)
        if param == "original" and any(f != 2 for f in fan_ins):
            raise ValueError("the original parametrisation has fan-in 2 (use --param iwp for others)")
        self.n_inputs, self.param = int(n_inputs), param
        if first_layer not in FIRST_LAYER:
            raise ValueError(f"unknown first-layer wiring {first_layer!r} (expected same or patch)")
        if first_layer == "patch":
            if image_shape is None or self.n_inputs % (int(image_shape[0]) * int(image_shape[1])):
                raise ValueError("--first-layer patch needs an image dataset (digits, mnist, "
                                 "fashion-mnist) with the same number of bits per pixel")
        self.head = GroupSum(classes, tau)
        self.head.check_width(widths[-1])
        layers, in_dim = [], self.n_inputs
        for i, (w, f) in enumerate(zip(widths, fan_ins)):
            layer_seed = [int(seed), i]  # connections and init: independent per layer, reproducible
            patch = first_layer == "patch" and i == 0
            mapped = (first_layer == "learned" and i == 0) or (connections == "mapped" and not patch)
            if mapped:  # train/mapping.py
                from .mapping import MappedIWPLayer

                if param != "iwp":
                    raise ValueError("learnable mappings (--first-layer learned, --connections "
                                     "mapped) need --param iwp")
                layers.append(MappedIWPLayer(in_dim, w, f, estimator=estimator, init=init, seed=layer_seed,
                                             gradient=mapping_gradient if i == 0 else "fd"))
            elif connections == "learned" and not patch:  # train/connections.py
                from .connections import LearnedConnectionsIWPLayer

                layers.append(LearnedConnectionsIWPLayer(in_dim, w, f, estimator=estimator, init=init,
                                                         seed=layer_seed, candidates=candidates))
            elif param == "iwp":
                layers.append(IWPLayer(in_dim, w, f, estimator=estimator, init=init, seed=layer_seed))
            else:
                layers.append(OriginalLayer(in_dim, w, 2, init=init, seed=layer_seed))
            if patch:  # train/wiring.py: 2-D pixel patches for the first layer (fixed)
                rng = np.random.default_rng([*layer_seed, 4099])
                T = self.n_inputs // (int(image_shape[0]) * int(image_shape[1]))
                layers[-1].set_connections(patch_connections(image_shape, T, w, f, rng, patch_window))
            elif connections == "local" and not mapped:  # train/wiring.py
                rng = np.random.default_rng([*layer_seed, 4099])
                last = i == len(widths) - 1
                layers[-1].set_connections(local_connections(
                    in_dim, w, f, rng, window, groups=classes if last else 1))
            in_dim = w
        self.layers = nn.ModuleList(layers)

    @property
    def classes(self) -> int:
        return self.head.classes

    @property
    def tau(self) -> float:
        return self.head.tau

    @property
    def widths(self) -> list:
        return [layer.out_dim for layer in self.layers]

    @property
    def n_gates(self) -> int:
        return sum(self.widths)

    def activations(self, bits: torch.Tensor) -> torch.Tensor:
        """Last-layer outputs y[W, B] (feature-major) for input bits[B, n_inputs]."""
        if bits.dim() != 2 or bits.shape[1] != self.n_inputs:
            raise ValueError(f"expected input bits of shape (B, {self.n_inputs}), got {tuple(bits.shape)}")
        dtype = next(self.parameters()).dtype
        x = bits.t().to(dtype).contiguous()
        for layer in self.layers:
            x = layer(x)
        return x

    def forward(self, bits: torch.Tensor) -> torch.Tensor:
        return self.head(self.activations(bits))

    @torch.no_grad()
    def counts(self, bits: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
        """int64[N, C] hard class counts (eval mode), in batches; restores the training flag."""
        was = self.training
        self.eval()
        try:
            out = []
            for s in range(0, bits.shape[0], batch_size):
                y = self.activations(bits[s:s + batch_size])
                out.append(y.reshape(self.classes, -1, y.shape[1]).sum(1).t().round().long())
            return torch.cat(out) if out else torch.zeros(0, self.classes, dtype=torch.long)
        finally:
            self.train(was)
