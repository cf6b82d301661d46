"""Averaging many guesses of one example (Figure 4, left; §4 "Effect of bias"): unbiased estimators
converge to the gradient, biased ones level off below it.

For one example e, the cosine between ∂ℓ_e/∂θ and the mean of n of a method's
estimates for e, at n = 2, 4, …, up to `max_guesses`. The estimates come in
chunks: for an activation-space method, a batch of k copies of e through the
engine is k independent guesses (each copy draws its own noise), and the
engine's update of that batch is their mean. Activation mixing mixes the
activations of e's training batch, its pool, not of the copies.

Every activation-space method is measured in each JVP mode asked for (`joint`:
one directional derivative per example over all layers' guesses; `per_layer`:
one per layer). Both modes have the same mean estimate, Cov(ε_i)∇_{s_i}ℓ per
layer, hence the same limit; `joint` adds every other layer's guess to each
layer's derivative as noise, so its curve approaches that limit more slowly.

Directional descent perturbs the weights, one guess per directional
derivative; its derivative along ε is g·ε exactly (a test checks the JVP
against backprop), and its averaged cosine has a closed form in a few random
numbers per guess (`directional_cosines`), so no N-dimensional guess is drawn.
"""
from __future__ import annotations

import math

import torch

from gradguess import methods
from gradguess.metrics import cosine
from gradguess.models import MLP

COLUMNS = ["method", "mode", "example", "guesses", "cosine", "limit"]


def _flat(grads: dict, names) -> torch.Tensor:
    return torch.cat([grads[n].reshape(-1) for n in names]).double()


def guess_counts(max_guesses: int) -> list[int]:
    """2, 4, 8, … up to `max_guesses` (a power of two is appended if it is not one)."""
    counts = [2 ** k for k in range(1, int(math.log2(max_guesses)) + 1)]
    return counts if counts[-1] == max_guesses else counts + [max_guesses]


def directional_cosines(counts: list[int], dim: int, generator, device) -> list[float]:
    """Cosine between g and the sum of the first n estimates (g·ε)ε, ε ~ N(0, I/N) in N = `dim` dimensions, for each
    n in `counts`, drawn exactly from its distribution.

    Split each ε into a = ĝ·ε ~ N(0, 1/N) along g and ε⊥ across it: the sum of n estimates is |g| (S ĝ + V) with
    S = Σ a² and V = Σ a ε⊥, so its cosine with g is S / √(S² + |V|²). Given the a's, V's growth over the guesses
    m+1..n is Gaussian with variance (S_n − S_m)/N in each of the N − 1 directions across g. Drawing that costs
    N numbers per count, not N per guess: 14 counts instead of 8192 guesses of 7.3M weights for the 6×1024 MLP.
    """
    s = torch.zeros((), dtype=torch.float64, device=device)
    across = torch.zeros(dim - 1, dtype=torch.float64, device=device)
    done, out = 0, []
    for n in counts:
        a = torch.randn(n - done, generator=generator, device=device, dtype=torch.float64) / math.sqrt(dim)
        grown = a.square().sum()
        across += torch.randn(dim - 1, generator=generator, device=device, dtype=torch.float64) * (grown / dim).sqrt()
        s += grown
        out.append(float(s / torch.sqrt(s * s + across.square().sum())))
        done = n
    return out


def wt_limit_cosine(model, x, y) -> float:
    """The cosine W^T's averaged estimates of one example converge to, as the guesses grow (an MLP, joint mode).

    The mean of (δ·u)u is Cov(u) δ: M W_{i+1}ᵀ W_{i+1} M δ_i for a hidden layer's pre-activation gradient δ_i (§5)
    and δ for the last layer, whose guess is N(0, I). Layer i's weights and bias see δ_i through the outer product
    with its input x_i, so each layer counts 1 + |x_i|² times in the weight-space cosine.
    """
    x = x.flatten(1).double()
    h, inputs, pre = x, [], []
    for i, layer in enumerate(model.layers):
        inputs.append(h)
        s = torch.nn.functional.linear(h, layer.weight.double(), None if layer.bias is None else layer.bias.double())
        s.retain_grad()
        pre.append(s)
        h = torch.relu(s) if i < len(model.layers) - 1 else s
    torch.nn.functional.cross_entropy(h, y).backward()
    dot = norm_mean = norm_g = 0.0
    for i, (x_i, s) in enumerate(zip(inputs, pre)):
        delta = s.grad[0]
        if i < len(model.layers) - 1:
            mask, w = (s[0] > 0).double(), model.layers[i + 1].weight.detach().double()
            mean = mask * (w.T @ (w @ (mask * delta)))
        else:
            mean = delta
        weight = 1 + float(x_i[0].detach().square().sum()) if model.layers[i].bias is not None else \
            float(x_i[0].detach().square().sum())
        dot, norm_mean, norm_g = (dot + weight * float(mean @ delta), norm_mean + weight * float(mean @ mean),
                                  norm_g + weight * float(delta @ delta))
    return dot / math.sqrt(norm_mean * norm_g)


def averaging_curve(model, x_pool, y_pool, index: int, method: str, options: dict, max_guesses: int,
                    chunk: int, generator) -> list[dict]:
    """One example's curve: rows {guesses, cosine} for n = 2, 4, …, max_guesses."""
    x, y = x_pool[index:index + 1], y_pool[index:index + 1]
    exact = methods.get("backprop").estimate(model, x, y)
    names = list(exact)
    g = _flat(exact, names)
    est = methods.get(method, **options)
    if isinstance(est, methods.ActivationGuess):
        est.pool = x_pool  # activation mixing mixes the example's training batch; the others ignore it
    counts = guess_counts(max_guesses)
    if method == "directional":
        return [{"guesses": n, "cosine": c} for n, c in zip(counts, directional_cosines(counts, g.numel(), generator,
                                                                                         g.device))]
    total, done, rows = torch.zeros_like(g), 0, []
    for n in counts:
        for start in range(done, n, chunk):
            k = min(chunk, n - start)
            mean = est.estimate(model, x.expand(k, *x.shape[1:]), y.expand(k), generator)
            total += _flat(mean, names) * k
        done = n
        rows.append({"guesses": n, "cosine": cosine(total / n, g)})
    return rows


def averaging(model, x_train, y_train, method_specs: list[tuple[str, dict]], examples: int, max_guesses: int,
              batch_size: int, chunk: int = 1024, seed: int = 0, modes: tuple[str, ...] = (methods.DEFAULT_MODE,)) -> list[dict]:
    """Curves for `examples` examples (the first ones of a seeded training batch), every method and, for the
    activation-space methods, every JVP mode in `modes` (a row's `mode` is empty for directional descent)."""
    device = x_train.device
    data_gen = torch.Generator(device=device).manual_seed(seed)
    batch = torch.randperm(len(x_train), generator=data_gen, device=device)[:batch_size]
    x_pool, y_pool = x_train[batch], y_train[batch]
    rows = []
    for name, options in method_specs:
        label = name + "".join(f":{k}={v}" for k, v in sorted(options.items()))
        has_modes = "mode" in methods.valid_options(name) and "mode" not in options
        for mode in (modes if has_modes else ("",)):
            for e in range(min(examples, len(batch))):
                # the same noise stream for an example in either mode: the modes differ in the derivative only
                generator = torch.Generator(device=device).manual_seed(seed * 1_000_003 + 7919 * e + 1)
                # where W^T's curve is heading: its mean estimate's cosine (the same in either JVP mode)
                limit = ({"limit": wt_limit_cosine(model, x_pool[e:e + 1], y_pool[e:e + 1])}
                         if name == "wt" and isinstance(model, MLP) else {})
                opts = {**options, **({"mode": mode} if mode else {})}
                for row in averaging_curve(model, x_pool, y_pool, e, name, opts, max_guesses, chunk, generator):
                    rows.append({"method": label, "mode": mode or options.get("mode", ""), "example": e, **row,
                                 **limit})
    return rows
