"""benchmarks/memory.py, the tensor accounting every memory benchmark uses, on sizes known in advance."""
import sys
from pathlib import Path

import torch
from torch.func import jvp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from memory import LiveTensorBytes, measure  # noqa: E402


def test_live_bytes_count_each_storage_once_until_it_is_freed():
    with LiveTensorBytes() as live:
        a = torch.zeros(1000)            # 4000 bytes
        view = a.view(10, 100)           # no new storage
        b = torch.ones(500, dtype=torch.float64)
        assert live.current == 8000
        del a
        assert live.current == 8000      # the view keeps the storage alive
        del view, b
        assert live.current == 0 and live.peak == 8000


def test_backprop_keeps_its_activations_and_a_jvp_does_not():
    torch.manual_seed(0)
    layers = [torch.randn(256, 256) / 16 for _ in range(8)]
    x = torch.randn(64, 256)
    act = 64 * 256 * 4

    def net(h):
        for w in layers:
            h = torch.tanh(h @ w)
        return h.sum()

    def backprop():
        xr = x.clone().requires_grad_(True)
        return torch.autograd.grad(net(xr), xr)[0]

    _, bp = measure(backprop, "cpu", existing=layers)
    _, fwd = measure(lambda: jvp(net, (x,), (torch.ones_like(x),))[1], "cpu", existing=layers)
    assert bp["saved_bytes"] == 8 * act  # every tanh output, kept for backward (the weights it saves are not new)
    assert bp["peak_bytes"] >= 8 * act
    assert fwd["saved_bytes"] == 0 and fwd["peak_bytes"] < 8 * act       # a few layers' worth at a time
    assert fwd["peak_bytes"] > act                                       # tangents and temporaries are seen
