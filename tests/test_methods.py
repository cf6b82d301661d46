"""The mathematics of every estimator, checked against backpropagation."""
import pytest
import torch
import yaml
from torch.nn import functional as F

import gradguess.methods as M
from gradguess.methods.engine import scale_guesses
from gradguess.metrics import cosine, cosine_similarity
from gradguess.models import MLP
from workflow_helpers import REPO

ACTIVATION_METHODS = ["activation_perturbation", "activation_mixing", "wt", "downstream",
                      "self_sharpening", "wt_sv_power"]


def make_problem(seed=0, depth=4, width=12, in_features=10, classes=5, batch=6):
    torch.manual_seed(seed)
    model = MLP(in_features, classes, depth, width).double()
    x = torch.randn(batch, in_features, dtype=torch.float64)
    y = torch.randint(0, classes, (batch,))
    return model, x, y


def preact_grads(model, x, y):
    """Per-example ∂ℓ_b/∂s_i by backprop: row b of the summed loss's gradient."""
    h, preacts = x, []
    for i, layer in enumerate(model.layers):
        s = layer(h)
        s.retain_grad()
        preacts.append(s)
        h = torch.relu(s) if i < len(model.layers) - 1 else s
    F.cross_entropy(h, y, reduction="sum").backward()
    return [s.grad.detach() for s in preacts]


def backprop(model, x, y):
    return M.get("backprop").estimate(model, x, y)


def gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("mode", ["joint", "per_layer"])
@pytest.mark.parametrize("name", ACTIVATION_METHODS)
def test_activation_directional_derivative_matches_backprop(name, mode):
    model, x, y = make_problem()
    _, guesses, d = M.get(name, mode=mode).probe(model, x, y, gen(1))
    g = preact_grads(model, x, y)
    per_layer = torch.stack([(gi * ei).sum(1) for gi, ei in zip(g, guesses)])
    expected = per_layer.sum(0) if mode == "joint" else per_layer
    assert d.shape == expected.shape
    torch.testing.assert_close(d, expected, rtol=1e-9, atol=1e-12)


def test_directional_derivative_matches_backprop():
    model, x, y = make_problem()
    eps, d, _, _ = M.get("directional").probe(model, x, y, gen(2))
    exact = backprop(model, x, y)
    expected = sum((exact[n] * eps[n]).sum() for n in exact)
    torch.testing.assert_close(d, expected, rtol=1e-9, atol=1e-14)


def test_directional_guess_has_norm_near_one():
    model, x, y = make_problem(width=64)
    eps, *_ = M.get("directional").probe(model, x, y, gen(3))
    norm = torch.cat([e.reshape(-1) for e in eps.values()]).norm()
    assert 0.9 < float(norm) < 1.1


def test_backprop_matches_finite_differences():
    model, x, y = make_problem()
    exact = backprop(model, x, y)
    v = {n: torch.randn_like(p) for n, p in model.named_parameters()}
    h = 1e-6
    with torch.no_grad():
        def loss_at(sign):
            for n, p in model.named_parameters():
                p.add_(sign * h * v[n])
            out = float(F.cross_entropy(model(x), y))
            for n, p in model.named_parameters():
                p.sub_(sign * h * v[n])
            return out
        fd = (loss_at(1) - loss_at(-1)) / (2 * h)
    assert fd == pytest.approx(float(sum((exact[n] * v[n]).sum() for n in exact)), rel=1e-6)


def mean_estimate(name, model, x, y, guesses, seed=0, **options):
    est, g = M.get(name, **options), gen(seed)
    if name == "directional":  # one guess per batch: average separate calls
        total = None
        for _ in range(guesses):
            e = est.estimate(model, x, y, g)
            total = e if total is None else {n: total[n] + e[n] for n in total}
        return {n: t / guesses for n, t in total.items()}
    # per-example guesses: a batch repeated k times averages k guesses per example
    return est.estimate(model, x.repeat(guesses, 1), y.repeat(guesses), g)


@pytest.mark.parametrize("name,options,shape,many", [
    ("directional", {}, (2, 4, 3, 2, 3), 1000),
    ("activation_perturbation", {"mode": "joint"}, (3, 8, 6, 3, 4), 20000),
    ("activation_perturbation", {"mode": "per_layer"}, (3, 8, 6, 3, 4), 20000),
])
def test_unbiased_methods_average_to_the_gradient(name, options, shape, many):
    depth, width, in_features, classes, batch = shape
    model, x, y = make_problem(depth=depth, width=width, in_features=in_features, classes=classes, batch=batch)
    exact = backprop(model, x, y)
    few = cosine_similarity(mean_estimate(name, model, x, y, 4, **options), exact)
    lots = cosine_similarity(mean_estimate(name, model, x, y, many, **options), exact)
    assert lots > 0.97
    assert lots > few + 0.05


def test_wt_guess_lies_in_masked_range_of_next_weight():
    model, x, y = make_problem(width=12)
    with torch.no_grad():  # rank-3 W_2 so that its range is a proper subspace
        w = model.layers[2].weight
        w.copy_(torch.randn(w.shape[0], 3, dtype=w.dtype) @ torch.randn(3, w.shape[1], dtype=w.dtype))
    ctx, guesses, _ = M.get("wt").probe(model, x, y, gen(4))
    iso = M.get("activation_perturbation").probe(model, x, y, gen(4))[1]
    w_next = model.layers[2].weight.detach()
    for b in range(x.shape[0]):
        mask = ctx.trace.masks[1][b]
        basis = mask[:, None] * w_next.T                     # columns span M W^T's range
        proj = basis @ torch.linalg.lstsq(basis, guesses[1][b][:, None]).solution
        torch.testing.assert_close(proj[:, 0], guesses[1][b], rtol=1e-8, atol=1e-10)
        assert torch.all(guesses[1][b][mask == 0] == 0)
        iso_proj = basis @ torch.linalg.lstsq(basis, iso[1][b][:, None]).solution
        assert (iso_proj[:, 0] - iso[1][b]).norm() > 0.1 * iso[1][b].norm()


@pytest.mark.parametrize("mode", ["joint", "per_layer"])
def test_wt_mean_estimate_is_covariance_times_gradient(mode):
    """§5: E[(∇L·y) y] = Cov(y) ∇L with Cov(y) = M W^T W M for W^T, I for the last layer."""
    model, x, y = make_problem(depth=3, width=6, in_features=5, classes=3, batch=3)
    est = M.get("wt", mode=mode)
    # every copy of an example gets its own noise, so one call on the batch
    # repeated n times averages n independent guesses per example
    n = 200000
    ctx, guesses, d = est.probe(model, x.repeat(n, 1), y.repeat(n), gen(5))
    means = [s.view(n, *x.shape[:1], -1).mean(0) for s in scale_guesses(guesses, d)]
    grads = preact_grads(model, x, y)
    ctx = est.probe(model, x, y, gen(5))[0]
    for i, (mean, grad) in enumerate(zip(means, grads)):
        if i == len(grads) - 1:
            expected = grad
        else:
            w, m = model.layers[i + 1].weight.detach(), ctx.trace.masks[i]
            expected = torch.stack([m[b] * (w.T @ (w @ (m[b] * grad[b]))) for b in range(len(grad))])
        for b in range(len(grad)):
            if expected[b].norm() > 1e-8:
                assert cosine(mean[b], expected[b]) > 0.97, (i, b)
                assert (mean[b] - expected[b]).norm() < 0.1 * expected[b].norm(), (i, b)
    # biased: the hidden layers' mean is Cov·∇L, which is not ∇L
    hidden = torch.cat([means[0].reshape(-1), means[1].reshape(-1)])
    true = torch.cat([grads[0].reshape(-1), grads[1].reshape(-1)])
    assert (hidden - true).norm() > 0.3 * true.norm()


def test_cosine_matched_directional_hits_its_cosine():
    model, x, y = make_problem()
    exact = backprop(model, x, y)
    for c in (0.03, 0.3, 0.9):
        est = M.get("cosine_matched_directional", cosine=c).estimate(model, x, y, gen(6))
        assert cosine_similarity(est, exact) == pytest.approx(c, abs=1e-9)
    same = M.get("cosine_matched_directional", cosine=1.0).estimate(model, x, y, gen(6))
    for n in exact:
        torch.testing.assert_close(same[n], exact[n])


def test_wt_sv_power_one_equals_wt():
    model, x, y = make_problem()
    a = M.get("wt").estimate(model, x, y, gen(7))
    b = M.get("wt_sv_power", power=1.0).estimate(model, x, y, gen(7))
    for n in a:
        torch.testing.assert_close(a[n], b[n], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("power", [0.5, 2.0])
def test_wt_sv_power_guess_uses_u_s_to_the_power_vt(power):
    model, x, y = make_problem(depth=4)
    ctx, guesses, _ = M.get("wt_sv_power", power=power).probe(model, x, y, gen(7))
    noise = gen(7)
    for i in range(3):  # hidden layers: z @ (U S^p Vᵀ), masked by ReLU'(s_i)
        z = torch.randn(ctx.shape(i + 1), generator=noise, dtype=torch.float64)
        u, sv, vh = torch.linalg.svd(model.layers[i + 1].weight.detach(), full_matrices=False)
        expected = (z @ (u @ torch.diag(sv ** power) @ vh)) * ctx.trace.masks[i]
        torch.testing.assert_close(guesses[i], expected, rtol=1e-8, atol=1e-10)
        plain = (z @ model.layers[i + 1].weight.detach()) * ctx.trace.masks[i]
        assert not torch.allclose(guesses[i], plain)


def test_downstream_backpropagates_random_vector_through_k_layers():
    model, x, y = make_problem(depth=5)
    ctx, guesses, _ = M.get("downstream", layers=2).probe(model, x, y, gen(8))
    noise = gen(8)
    draws = [torch.randn(ctx.shape(i + 2 if i + 2 < 5 else i), generator=noise, dtype=torch.float64)
             for i in range(5)]
    s0 = model.layers[0](x).detach().requires_grad_(True)
    # x_3 = ReLU(s_2) as a function of s_0, built with autograd to compare against
    h = torch.relu(s0)
    h = torch.relu(model.layers[1](h))
    out = torch.relu(model.layers[2](h))
    (vjp,) = torch.autograd.grad(out, s0, draws[0])
    torch.testing.assert_close(guesses[0], vjp)
    # fewer than 2 layers follow layers 3 and 4: random normal of their own width
    torch.testing.assert_close(guesses[3], draws[3])
    torch.testing.assert_close(guesses[4], draws[4])


def test_downstream_one_layer_is_wt_plus_next_mask():
    model, x, y = make_problem(depth=4)
    ctx, down, _ = M.get("downstream").probe(model, x, y, gen(9))
    _, wt, _ = M.get("wt").probe(model, x, y, gen(9))
    noise = gen(9)
    z = [torch.randn(ctx.shape(min(i + 1, 3)), generator=noise, dtype=torch.float64)
         for i in range(4)]
    for i in range(2):  # hidden layers followed by a hidden layer
        expected = ((z[i] * ctx.trace.masks[i + 1]) @ model.layers[i + 1].weight.detach()) * ctx.trace.masks[i]
        torch.testing.assert_close(down[i], expected)
        assert not torch.allclose(down[i], wt[i])
    torch.testing.assert_close(down[2], wt[2])  # next layer is the output: no mask, same as W^T


@pytest.mark.parametrize("mode", ["joint", "per_layer"])
def test_self_sharpening_updates_the_last_layer_by_its_exact_local_gradient(mode):
    """A.2: "the last layer gradients are replaced with the true error vector"."""
    model, x, y = make_problem()
    est = M.get("self_sharpening", mode=mode)
    update = est.estimate(model, x, y, gen(10))
    exact = backprop(model, x, y)
    last = len(model.layers) - 1
    for kind in ("weight", "bias"):
        name = f"layers.{last}.{kind}"
        torch.testing.assert_close(update[name], exact[name], rtol=1e-10, atol=1e-12)
    # the hidden layers are guessed: not backprop's gradient
    assert cosine(update["layers.0.weight"].reshape(-1), exact["layers.0.weight"].reshape(-1)) < 0.99
    # the directional derivative is over the guessed (hidden) layers only
    ctx, guesses, d = est.probe(model, x, y, gen(10))
    assert torch.equal(guesses[last], torch.zeros_like(guesses[last]))
    g = preact_grads(model, x, y)
    per_layer = torch.stack([(gi * ei).sum(1) for gi, ei in zip(g[:last], guesses[:last])])
    torch.testing.assert_close(d, per_layer.sum(0) if mode == "joint" else
                               torch.cat([per_layer, torch.zeros_like(per_layer[:1])]), rtol=1e-9, atol=1e-12)


def test_self_sharpening_hidden_guesses_share_the_uniform_noise_mean_direction():
    """U[0,1) noise has mean ½·1: every guess has a component along M_i W_{i+1}ᵀ M_{i+1} ½·1."""
    model, x, y = make_problem(depth=4, width=16, batch=1)
    n = 4000
    ctx, guesses, _ = M.get("self_sharpening").probe(model, x.repeat(n, 1), y.repeat(n), gen(14))
    for i in range(2):  # hidden layers followed by a hidden layer
        m_i, m_next = ctx.trace.masks[i][0], ctx.trace.masks[i + 1][0]
        w = model.layers[i + 1].weight.detach()
        shared = (0.5 * m_next.double() @ w) * m_i
        mean = guesses[i].mean(0)
        assert cosine(mean, shared) > 0.99, i
        # and single guesses lean the same way: far from the zero-mean cosines of a normal guess
        per_guess = torch.nn.functional.cosine_similarity(guesses[i], shared[None], dim=1)
        assert float(per_guess.mean()) > 0.5, i
    normal = M.get("downstream").probe(model, x.repeat(n, 1), y.repeat(n), gen(14))[1]
    m_i, m_next = ctx.trace.masks[0][0], ctx.trace.masks[1][0]
    shared = (0.5 * m_next.double() @ model.layers[1].weight.detach()) * m_i
    assert abs(float(torch.nn.functional.cosine_similarity(normal[0], shared[None], dim=1).mean())) < 0.05


def test_activation_mixing_mean_estimate_is_activation_second_moment_times_gradient():
    """§5: E[(∇ℓ·y) y] = Cov(y) ∇ℓ; for a raw mixture y = M Aᵀα, α ~ N(0, I): Cov(y) = M AᵀA M."""
    model, x, y = make_problem(depth=3, width=6, in_features=5, classes=3, batch=4)
    est = M.get("activation_mixing", normalize=False, mode="per_layer")
    ctx, _, _ = est.probe(model, x, y, gen(15))
    grads = preact_grads(model, x, y)
    n = 100000
    noise = gen(15)
    # average over draws of α with the batch as the pool (repeating the batch would change the pool)
    acts = [ctx.trace.inputs[i + 1] for i in range(2)]
    masks = [ctx.trace.masks[i] for i in range(2)]
    for i in range(2):
        alpha = torch.randn((n, 4, 4), generator=noise, dtype=torch.float64)
        guesses = (alpha @ acts[i]) * masks[i]                       # (n, B, width)
        d = (guesses * grads[i]).sum(-1, keepdim=True)             # per-layer directional derivative
        mean = (d * guesses).mean(0)
        m = masks[i].double()
        expected = m * ((m * grads[i]) @ (acts[i].T @ acts[i]))    # M AᵀA M ∇ℓ, row per example
        for b in range(4):
            if expected[b].norm() > 1e-8:
                assert cosine(mean[b], expected[b]) > 0.99, (i, b)
                assert (mean[b] - expected[b]).norm() < 0.05 * expected[b].norm(), (i, b)
    # the engine draws exactly that kind of guess
    _, guesses, _ = est.probe(model, x, y, gen(16))
    alpha = torch.randn((4, 4), generator=gen(16), dtype=torch.float64)
    torch.testing.assert_close(guesses[0], (alpha @ acts[0]) * masks[0])


def test_depth_convention_matches_the_papers_parameter_count():
    """§3.1: depth counts weight matrices; the 6×1024 MLP on CIFAR-10 has 7,355,402 parameters with biases."""
    model = MLP(3 * 32 * 32, 10, depth=6, width=1024)
    assert len(model.layers) == 6
    assert sum(p.numel() for p in model.parameters()) == 7_355_402
    from gradguess.report.names import arch_params
    assert arch_params(6, 1024) == 7_355_402


def test_activation_mixing_guess_is_masked_mixture_of_batch_activations():
    model, x, y = make_problem(width=40, batch=5)
    ctx, guesses, _ = M.get("activation_mixing").probe(model, x, y, gen(11))
    for i in range(3):
        acts = ctx.trace.inputs[i + 1]
        for b in range(5):
            g = guesses[i][b]
            assert torch.all(g[ctx.trace.masks[i][b] == 0] == 0)
            assert float(g.norm()) == pytest.approx(40 ** 0.5)
            # unmasked part is a combination of the batch's activation vectors
            keep = ctx.trace.masks[i][b]
            basis = acts[:, keep].T
            coef = torch.linalg.lstsq(basis, g[keep][:, None]).solution
            torch.testing.assert_close((basis @ coef)[:, 0], g[keep], rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("name", [n for n in M.names() if n not in ("backprop", "cosine_matched_directional")])
def test_guessing_methods_never_backpropagate_the_loss(name, monkeypatch):
    model, x, y = make_problem()

    def forbidden(*args, **kwargs):
        raise AssertionError("backward pass used")
    monkeypatch.setattr(torch.autograd, "grad", forbidden)
    monkeypatch.setattr(torch.autograd, "backward", forbidden)
    monkeypatch.setattr(torch.Tensor, "backward", forbidden)
    grads = M.get(name).estimate(model, x, y, gen(12))
    assert set(grads) == {n for n, _ in model.named_parameters()}
    assert all(torch.isfinite(g).all() for g in grads.values())


def test_registry_errors_name_the_valid_choices():
    with pytest.raises(ValueError, match="valid methods: backprop"):
        M.get("sgd_magic")
    with pytest.raises(ValueError, match="valid options: layers, mode"):
        M.get("downstream", depth=3)
    with pytest.raises(ValueError, match="valid modes: joint, per_layer"):
        M.get("wt", mode="both")
    assert set(M.names()) >= {"backprop", "directional", "activation_perturbation", "activation_mixing", "wt",
                              "downstream", "self_sharpening", "cosine_matched_directional", "wt_sv_power"}


def test_schema_knows_every_methods_options():
    """Method options are checked at parse time by the schema; it must list what each method accepts."""
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    options = schema["$defs"]["options"]
    assert set(options) == set(M.names())
    for name in M.names():
        assert set(options[name].get("properties", {})) == set(M.valid_options(name)), name
    assert schema["$defs"]["mode"]["enum"] == list(M.MODES)


def test_activation_mixing_stays_finite_when_a_layer_is_dead_for_an_example():
    model, x, y = make_problem(width=12, batch=4)
    with torch.no_grad():  # example 0 switches every unit of layer 0 off
        model.layers[0].bias.fill_(-1e3)
        model.layers[0].bias[:3] = 0.0
        x[0] = 0.0
    ctx, guesses, _ = M.get("activation_mixing").probe(model, x, y, gen(13))
    assert not ctx.trace.masks[0][0].any()
    assert torch.equal(guesses[0][0], torch.zeros_like(guesses[0][0]))
    assert all(torch.isfinite(g).all() for g in guesses)
    grads = M.get("activation_mixing").estimate(model, x, y, gen(13))
    assert all(torch.isfinite(g).all() for g in grads.values())
