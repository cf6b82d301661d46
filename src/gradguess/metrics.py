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


# How an estimate ĝ is scaled before the step θ − η·scale·ĝ, for the 1-step effectiveness.
SCALINGS = ("unit", "raw", "norm_matched")


def _float64(model: nn.Module, x: Tensor) -> tuple[dict[str, Tensor], Tensor]:
    return {n: p.detach().double() for n, p in model.named_parameters()}, x.double()


@torch.no_grad()
def loss_reductions(model: nn.Module, direction: dict[str, Tensor], x: Tensor, y: Tensor,
                    step_sizes=STEP_SIZES) -> list[float]:
    """L(θ) − L(θ − η d) for each step size η, evaluated in float64.

    In float32 a change of 1e-8 at a loss near 2 is below one unit in the last
    place: directional descent's true change would read 0 on one batch and
    8e-6 on the next. float64 resolves it.
    """
    params, x64 = _float64(model, x)
    base = mean_cross_entropy(functional_call(model, params, (x64,)), y)
    out = []
    for lr in step_sizes:
        stepped = {n: p - lr * direction[n].double() if n in direction else p for n, p in params.items()}
        out.append(float(base - mean_cross_entropy(functional_call(model, stepped, (x64,)), y)))
    return out


def best_loss_reduction(model, grads, x, y, step_sizes=STEP_SIZES) -> float:
    """Largest loss decrease of one plain step θ − η ĝ over the step sizes, on batch (x, y)."""
    return max(loss_reductions(model, grads, x, y, step_sizes))


def scale_for(estimate: dict[str, Tensor], exact: dict[str, Tensor], scaling: str) -> float:
    """The factor an estimate is multiplied by before the step (see `one_step_effectiveness`)."""
    names = list(exact)
    est, g = _flat(estimate, names).double(), _flat(exact, names).double()
    est_sq = float(est @ est)
    if scaling == "raw":
        return 1.0
    if est_sq == 0:
        return 0.0
    if scaling == "unit":
        return float(g @ est) / est_sq       # (g·u)u with u = ĝ/|ĝ|
    if scaling == "norm_matched":
        return float(g.norm()) / est_sq ** 0.5
    raise ValueError(f"unknown scaling {scaling!r}; valid scalings: {', '.join(SCALINGS)}")


def one_step_effectiveness(model, estimate, exact, x, y, step_sizes=STEP_SIZES, scaling: str = "unit",
                           reference: float | None = None) -> float:
    """§4: the method's best 1-step loss reduction relative to backprop's, same batch, each at its best step size.

    The guess's direction is what a method contributes; its scale depends on
    how the guess was drawn. Three scalings of the estimate ĝ:
    - `unit` (the paper's, we infer): the forward-gradient step along the unit
      guess direction u = ĝ/|ĝ|, i.e. (g·u)u. At small steps its loss reduction
      relative to backprop is cos²(ĝ, g); the paper's table has effectiveness
      / E[cos²] between 1.7 and 7 for every method, which this reproduces.
    - `raw`: ĝ as the method returns it; a joint-mode estimate can be 30-1000×
      the gradient's norm, so the step-size grid acts as a line search.
    - `norm_matched`: ĝ rescaled to the gradient's norm, |g| ĝ/|ĝ|.
    Backprop's estimate is g under every scaling, so one `reference` (its best
    reduction on the batch) serves all three and every method.
    """
    if reference is None:
        reference = best_loss_reduction(model, exact, x, y, step_sizes)
    if reference <= 0:
        return float("nan")
    scale = scale_for(estimate, exact, scaling)
    direction = {n: g * scale for n, g in estimate.items()}
    return best_loss_reduction(model, direction, x, y, step_sizes) / reference


def entropy_rank(singular_values: Tensor) -> float:
    """Roy & Vetterli (2007): exp of the entropy of the singular values normalised to sum 1."""
    s = singular_values.detach().double()
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def effective_rank(matrix: Tensor) -> float:
    """The effective rank of a matrix (Roy & Vetterli, 2007)."""
    return entropy_rank(torch.linalg.svdvals(matrix.detach().double()))
