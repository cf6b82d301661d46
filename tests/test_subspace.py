"""The subspace analysis behind Figures 2 and 10: projections, bases, and the input-gradient PCA."""
import math

import torch

from gradguess.analyses import subspace
from gradguess.models import MLP


def test_projection_cosine_is_one_inside_the_subspace():
    g = torch.Generator().manual_seed(0)
    basis = subspace.random_basis(50, 5, g)
    inside = torch.randn(7, 5, generator=g, dtype=torch.float64) @ basis.T
    cos = subspace.projection_cosines(inside, basis)
    assert torch.allclose(cos[:, -1], torch.ones(7, dtype=torch.float64), atol=1e-12)
    assert (cos[:, :-1] < 1 - 1e-6).all()   # fewer directions miss part of it
    assert (cos.diff(dim=1) >= -1e-12).all()  # more directions never project worse


def test_projection_cosine_of_a_random_gradient_is_near_sqrt_k_over_n():
    g = torch.Generator().manual_seed(1)
    n, k = 400, 25
    basis = subspace.random_basis(n, k, g)
    grads = torch.randn(2000, n, generator=g, dtype=torch.float64)
    cos = subspace.projection_cosines(grads, basis).mean(0)
    assert abs(float(cos[k - 1]) - math.sqrt(k / n)) < 0.01
    assert abs(float(cos[0]) - math.sqrt(1 / n)) < 0.03


def test_bases_are_orthonormal_and_pca_orders_by_variance():
    g = torch.Generator().manual_seed(2)
    scales = torch.tensor([10.0, 5.0, 1.0] + [0.01] * 17, dtype=torch.float64)
    a = torch.randn(300, 20, generator=g, dtype=torch.float64) * scales
    for center in (False, True):
        q = subspace.principal_basis(a, center)
        assert torch.allclose(q.T @ q, torch.eye(q.shape[1], dtype=torch.float64), atol=1e-10)
        assert abs(float(q[0, 0])) > 0.99 and abs(float(q[1, 1])) > 0.99  # strongest axes first
    r = subspace.random_basis(20, 6, g)
    assert torch.allclose(r.T @ r, torch.eye(6, dtype=torch.float64), atol=1e-12)


def test_principal_basis_drops_directions_the_batch_does_not_span():
    a = torch.randn(4, 30, dtype=torch.float64)
    assert subspace.principal_basis(a).shape == (30, 4)
    assert subspace.principal_basis(a, center=True).shape == (30, 3)  # centring removes one


def test_input_gradient_pca_recovers_a_planted_direction():
    """A model that sees its input only through u·x: every input gradient is a multiple of u."""
    torch.manual_seed(3)
    n = 64
    u = torch.randn(n)
    u /= u.norm()
    model = MLP(n, 2, depth=2, width=8)
    with torch.no_grad():  # first layer reads u·x only (plus noise-free rank one)
        model.layers[0].weight.copy_(torch.randn(8, 1) @ u[None])
    x = torch.randn(200, n)
    y = (x @ u > 0).long()
    grads = subspace.input_gradients(model, x, y)
    d = subspace.first_component(grads, u)
    assert float(d.float() @ u) > 0.999
    # and the activations' PCA of a random-weight model does not find u
    other = MLP(n, 2, depth=2, width=8)
    assert abs(float(subspace.first_component(subspace.input_gradients(other, x, y), u).float() @ u)) < 0.9


def test_subspace_curves_cover_every_hidden_layer():
    torch.manual_seed(4)
    model = MLP(20, 3, depth=3, width=32)
    x = torch.randn(64, 20)
    y = torch.randint(0, 3, (64,))
    rows = subspace.subspace_curves(model, x, y, torch.Generator().manual_seed(0))
    layers = {r["layer"] for r in rows}
    assert layers == {1, 2}
    for layer in layers:
        curve = [r for r in rows if r["layer"] == layer]
        assert curve[-1]["activation"] <= 1.0 + 1e-9
        assert all(0 <= r["random"] <= 1 for r in curve)
        for key in ("activation", "random"):
            values = [r[key] for r in curve]
            assert all(b >= a - 1e-12 for a, b in zip(values, values[1:]))  # more directions, closer
    # the curve is the mean over examples of |Q_kᵀ g| / |g|, checked by hand for layer 1 at k = 3
    (a, g), _ = subspace.hidden_activations_and_gradients(model, x, y)
    q = subspace.principal_basis(a)[:, :3]
    by_hand = float(((g.double() @ q).norm(dim=1) / g.double().norm(dim=1)).mean())
    assert abs([r for r in rows if r["layer"] == 1][2]["activation"] - by_hand) < 1e-9


def test_class_images_are_unit_vectors_of_image_shape():
    torch.manual_seed(5)
    model = MLP(1 * 6 * 6, 3, depth=2, width=16)
    x = torch.rand(60, 1, 6, 6)
    y = torch.arange(60) % 3
    images = subspace.class_images(model, x, y, 3, torch.Generator().manual_seed(0))
    for name in ("gradient_pc", "input_pc", "random_mix"):
        assert images[name].shape == (3, 1, 6, 6)
        assert torch.allclose(images[name].flatten(1).norm(dim=1), torch.ones(3), atol=1e-5)
    # the inputs' first direction of non-negative images agrees with the class mean
    for c in range(3):
        assert float(images["input_pc"][c].flatten() @ x[y == c].mean(0).flatten()) > 0
