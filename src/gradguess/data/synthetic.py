"""The built-in synthetic data set: generated, never read from disk."""
from __future__ import annotations

import numpy as np

from gradguess.catalog import SIZES
from gradguess.data.core import Arrays


def synthetic(seed: int = 0, n_train: int = SIZES["synthetic"][0], n_test: int = SIZES["synthetic"][1]) -> Arrays:
    """A CIFAR-shaped 10-class task: smooth class prototypes, shifted, plus clutter.

    Each image is its class prototype, circularly shifted by up to 8 pixels and
    rescaled in contrast, plus a smooth random "clutter" image and pixel noise.
    The clutter lives in the same smooth subspace as the prototypes, so it does
    not average away, and the shifts make the classes non-linear: logistic
    regression reaches roughly 50% test accuracy, an MLP clearly more. Only
    numpy's seeded PCG64 generator is used, so every call gives the same bytes.
    """
    rng = np.random.default_rng(seed)
    classes, size, coarse = 10, 32, 8
    n = n_train + n_test

    # Bilinear upsampling as a matrix: smooth(c) = up @ c @ up.T, for c [.., 8, 8].
    up = np.stack([np.interp(np.linspace(0, coarse - 1, size), np.arange(coarse), e)
                   for e in np.eye(coarse)], axis=1).astype(np.float32)
    def smooth(shape: tuple[int, ...]) -> np.ndarray:
        return up @ rng.standard_normal((*shape, coarse, coarse), dtype=np.float32) @ up.T

    protos = smooth((classes, 3))
    # Both splits exactly balanced, in random order.
    y = np.concatenate([rng.permutation(np.arange(m) % classes) for m in (n_train, n_test)])

    # Circular shift per example, done as one gather: x[i] = roll(protos[y[i]], (dy, dx)).
    dy, dx = rng.integers(-8, 9, size=(2, n))
    rows = (np.arange(size) - dy[:, None]) % size  # [n, 32]
    cols = (np.arange(size) - dx[:, None]) % size
    x = protos[y[:, None, None, None], np.arange(3)[None, :, None, None],
               rows[:, None, :, None], cols[:, None, None, :]]

    x *= rng.uniform(0.5, 1.5, size=(n, 1, 1, 1)).astype(np.float32)  # contrast
    x += 2.0 * smooth((n, 3))                                           # clutter
    x += 0.5 * rng.standard_normal(x.shape, dtype=np.float32)           # pixel noise
    x = np.clip(128 + 30 * x, 0, 255).astype(np.uint8)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]
