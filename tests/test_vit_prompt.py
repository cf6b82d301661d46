"""The prompted ViT (models/vit_prompt.py) as one more model for the engine: its site, its maths, every method."""
import math

import pytest
import torch
from torch.func import functional_call, jvp
from torch.nn import functional as F

import gradguess.methods as M
from gradguess.errors import CheckpointError
from gradguess.methods.base import trainable
from gradguess.models import MLP, build, build_mixer_seeded, load_model
from gradguess.models.vit_prompt import build_vit_prompt, load_checkpoint, save_checkpoint, use_plain_attention

TINY = dict(patch=8, dim=32, depth=2, heads=2, n_prompt=3)
CLASSES = 5
METHODS = ["backprop", "wt", "directional", "activation_perturbation"]


def gen(seed):
    return torch.Generator().manual_seed(seed)


def make_problem(seed=0, batch=6, dtype=torch.float64):
    model = build_vit_prompt(CLASSES, (3, 32, 32), seed=seed, **TINY).to(dtype)
    g = gen(100 + seed)
    x = torch.randn(batch, 3, 32, 32, generator=g, dtype=dtype)
    y = torch.randint(0, CLASSES, (batch,), generator=g)
    return model, x, y


def per_example_prompt_grads(model, x, y):
    """Per-example ∂ℓ_b/∂z_b by backprop (each example its own prompt copy): row b of the summed loss's gradient."""
    z = model.prompt.detach().expand(x.shape[0], -1, -1).clone().requires_grad_(True)
    F.cross_entropy(model.run(x, z)[0], y, reduction="sum").backward()
    return z.grad


def test_sites_say_which_site_is_the_output():
    mlp = MLP(6, 3, depth=3, width=4)
    trace = mlp.trace(torch.randn(2, 6))
    assert [trace.is_output(i) for i in range(3)] == [False, False, True]
    mixer = build_mixer_seeded((3, 8, 8), 3, seed=0, blocks=2, channels=8, patch=4, groups=2)
    mtrace = mixer.trace(torch.randn(2, 3, 8, 8))
    assert not any(mtrace.is_output(i) for i in range(mtrace.num_sites))
    model, x, _ = make_problem()
    ptrace = model.trace(x)
    assert ptrace.num_sites == 1 and not ptrace.is_output(0) and ptrace.mask(0) is None
    assert ptrace.shape(0) == (6, 3, 32) and ptrace.next_shape(0) == (6, 3, 96)


def test_prompts_sit_after_the_cls_token_and_after_the_position_embeddings():
    model, x, _ = make_problem()
    seen = {}
    model.backbone.blocks[0].register_forward_pre_hook(lambda m, args: seen.setdefault("t", args[0].clone()))
    model(x)
    b = model.backbone
    reference = b._pos_embed(b.patch_embed(x))  # timm's own [cls; patches] + position embeddings
    t, n = seen["t"], model.n_prompt
    torch.testing.assert_close(t[:, 0], reference[:, 0], rtol=0, atol=0)
    torch.testing.assert_close(t[:, 1:1 + n], model.prompt.detach().expand(6, -1, -1), rtol=0, atol=0)
    torch.testing.assert_close(t[:, 1 + n:], reference[:, 1:], rtol=0, atol=0)


def test_attention_runs_the_plain_path_that_forward_mode_can_differentiate():
    model, x, y = make_problem(dtype=torch.float32)
    attention = [m for m in model.modules() if hasattr(m, "fused_attn")]
    assert len(attention) == TINY["depth"] and not any(m.fused_attn for m in attention)
    z = model.prompt.detach().expand(6, -1, -1).contiguous()
    v = torch.randn(z.shape, generator=gen(1))  # not a constant shift per token: every LayerNorm removes those
    _, dlogits = jvp(lambda z: model.run(x, z)[0], (z,), (v,))
    assert torch.isfinite(dlogits).all() and dlogits.abs().sum() > 0
    for m in attention:  # why: PyTorch's fused attention has no forward-mode derivative
        m.fused_attn = True
    with pytest.raises(NotImplementedError, match="forward AD"):
        jvp(lambda z: model.run(x, z)[0], (z,), (v,))
    assert use_plain_attention(model) == TINY["depth"]


def test_the_backbone_is_frozen_and_every_method_updates_exactly_the_trainable_parameters():
    model, x, y = make_problem()
    assert all(not p.requires_grad for p in model.backbone.parameters())
    assert set(trainable(model)) == {"prompt", "head.weight", "head.bias"}
    model.train()
    assert not model.backbone.training and model.head.training
    for name in METHODS:
        grads = M.get(name).estimate(model, x, y, gen(1))
        assert list(grads) == ["prompt", "head.weight", "head.bias"], name
        assert all(grads[n].shape == p.shape and torch.isfinite(grads[n]).all() for n, p in trainable(model).items())
    assert all(p.grad is None for p in model.parameters())  # estimates are returned, never accumulated


def test_backprop_prompt_gradient_is_the_loss_derivative():
    """Against central finite differences of the batch-mean loss along a random direction (float64)."""
    model, x, y = make_problem()
    g = M.get("backprop").estimate(model, x, y)["prompt"]
    v = torch.randn(model.prompt.shape, generator=gen(2), dtype=torch.float64)
    h = 1e-5
    with torch.no_grad():
        loss = [F.cross_entropy(model.run(x, model.prompt + s * h * v)[0], y) for s in (1, -1)]
    torch.testing.assert_close((g * v).sum(), (loss[0] - loss[1]) / (2 * h), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("mode", ["joint", "per_layer"])
@pytest.mark.parametrize("name", ["wt", "activation_perturbation"])
def test_activation_directional_derivatives_are_the_per_example_gradient_along_the_guess(name, mode):
    model, x, y = make_problem()
    _, guesses, d = M.get(name, mode=mode).probe(model, x, y, gen(3))
    expected = (per_example_prompt_grads(model, x, y) * guesses[0]).sum((1, 2))
    assert d.shape == ((6,) if mode == "joint" else (1, 6))
    torch.testing.assert_close(d.reshape(-1), expected, rtol=1e-9, atol=1e-12)


def test_directional_descent_guesses_the_prompt_only_and_its_derivative_is_the_gradient_along_it():
    model, x, y = make_problem()
    eps, d, _, _ = M.get("directional").probe(model, x, y, gen(4))
    assert list(eps) == ["prompt"]  # the head is local: never guessed
    assert math.isclose(float(eps["prompt"].std()), 1 / math.sqrt(model.prompt.numel()), rel_tol=0.2)
    exact = M.get("backprop").estimate(model, x, y)
    torch.testing.assert_close(d, (exact["prompt"] * eps["prompt"]).sum(), rtol=1e-9, atol=1e-12)
    est = M.get("directional").estimate(model, x, y, gen(4))
    torch.testing.assert_close(est["prompt"], d * eps["prompt"])


@pytest.mark.parametrize("name", METHODS)
def test_the_head_learns_from_its_exact_gradient_in_every_method(name):
    model, x, y = make_problem()
    exact = M.get("backprop").estimate(model, x, y)
    est = M.get(name).estimate(model, x, y, gen(5))
    for n in ("head.weight", "head.bias"):
        torch.testing.assert_close(est[n], exact[n], rtol=1e-9, atol=1e-12)


def prompt_ln_qkv_maps(model):
    """Per prompt token j, A_j = J_LN1(z_j)ᵀ W_qkvᵀ ([D, 3D]), J by autograd (independent of the hand formula)."""
    block = model.backbone.blocks[0]
    w = block.attn.qkv.weight.detach()
    maps = []
    for z in model.prompt.detach():
        jac = torch.autograd.functional.jacobian(lambda v: block.norm1(v), z)  # [D out, D in]
        maps.append(jac.T @ w.T)
    return maps


def test_wt_prompt_guess_is_the_ln_and_qkv_transpose_of_noise_in_qkv_space():
    model, x, y = make_problem()
    ctx, guesses, _ = M.get("wt").probe(model, x, y, gen(6))
    n = torch.randn(ctx.trace.next_shape(0), generator=gen(6), dtype=torch.float64)  # the noise W^T drew
    maps = prompt_ln_qkv_maps(model)
    expected = torch.stack([n[:, j] @ a.T for j, a in enumerate(maps)], dim=1)
    torch.testing.assert_close(guesses[0], expected, rtol=1e-9, atol=1e-12)


def test_wt_prompt_guess_lies_in_the_range_and_isotropic_noise_does_not():
    """The range of A_j is everything but the constant shift of a token (rank D − 1), which every LayerNorm
    ignores: the true gradient lies in it too."""
    model, x, y = make_problem()
    wt = M.get("wt").probe(model, x, y, gen(7))[1][0]
    iso = M.get("activation_perturbation").probe(model, x, y, gen(7))[1][0]
    true = per_example_prompt_grads(model, x, y)

    def outside(v, basis):  # the part of each row of v outside span(basis), relative to the row
        return (v - (v @ basis) @ basis.T).norm(dim=1) / v.norm(dim=1)

    for j, a in enumerate(prompt_ln_qkv_maps(model)):
        u, s, _ = torch.linalg.svd(a, full_matrices=False)
        basis = u[:, s > s[0] * 1e-9]
        assert basis.shape[1] == model.dim - 1
        assert outside(wt[:, j], basis).max() < 1e-10
        assert outside(true[:, j], basis).max() < 1e-8
        assert outside(iso[:, j], basis).min() > 1e-3


def test_wt_mean_estimate_is_its_covariance_times_the_gradient():
    """§5: E[(∇·ε) ε] = Cov(ε) ∇, Cov = A Aᵀ per token; the mean of 1024 guesses of one example is close."""
    model, x, y = make_problem()
    k = 1024
    xs, ys = x[:1].expand(k, -1, -1, -1), y[:1].expand(k)
    ctx, guesses, d = M.get("wt").probe(model, xs, ys, gen(8))
    mean = ctx.trace.scale(0, d, guesses[0]).mean(0)
    grad = per_example_prompt_grads(model, x[:1], y[:1])[0]
    expected = torch.stack([a @ (a.T @ g) for a, g in zip(prompt_ln_qkv_maps(model), grad)])
    def cos(a, b):
        return float(F.cosine_similarity(a.flatten(), b.flatten(), dim=0))

    assert cos(mean, expected) > 0.95
    assert cos(mean, expected) > cos(mean, grad) + 0.05  # biased: towards Cov ∇, not ∇ (§5)
    assert cos(expected, grad) > 0.5  # still a descent direction


def old_directional(model, x, y, generator):
    """Directional descent as it was before models could declare local parameters (the reference)."""
    params = trainable(model)
    std = 1.0 / math.sqrt(sum(p.numel() for p in params.values()))
    eps = {n: torch.randn(p.shape, generator=generator, dtype=p.dtype) * std for n, p in params.items()}

    def loss_fn(p):
        return F.cross_entropy(functional_call(model, p, (x,)), y)

    with torch.no_grad():
        _, d = jvp(loss_fn, ({n: p.detach() for n, p in params.items()},), (eps,))
    return {n: d * e for n, e in eps.items()}


def test_directional_descent_of_models_without_local_parameters_is_unchanged_bit_for_bit():
    torch.manual_seed(0)
    mlp, x = MLP(10, 4, depth=3, width=8), torch.randn(5, 10)
    mixer = build_mixer_seeded((3, 8, 8), 4, seed=0, blocks=2, channels=8, patch=4, groups=2)
    xm = torch.randn(5, 3, 8, 8)
    y = torch.tensor([0, 1, 2, 3, 0])
    for model, inputs in ((mlp, x), (mixer, xm)):
        new = M.get("directional").estimate(model, inputs, y, gen(9))
        old = old_directional(model, inputs, y, gen(9))
        assert list(new) == list(old) and all(torch.equal(new[n], old[n]) for n in old)


def test_the_registry_builds_it_and_a_checkpoint_rebuilds_the_same_network(tmp_path):
    from gradguess.models import save
    from gradguess.spec import Part

    part = Part("vit_prompt", TINY)
    model = build(part, (3, 32, 32), CLASSES, seed=3)
    with torch.no_grad():
        model.prompt.add_(1.0)  # as if trained
    x = torch.randn(2, 3, 32, 32, generator=gen(10))
    save_checkpoint(model, tmp_path / "ckpt.pt")
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert set(saved["state"]) == {"prompt", "head.weight", "head.bias"}  # no frozen backbone in the file
    save(model, part, (3, 32, 32), CLASSES, 3, tmp_path / "weights.pt")  # the trainer's weights file
    assert set(torch.load(tmp_path / "weights.pt", weights_only=True)["state"]) == {"prompt", "head.weight", "head.bias"}
    for loaded in (load_checkpoint(tmp_path / "ckpt.pt"), load_model(tmp_path / "ckpt.pt", "cpu"),
                   load_model(tmp_path / "weights.pt", "cpu")):
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    # either file with a tensor of another dtype or shape is refused, naming the file and the tensor
    for name, (key, damage) in {"ckpt.pt": ("prompt", torch.Tensor.double),
                                "weights.pt": ("head.weight", lambda t: t[:1].clone())}.items():
        record = torch.load(tmp_path / name, weights_only=True)
        record["state"][key] = damage(record["state"][key])
        torch.save(record, tmp_path / f"bad-{name}")
        with pytest.raises(CheckpointError, match=f"bad-{name} does not fit .*{key}"):
            load_model(tmp_path / f"bad-{name}", "cpu")


def test_a_checkpoint_refuses_other_backbone_weights(tmp_path):
    from safetensors.torch import save_file

    model = build_vit_prompt(CLASSES, (3, 32, 32), seed=0, **TINY)
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_file({k: v.contiguous() for k, v in model.backbone.state_dict().items()}, str(a))
    save_file({k: v.contiguous() + 1 for k, v in model.backbone.state_dict().items()}, str(b))
    tuned = build_vit_prompt(CLASSES, (3, 32, 32), seed=0, weights=a, **TINY)
    save_checkpoint(tuned, tmp_path / "ckpt.pt")
    assert load_checkpoint(tmp_path / "ckpt.pt").options["weights_sha256"] == tuned.options["weights_sha256"]
    with pytest.raises(Exception, match="sha256"):
        load_checkpoint(tmp_path / "ckpt.pt", weights=b)
    a.unlink()
    with pytest.raises(Exception, match="do not exist"):
        load_checkpoint(tmp_path / "ckpt.pt")
