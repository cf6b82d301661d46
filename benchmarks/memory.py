"""Peak memory of one step by tensor accounting, not RSS: reusable by every benchmark.

    from memory import measure
    result, stats = measure(lambda: estimator.compute(model, x, y, gen), device)
    stats["peak_bytes"], stats["saved_bytes"], stats["seconds"]

- CPU (`LiveTensorBytes`): a TorchDispatchMode sees every tensor an ATen op returns while it is active and
  counts the bytes of its storage once, until the storage is freed (a weak reference on the storage fires
  then; a view or a tensor autograd saved keeps it alive and counted; an output that shares an input's
  storage, a view or an in-place write, is nothing new). `peak_bytes` is the most bytes live
  at once among tensors made during the step: activations, temporaries, tangents, the outputs. Tensors made
  before it (weights, the input batch) are not counted. Tensors inside torch.func transforms are counted
  through the plain tensor they wrap. The allocator's own slack and C++-internal scratch buffers that never
  become tensors are not seen.
- CUDA: the caching allocator's `max_memory_allocated` over the step, minus what was allocated before it
  (the same quantity: tensor bytes made during the step, at their peak), with no dispatch-mode overhead.
- Both (`SavedForBackward`): the bytes autograd packs for a backward pass during the step (unique storages,
  through `saved_tensors_hooks`, leaving out the tensors made before the step that the caller names, such as
  the weights): what a method keeps alive only because something may backpropagate later.
  Backprop saves the activations of every block; a forward-gradient step should save (almost) none.
"""
from __future__ import annotations

import time
import weakref
from contextlib import nullcontext
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


def _storage(t: torch.Tensor):
    """The storage under `t`, or None where there is none to count (a meta tensor; an alias torch.func makes of a
    tensor captured from outside, whose Python storage has no data pointer)."""
    t = _plain(t)
    if t.is_meta:
        return None
    storage = t.untyped_storage()
    try:
        storage.data_ptr()
    except RuntimeError:
        return None
    return storage


def _plain(t: torch.Tensor) -> torch.Tensor:
    """The ordinary tensor under torch.func's wrappers (a jvp's dual tensors), whose storage holds the bytes."""
    from torch._C._functorch import get_unwrapped, is_functorch_wrapped_tensor

    while is_functorch_wrapped_tensor(t):
        t = get_unwrapped(t)
    return t


class LiveTensorBytes(TorchDispatchMode):
    """Bytes of the tensor storages made while active that are still alive (`current`), and their maximum."""

    def __init__(self):
        super().__init__()
        self.current = self.peak = 0
        self._alive: dict[int, weakref.ref] = {}

    def reset_peak(self) -> None:
        self.peak = self.current

    def _count(self, t: torch.Tensor, inputs: set[int]) -> None:
        storage = _storage(t)
        if storage is None:
            return
        key, size = id(storage), storage.nbytes()
        if size == 0 or key in self._alive or storage.data_ptr() in inputs:
            return  # nothing new: a view of, or an in-place write to, an input (maybe made before the step)

        def freed(_ref, key=key, size=size):
            self._alive.pop(key, None)
            self.current -= size

        self._alive[key] = weakref.ref(storage, freed)
        self.current += size
        self.peak = max(self.peak, self.current)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        inputs = {st.data_ptr() for st in (_storage(t) for t in tree_flatten((args, kwargs))[0]
                                           if isinstance(t, torch.Tensor)) if st is not None}
        out = func(*args, **kwargs)
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self._count(t, inputs)
        return out


class SavedForBackward:
    """Total bytes of the distinct storages autograd saves for backward while active, leaving out `existing`
    tensors (the weights, the input: autograd saves a weight to backpropagate through it, but holds no new
    memory for it)."""

    def __init__(self, existing=()):
        self.bytes = 0
        self._seen: set[int] = {st.data_ptr() for st in map(_storage, existing) if st is not None}

    def _pack(self, t: torch.Tensor):
        storage = _storage(t)
        if storage is not None and storage.data_ptr() not in self._seen:
            self._seen.add(storage.data_ptr())
            self.bytes += storage.nbytes()
        return t

    def __enter__(self):
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc):
        return self._hooks.__exit__(*exc)


def measure(fn: Callable[[], Any], device: torch.device | str, existing=()) -> tuple[Any, dict]:
    """Run `fn` once: its result, and its wall seconds, peak step bytes and saved-for-backward bytes (see the
    module docstring). The result's own tensors (a step's update) count toward the peak. `existing`: tensors
    made before the step (parameters, the batch) that saved-for-backward leaves out."""
    device = torch.device(device)
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    live = None if cuda else LiveTensorBytes()
    with SavedForBackward(existing) as saved, (live if live is not None else nullcontext()):
        start = time.perf_counter()
        result = fn()
        if cuda:
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(device) - base if cuda else live.peak
    return result, {"seconds": seconds, "peak_bytes": int(peak), "saved_bytes": int(saved.bytes),
                    "accounting": "cuda max_memory_allocated" if cuda else "live tensor bytes (dispatch mode)"}

