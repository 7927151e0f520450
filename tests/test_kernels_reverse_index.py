"""The reverse index (CSR of each input's consumers) behind the atomic-free input gradient."""
from __future__ import annotations

import gc

import numpy as np
import pytest
import torch

from train.kernels import KernelArgumentError
from train.kernels.reverse_index import CACHE, build_reverse_index, reverse_index


@pytest.mark.parametrize("in_dim,G,n", [(1, 3, 1), (7, 5, 3), (50, 13, 6), (1000, 17, 2)])
def test_slots_group_pairs_by_input_in_order(in_dim, G, n):
    rng = np.random.default_rng(in_dim + G)
    idx = torch.as_tensor(rng.integers(0, in_dim, size=(G, n)), dtype=torch.int32)
    slot, ptr = build_reverse_index(idx, in_dim)
    assert slot.dtype == ptr.dtype == torch.int32
    assert slot.shape == (G, n) and ptr.shape == (in_dim + 1,)
    slot, ptr = slot.numpy(), ptr.numpy()
    assert sorted(slot.ravel()) == list(range(G * n))  # a permutation of the rows
    assert ptr[0] == 0 and ptr[-1] == G * n and (np.diff(ptr) >= 0).all()
    for i in range(in_dim):
        pairs = [(g, k) for g in range(G) for k in range(n) if idx[g, k] == i]  # (g, k) order
        assert [int(slot[g, k]) for g, k in pairs] == list(range(ptr[i], ptr[i + 1]))


def test_unused_inputs_get_empty_ranges():
    idx = torch.tensor([[0, 4], [4, 0]], dtype=torch.int32)
    _, ptr = build_reverse_index(idx, 6)
    assert ptr.tolist() == [0, 2, 2, 2, 2, 4, 4]


def test_empty_layer():
    slot, ptr = build_reverse_index(torch.zeros((0, 3), dtype=torch.int32), 4)
    assert slot.shape == (0, 3) and ptr.tolist() == [0, 0, 0, 0, 0]


@pytest.mark.parametrize("idx,in_dim,message", [
    (torch.tensor([[0, 5]]), 5, r"idx\[0, 1\] = 5 is out of range for 5 inputs"),
    (torch.tensor([[0, 1], [-1, 2]]), 5, r"idx\[1, 0\] = -1 is out of range"),
    (torch.tensor([0, 1]), 5, r"idx must have shape \(G, n\), got \(2,\)"),
    (torch.tensor([[0.0, 1.0]]), 5, "idx must be an integer tensor"),
    (torch.tensor([[0, 1]]), 0, "in_dim must be >= 1"),
])
def test_bad_connections_are_rejected(idx, in_dim, message):
    with pytest.raises(KernelArgumentError, match=message):
        build_reverse_index(idx, in_dim)


def test_cache_builds_once_per_tensor_and_rebuilds_after_in_place_change():
    idx = torch.tensor([[0, 1], [1, 2]], dtype=torch.int32)
    before = CACHE.builds
    first = reverse_index(idx, 3)
    assert reverse_index(idx, 3) is first and CACHE.builds == before + 1
    idx[0, 0] = 2  # in-place edit bumps the version counter
    second = reverse_index(idx, 3)
    assert second is not first and CACHE.builds == before + 2
    assert second[1].tolist() == [0, 0, 2, 4]
    assert reverse_index(idx, 4)[1].tolist() == [0, 0, 2, 4, 4]  # other in_dim: new entry
    with pytest.raises(KernelArgumentError):
        reverse_index(torch.tensor([[9, 0]], dtype=torch.int32), 3)


def test_cache_entries_die_with_the_tensor():
    idx = torch.tensor([[0, 1]], dtype=torch.int32)
    reverse_index(idx, 2)
    n = len(CACHE)
    del idx
    gc.collect()
    assert len(CACHE) == n - 1
