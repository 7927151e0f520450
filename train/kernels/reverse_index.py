"""The reverse index of a layer's fixed connections: which (gate, input slot) pairs read each input.

The backward kernel writes the input-gradient contribution of pair (g, k) to row ``slot[g, k]`` of
a ``partial[G * n, B]`` buffer; slots order the pairs by the input they read (stable, so by g then
k within an input), and the contributions to input ``i`` are rows ``ptr[i] .. ptr[i + 1] - 1``. The
gather kernel sums those contiguous rows: a deterministic gather instead of scattered atomics.

Connections are fixed, so the index is built once per connection tensor (torch ops, on whatever
device ``idx`` lives) and cached, keyed weakly on the tensor and its version counter. Building it
also validates the indices, so an out-of-range index never reaches a kernel.
"""
from __future__ import annotations

import threading
import weakref

import torch

from .checks import KernelArgumentError

_INT32_MAX = 2**31 - 1


def build_reverse_index(idx: torch.Tensor, in_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(slot int32[G, n], ptr int32[in_dim + 1])`` for connections ``idx[G, n]`` into ``in_dim``
    inputs. Raises KernelArgumentError for a bad shape or an index outside ``[0, in_dim)``."""
    if idx.dim() != 2:
        raise KernelArgumentError(f"idx must have shape (G, n), got {tuple(idx.shape)}")
    if in_dim < 1:
        raise KernelArgumentError(f"in_dim must be >= 1, got {in_dim}")
    if idx.dtype.is_floating_point or idx.dtype.is_complex or idx.dtype == torch.bool:
        raise KernelArgumentError(f"idx must be an integer tensor, got {idx.dtype}")
    flat = idx.reshape(-1).long()
    pairs = flat.numel()
    if pairs > _INT32_MAX or in_dim > _INT32_MAX:
        raise KernelArgumentError(f"{pairs} connections / {in_dim} inputs exceed the int32 index range")
    if pairs:
        lo, hi = int(flat.min()), int(flat.max())
        if lo < 0 or hi >= in_dim:
            bad = lo if lo < 0 else hi
            where = int((flat == bad).nonzero()[0])
            g, k = divmod(where, idx.shape[1])
            raise KernelArgumentError(f"idx[{g}, {k}] = {bad} is out of range for {in_dim} inputs")
    order = torch.argsort(flat, stable=True)
    slot = torch.empty_like(order)
    slot[order] = torch.arange(pairs, device=idx.device)
    counts = torch.bincount(flat, minlength=in_dim)
    ptr = torch.zeros(in_dim + 1, dtype=torch.long, device=idx.device)
    torch.cumsum(counts, 0, out=ptr[1:])
    return slot.view(idx.shape).to(torch.int32), ptr.to(torch.int32)


class _Cache:
    """Reverse indices keyed on the identity of the connection tensor; an entry is dropped when its
    tensor is freed (a weakref callback), and rebuilt when the tensor's version counter, device,
    shape, storage or in_dim changes. (A WeakKeyDictionary would compare tensors with ``==``.)"""

    def __init__(self):
        # Re-entrant: a weakref callback may run (garbage collection) while the lock is held.
        self._lock = threading.RLock()
        self._entries: dict[int, tuple] = {}
        self.builds = 0

    def _drop(self, key: int, ref: weakref.ref) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is ref:
                del self._entries[key]

    def get(self, idx: torch.Tensor, in_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        state = (idx._version, int(in_dim), idx.device, tuple(idx.shape), idx.data_ptr())
        with self._lock:
            entry = self._entries.get(id(idx))
            if entry is not None and entry[0]() is idx and entry[1] == state:
                return entry[2]
        value = build_reverse_index(idx, in_dim)
        key = id(idx)
        ref = weakref.ref(idx, lambda r, key=key: self._drop(key, r))
        with self._lock:
            self._entries[key] = (ref, state, value)
            self.builds += 1
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries = {}


CACHE = _Cache()


def reverse_index(idx: torch.Tensor, in_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cached :func:`build_reverse_index` (rebuilt when ``idx`` is modified in place)."""
    return CACHE.get(idx, in_dim)
