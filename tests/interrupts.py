"""Killing a job mid-run as a scheduler would: the n-th call of a function raises KeyboardInterrupt."""
from __future__ import annotations


def kill_on_call(monkeypatch, owner, name: str, n: int):
    """Patch `owner.name` (a module's function or a class's method) so its n-th call raises KeyboardInterrupt and
    every other call runs the real one; returns the real one, for the test to put back."""
    real, calls = getattr(owner, name), {"n": 0}

    def killed(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, killed)
    return real
