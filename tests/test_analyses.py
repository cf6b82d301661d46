"""Measurements at fixed weights: guess averaging (Figure 4, left) and Jacobian spectra (Figure 7, right)."""
import pytest
import torch

import gradguess.methods as M
from gradguess.analyses.averaging import (averaging, averaging_curve, directional_cosines, guess_counts,
                                           wt_limit_cosine)
from gradguess.analyses.jacobian import jacobians, spectra

from gradguess.models import MLP


def small_problem(seed=0, depth=3, width=24, in_features=12, classes=4, batch=16):
    torch.manual_seed(seed)
    model = MLP(in_features, classes, depth, width)
    x, y = torch.randn(batch, in_features), torch.randint(0, classes, (batch,))
    return model, x, y


def curve(method, model, x, y, max_guesses, example=0, options=None, seed=1):
    rows = averaging_curve(model, x, y, example, method, options or {}, max_guesses, chunk=1024,
                           generator=torch.Generator().manual_seed(seed))
    return {r["guesses"]: r["cosine"] for r in rows}


def test_guess_counts_double_up_to_the_maximum():
    assert guess_counts(16) == [2, 4, 8, 16]
    assert guess_counts(24) == [2, 4, 8, 16, 24]


def test_averaged_activation_perturbation_converges_to_the_gradient():
    """Unbiased: the mean of many estimates of one example reaches its gradient."""
    model, x, y = small_problem()
    c = curve("activation_perturbation", model, x, y, 16384)
    assert c[16384] > 0.95
    assert c[16384] > c[64] + 0.2


def test_averaged_wt_levels_off_below_the_gradient():
    """Biased: E[estimate] = M WᵀW M ∇ℓ ≠ ∇ℓ, so more guesses stop helping."""
    model, x, y = small_problem()
    c = curve("wt", model, x, y, 8192)
    assert abs(c[8192] - c[4096]) < 0.01
    assert c[8192] < 0.95
    # ... at the cosine of its mean estimate, M WᵀW M δ per layer, in closed form
    limit = wt_limit_cosine(model, x[:1], y[:1])
    assert limit < 0.95 and c[8192] == pytest.approx(limit, abs=0.01)


def test_averaged_directional_descent_is_unbiased_too():
    model, x, y = small_problem(width=8)
    c = curve("directional", model, x, y, 65536)
    assert c[65536] > 0.9 and c[65536] > c[16] + 0.3


def test_directional_cosines_follow_the_distribution_of_averaged_guesses():
    """The closed form against averaging real N-dimensional guesses (g·ε)ε, ε ~ N(0, I/N): same mean and spread."""
    dim, counts, trials = 30, [2, 8, 32, 128], 3000
    gen = torch.Generator().manual_seed(0)
    g = torch.randn(dim, dtype=torch.float64, generator=gen)
    brute = torch.empty(trials, len(counts), dtype=torch.float64)
    for t in range(trials):
        eps = torch.randn(counts[-1], dim, dtype=torch.float64, generator=gen) / dim ** 0.5
        running = ((eps @ g)[:, None] * eps).cumsum(0)
        brute[t] = torch.nn.functional.cosine_similarity(running[[n - 1 for n in counts]], g[None], dim=1)
    closed = torch.tensor([directional_cosines(counts, dim, gen, "cpu") for _ in range(trials)], dtype=torch.float64)
    for j, n in enumerate(counts):
        se = (brute[:, j].var() / trials + closed[:, j].var() / trials).sqrt()
        assert abs(brute[:, j].mean() - closed[:, j].mean()) < 4 * se, n
        assert closed[:, j].std() == pytest.approx(float(brute[:, j].std()), rel=0.1), n
    # and it grows with the guesses, as an unbiased estimator's mean must
    assert closed[:, -1].mean() > closed[:, 0].mean() + 0.3


def test_mixing_draws_on_the_examples_training_batch():
    model, x, y = small_problem()
    est = M.get("activation_mixing")
    est.pool = x
    ctx, guesses, _ = est.probe(model, x[:1].expand(5, -1), y[:1].expand(5), torch.Generator().manual_seed(0))
    acts = model.trace(x).inputs[1]  # the pool's post-activations of layer 0
    for g in guesses[0]:
        keep = ctx.trace.masks[0][0]
        coef = torch.linalg.lstsq(acts[:, keep].T, g[keep][:, None]).solution
        torch.testing.assert_close((acts[:, keep].T @ coef)[:, 0], g[keep], rtol=1e-4, atol=1e-4)


def test_averaging_rows_cover_every_method_and_example():
    model, x, y = small_problem()
    rows = averaging(model, x, y, [("wt", {}), ("downstream", {"layers": 1})], examples=3, max_guesses=8,
                     batch_size=16)
    assert {(r["method"], r["example"]) for r in rows} == {(m, e) for m in ("wt", "downstream:layers=1")
                                                            for e in range(3)}
    assert all(-1 <= r["cosine"] <= 1 for r in rows)
    # W^T's rows carry the cosine its curve converges to, the same for every guess count of an example
    limits = {r["example"]: r["limit"] for r in rows if r["method"] == "wt"}
    first = torch.randperm(16, generator=torch.Generator().manual_seed(0))[:1]  # example 0: its seeded batch's first
    assert limits[0] == pytest.approx(wt_limit_cosine(model, x[first], y[first]))
    assert all("limit" not in r for r in rows if r["method"] != "wt")


@pytest.mark.parametrize("layer,k", [(0, 1), (0, 2), (0, 4), (0, 5), (1, 3), (3, 2)])
def test_jacobian_through_k_weight_layers_matches_autograd(layer, k):
    """J_k is the Jacobian of s_i -> x_(i+k+1): k weight layers with their masks (A.3), by autograd."""
    torch.manual_seed(0)
    model = MLP(6, 3, depth=6, width=7).double()
    x = torch.randn(4, 6, dtype=torch.float64)
    ours = jacobians(model, x, layer, k)
    trace = model.trace(x)
    for b in range(len(x)):
        s = model.layers[layer](trace.inputs[layer][b:b + 1])[0]

        def forward(s_i):
            h = torch.relu(s_i)
            for j in range(layer + 1, layer + k + 1):
                h = model.layers[j](h)
                if j < len(model.layers) - 1:
                    h = torch.relu(h)
            return h
        expected = torch.autograd.functional.jacobian(forward, s)
        assert ours[b].shape == expected.shape
        torch.testing.assert_close(ours[b], expected)


def test_one_weight_layer_is_what_one_layer_downstream_guesses_through():
    """Downstream(1)'s guess for layer 0 is J_1^T u for noise u at layer 1's post-activation."""
    from gradguess import methods

    torch.manual_seed(0)
    model = MLP(6, 3, depth=4, width=7).double()
    x, y = torch.randn(5, 6, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1])
    est = methods.get("downstream", layers=1)
    ctx, guesses, _ = est.probe(model, x, y, torch.Generator().manual_seed(3))
    u = torch.randn((5, 7), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    expected = torch.einsum("boi,bo->bi", jacobians(model, x, 0, 1), u)
    torch.testing.assert_close(guesses[0], expected)


def test_spectra_are_normalised_and_decay_faster_through_more_layers():
    torch.manual_seed(0)
    model = MLP(32, 10, depth=6, width=64)
    x = torch.randn(16, 32)
    rows = spectra(model, x, 0, [1, 2, 4])
    assert {r["k"]: r["index"] for r in rows}[1] == 64  # J_1 is a full 64x64 map, not a 0/1 diagonal
    rank = {r["k"]: r["effective_rank"] for r in rows}
    first = {r["k"]: r["singular_value"] for r in rows if r["index"] == 1}
    assert all(v == pytest.approx(1.0) for v in first.values())
    assert rank[4] < rank[2] < rank[1]
    with pytest.raises(ValueError, match="has no 5 weight layers after it"):
        jacobians(model, x, 1, 5)
