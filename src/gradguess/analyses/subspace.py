"""Gradients live in the activations' subspace (§3.3, §5, A.6; Figures 2 and 10).

Right panel and Figure 10: for a batch, the per-example gradient of the loss with
respect to a hidden layer's activations x_i, and its projection onto the top-k
principal directions of that layer's activations over the batch. With Q the
(n × k) orthonormal basis, the projection of g is QQᵀg and its cosine with g is
|Qᵀg| / |g|, so one matrix product gives the curve for every k at once. A random
orthonormal k-dimensional subspace is the baseline: its expected cosine is √(k/n).

Left panel: per class, the first principal direction of the gradients with
respect to the input images, of the images themselves, and a random combination
of the images.

`center=False` (our default) takes the principal directions of the activations
as they are (the SVD of the batch): the subspace activation mixing draws its
guesses from, mean direction included (post-ReLU activations share a large
mean). `center=True` is textbook PCA, which removes the mean first.
"""
from __future__ import annotations

import torch
from torch import Tensor

from gradguess.methods.base import mean_cross_entropy


def principal_basis(a: Tensor, center: bool = False) -> Tensor:
    """(n, r) orthonormal columns: the principal directions of the rows of `a` (B × n), strongest first."""
    a = a.double()
    if center:
        a = a - a.mean(0, keepdim=True)
    _, s, vh = torch.linalg.svd(a, full_matrices=False)
    keep = s > s.max() * 1e-10 if s.numel() else s.bool()  # drop directions the batch does not span
    return vh[keep].T


def random_basis(n: int, k: int, generator: torch.Generator | None = None) -> Tensor:
    """(n, k) orthonormal columns spanning a uniformly random k-dimensional subspace."""
    q, r = torch.linalg.qr(torch.randn(n, k, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))  # a unique, still uniform, orthonormal basis


def projection_cosines(g: Tensor, basis: Tensor) -> Tensor:
    """cos(g_b, P_k g_b) for every example b and every k = 1..r: a (B, r) tensor.

    P_k projects onto the first k columns of `basis`; cos(g, Pg) = |Pg| / |g|.
    """
    g = g.double()
    coef = (g @ basis.to(g)) ** 2                                 # (B, r) squared coordinates
    norms = (g * g).sum(1, keepdim=True).clamp_min(1e-300)
    return (coef.cumsum(1) / norms).clamp(max=1.0).sqrt()


def hidden_activations_and_gradients(model, x: Tensor, y: Tensor) -> list[tuple[Tensor, Tensor]]:
    """For each hidden layer: (x_i, ∂L/∂x_i) per example, with L summed over the batch so that each
    example's gradient is its own loss's (B × width each)."""
    acts = []
    h = x.flatten(1)
    for i, layer in enumerate(model.layers):
        h = layer(h)
        if i < len(model.layers) - 1:
            h = torch.relu(h)
            h.retain_grad()
            acts.append(h)
    loss = mean_cross_entropy(h, y) * len(y)
    grads = torch.autograd.grad(loss, acts)
    return [(a.detach(), g.detach()) for a, g in zip(acts, grads)]


def subspace_curves(model, x: Tensor, y: Tensor, generator: torch.Generator | None = None,
                    center: bool = False) -> list[dict]:
    """Rows {layer, k, activation, random}: mean over the batch of the projection cosine onto the
    activations' top-k principal directions and onto a random k-dimensional subspace, k = 1..rank."""
    rows = []
    for layer, (a, g) in enumerate(hidden_activations_and_gradients(model, x, y), start=1):
        basis = principal_basis(a, center)
        pca = projection_cosines(g, basis).mean(0)
        rand = projection_cosines(g, random_basis(a.shape[1], basis.shape[1], generator)).mean(0)
        rows += [{"layer": layer, "k": k + 1, "activation": float(p), "random": float(r)}
                 for k, (p, r) in enumerate(zip(pca.tolist(), rand.tolist()))]
    return rows


def input_gradients(model, x: Tensor, y: Tensor) -> Tensor:
    """∂ℓ_b/∂x_b for every example b, shaped like x."""
    x = x.detach().clone().requires_grad_(True)
    loss = mean_cross_entropy(model(x), y) * len(y)
    (g,) = torch.autograd.grad(loss, x)
    return g


def first_component(v: Tensor, reference: Tensor, center: bool = False) -> Tensor:
    """The first principal direction of the rows of `v`, signed to agree with `reference`."""
    d = principal_basis(v.flatten(1), center)[:, 0]
    return d if float(d @ reference.flatten().double()) >= 0 else -d


def class_images(model, x: Tensor, y: Tensor, num_classes: int, generator: torch.Generator | None = None,
                 center: bool = False) -> dict[str, Tensor]:
    """Figure 2 (left): per class, (num_classes, *image) tensors `gradient_pc`, `input_pc`, `random_mix`.

    Each is a unit vector; the principal directions are signed to agree with the class's mean image.
    """
    grads = input_gradients(model, x, y)
    out = {"gradient_pc": [], "input_pc": [], "random_mix": []}
    for c in range(num_classes):
        xs, gs = x[y == c], grads[y == c]
        mean = xs.double().mean(0)
        out["input_pc"].append(first_component(xs, mean, center))
        out["gradient_pc"].append(first_component(gs, mean, center))
        w = torch.randn(len(xs), generator=generator, dtype=torch.float64)
        mix = w @ xs.flatten(1).double()
        out["random_mix"].append(mix / mix.norm())
    shape = x.shape[1:]
    return {k: torch.stack(v).reshape(num_classes, *shape).float() for k, v in out.items()}


SUBSPACE_COLUMNS = ["dataset", "depth", "width", "epoch", "layer", "k", "activation", "random"]
IMAGE_COLUMNS = ["state", "epoch", "kind", "class", "image_channels", "image_height", "image_width"]


def trajectory_subspaces(directory, data_root, examples: int, seed: int, center: bool, device: str = "auto"
                         ) -> list[dict]:
    """Every epoch of a trajectory: each hidden layer's projection curves (Figure 2 right, Figure 10)."""
    from gradguess import models
    from gradguess.analyses.inputs import device_for, examples as batch, trajectory

    device = device_for(device, "activation-subspace projections")
    spec, data, snapshots = trajectory(directory, data_root, device)
    x, y = batch(data, examples, seed)
    where = {"dataset": spec.dataset, "depth": spec.model.options["depth"], "width": spec.model.options["width"]}
    rows = []
    for epoch, path in snapshots:
        curves = subspace_curves(models.load(path, device), x, y, torch.Generator().manual_seed(seed + epoch),
                                 center=center)
        rows += [{**where, "epoch": epoch, **row} for row in curves]
    return rows


def trajectory_class_images(directory, data_root, examples: int, seed: int, center: bool, device: str = "auto"
                            ) -> list[dict]:
    """Figure 2 (left)'s pictures at a trajectory's first and last snapshot: one row per (state, kind, class),
    one column per pixel."""
    from gradguess import models
    from gradguess.analyses.inputs import device_for, examples as batch, trajectory

    device = device_for(device, "class images")
    _, data, snapshots = trajectory(directory, data_root, device)
    x, y = batch(data, examples, seed)
    rows = []
    for state, (epoch, path) in (("initialisation", snapshots[0]), ("trained", snapshots[-1])):
        images = class_images(models.load(path, device), x, y, data.num_classes, torch.Generator().manual_seed(seed),
                              center=center)
        for kind, stack in images.items():
            c, h, w = stack.shape[1:]
            for cls, image in enumerate(stack.cpu()):
                rows.append({"state": state, "epoch": epoch, "kind": kind, "class": cls, "image_channels": c,
                             "image_height": h, "image_width": w,
                             **{f"p{i}": float(v) for i, v in enumerate(image.flatten())}})
    return rows
