"""How good a guess is: cosine similarity, 1-step effectiveness (§4), effective rank (§4.1)."""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call

from gradguess.methods.base import mean_cross_entropy

STEP_SIZES = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)


def _flat(grads: dict[str, Tensor], names) -> Tensor:
    return torch.cat([grads[n].reshape(-1) for n in names])


def cosine(a: Tensor, b: Tensor) -> float:
    denom = a.norm() * b.norm()
    return float((a @ b) / denom) if denom > 0 else 0.0


def cosine_similarity(estimate: dict[str, Tensor], exact: dict[str, Tensor]) -> float:
    """Cosine between two gradients over the whole network (all parameters flattened)."""
    names = list(exact)
    return cosine(_flat(estimate, names), _flat(exact, names))


def layer_of(param_name: str) -> str:
    """'layers.3.weight' -> 'layers.3': weights and biases of one module form one layer."""
    return param_name.rsplit(".", 1)[0]


def layer_cosine_similarity(estimate: dict[str, Tensor], exact: dict[str, Tensor]) -> dict[str, float]:
    layers: dict[str, list[str]] = {}
    for n in exact:
        layers.setdefault(layer_of(n), []).append(n)
    return {layer: cosine(_flat(estimate, ns), _flat(exact, ns)) for layer, ns in layers.items()}


@torch.no_grad()
def loss_after_step(model: nn.Module, grads: dict[str, Tensor], x: Tensor, y: Tensor, lr: float) -> float:
    params = {n: p.detach() - lr * grads[n] if n in grads else p.detach() for n, p in model.named_parameters()}
    return float(mean_cross_entropy(functional_call(model, params, (x,)), y))


def best_loss_reduction(model, grads, x, y, step_sizes=STEP_SIZES) -> float:
    """Largest loss decrease of one plain step θ − η ĝ over the step sizes, on batch (x, y)."""
    with torch.no_grad():
        base = float(mean_cross_entropy(model(x), y))
    return max(base - loss_after_step(model, grads, x, y, lr) for lr in step_sizes)


def one_step_effectiveness(model, estimate, exact, x, y, step_sizes=STEP_SIZES, match_norm: bool = False,
                           reference: float | None = None) -> float:
    """§4: the method's best 1-step loss reduction relative to backprop's, same batch, each at its best step size.

    The raw estimate's scale is part of the method (a guess of large norm takes
    longer steps at the same step size), so with a fixed step-size grid the
    ratio depends on it. `match_norm` rescales the estimate to the gradient's
    norm first, which leaves only the direction to compare. `reference`, backprop's
    best reduction on this batch, can be passed in when several methods share it.
    """
    if reference is None:
        reference = best_loss_reduction(model, exact, x, y, step_sizes)
    if reference <= 0:
        return float("nan")
    if match_norm:
        names = list(exact)
        scale = _flat(exact, names).norm() / _flat(estimate, names).norm().clamp_min(1e-30)
        estimate = {n: g * scale for n, g in estimate.items()}
    return best_loss_reduction(model, estimate, x, y, step_sizes) / reference


def effective_rank(matrix: Tensor) -> float:
    """Roy & Vetterli (2007): exp of the entropy of the normalised singular values."""
    s = torch.linalg.svdvals(matrix.detach().double())
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))
