"""The LocalMixer (Ren et al. 2022) and the engine's sites on it: local directional derivatives, stop-gradients,
its layers, W^T's range, that every method learns, and the augmentation of Table 1 (b)."""
import pytest
import torch
from torch.nn import functional as F

from gradguess import data
from gradguess import train as train_mod
from gradguess import methods as M
from gradguess.augment import random_crop_flip
from gradguess.models import build_mixer_seeded
from gradguess.models.mixer import GroupLinear, TokenMixing, patchify
from gradguess.spec import Part, RunSpec, SpecError
from gradguess.train import Runtime, check
from gradguess.train import train as train_run
from interrupts import kill_on_call

TINY = dict(blocks=2, channels=16, patch=8, groups=2)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """A tiny model's ops are microseconds: threads only add contention (60× slower on a busy 2-core box)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(seed=0, dtype=torch.float64, **sizes):
    return build_mixer_seeded((3, 32, 32), 10, seed, **{**TINY, **sizes}).to(dtype)


def batch(n=3, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g, dtype=dtype), torch.randint(0, 10, (n,), generator=g)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def normal_guesses(trace, seed):
    g = gen(seed)
    return [torch.randn(trace.shape(i), generator=g, dtype=torch.float64) for i in range(trace.num_sites)]


def site_blocks(model):
    return [k for k, _ in model.site_kinds()]


def local_loss(model, x, y, noise, k, b, p, g):
    """Ren et al.'s local loss of block k, example b, patch p, group g: CE of the head on the patch mean of
    block k's output, with every patch and group but (p, g) behind a stop-gradient."""
    outs, _ = model.run(x, noise, local=True)
    h = outs[k]
    keep = torch.zeros_like(h)
    c = model.channels // model.groups
    keep[b, p, g * c:(g + 1) * c] = 1
    h = h.detach() + keep * (h - h.detach())
    return F.cross_entropy(model.heads[k](h.mean(1))[b:b + 1], y[b:b + 1], reduction="sum")


def test_each_local_loss_directional_derivative_is_its_gradient_along_the_tangent():
    model, (x, y) = tiny(), batch()
    trace = model.trace(x)
    v = normal_guesses(trace, 1)
    d = trace.directional_derivatives(v, y, "joint", local_losses=True)
    assert d.shape == (2, 3, model.patches, model.groups)
    zeros = [torch.zeros(trace.shape(i), dtype=torch.float64, requires_grad=True) for i in range(trace.num_sites)]
    for k in range(2):
        for b in range(3):
            for p in (0, 5, model.patches - 1):
                for g in range(model.groups):
                    grads = torch.autograd.grad(local_loss(model, x, y, zeros, k, b, p, g), zeros, allow_unused=True)
                    expected = sum((gr * t).sum() for gr, t in zip(grads, v) if gr is not None)
                    assert d[k, b, p, g].item() == pytest.approx(expected.item(), rel=1e-9, abs=1e-12)
    # without local losses: one derivative per example, of the final loss end to end
    d = trace.directional_derivatives(v, y, "joint", local_losses=False)
    for b in range(3):
        loss = F.cross_entropy(model.run(x, zeros)[1][b:b + 1], y[b:b + 1], reduction="sum")
        grads = torch.autograd.grad(loss, zeros)
        assert d[b].item() == pytest.approx(sum((gr * t).sum() for gr, t in zip(grads, v)).item(), rel=1e-9)


def test_no_gradient_crosses_a_stop_gradient():
    model, (x, y) = tiny(), batch()
    outs, _ = model.run(x, local=True)
    for k in range(2):
        loss = F.cross_entropy(model.heads[k](outs[k].mean(1)), y)
        names, params = zip(*model.named_parameters())
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        for name, gr in zip(names, grads):
            inside = name.startswith(f"blocks.{k}.") or name.startswith(f"heads.{k}.")
            if inside:
                assert gr is not None and gr.abs().sum() > 0, name
            else:
                assert gr is None or torch.all(gr == 0), name
    # and in the forward-mode pass: a tangent in block 1 only moves block 1's local losses
    trace = model.trace(x)
    v = [t if k == 1 else torch.zeros_like(t) for t, k in zip(normal_guesses(trace, 2), site_blocks(model))]
    d = trace.directional_derivatives(v, y, "joint", local_losses=True)
    assert torch.all(d[0] == 0) and d[1].abs().sum() > 0


def test_group_linear_and_token_mixing_equal_plain_loops():
    torch.manual_seed(0)
    gl, tm = GroupLinear(3, 4, 5).double(), TokenMixing(6).double()
    x = torch.randn(2, 6, 3, 4, dtype=torch.float64)
    out = gl(x)
    for b in range(2):
        for p in range(6):
            for g in range(3):
                assert torch.allclose(out[b, p, g], gl.weight[g] @ x[b, p, g] + gl.bias[g])
    h = torch.randn(2, 6, 7, dtype=torch.float64)
    out = tm(h)
    for b in range(2):
        for c in range(7):
            assert torch.allclose(out[b, :, c], tm.weight @ h[b, :, c] + tm.bias)
    # patches are row-major, each flattened as (row, column, channel)
    img = torch.arange(2 * 3 * 8 * 8, dtype=torch.float64).view(2, 3, 8, 8)
    t = patchify(img, 4)
    assert t.shape == (2, 4, 48)
    assert torch.equal(t[1, 2].view(4, 4, 3), img[1, :, 4:8, 0:4].permute(1, 2, 0))


@pytest.mark.parametrize("local", [False, True])
def test_wt_guess_is_the_next_maps_transpose_masked_by_relu(local):
    model, (x, y) = tiny(channels=32), batch()  # 16 channels per group > 10 classes: the head's range is a subspace
    ctx, guesses, _ = M.get("wt", local_losses=local).probe(model, x, y, gen(3))
    g = gen(3)
    kinds = model.site_kinds()
    for i, ((k, kind), guess) in enumerate(zip(kinds, guesses)):
        z = torch.randn(ctx.trace.next_shape(i, local), generator=g, dtype=torch.float64)
        site = ctx.trace.sites[i]
        block = model.blocks[k]
        # the transpose as autograd's vector-Jacobian product of the next map (bias-free)
        inp = torch.zeros(site.post.shape, dtype=torch.float64, requires_grad=True)
        if kind in ("embed", "channel"):
            nxt = lambda a: torch.einsum("bpgi,goi->bpgo", a.view(*a.shape[:2], 2, -1), block.group.weight)
        elif kind == "token":
            nxt = lambda a: a @ block.channel.weight.T
        elif local:
            c = model.channels // model.groups
            heads = model.heads[k].weight.view(10, 2, c)  # per (patch, group): H_{k,g} a[b, p, g]
            nxt = lambda a: torch.einsum("bpgc,kgc->bpgk", a.view(*a.shape[:2], 2, c), heads)
        elif k == model.num_blocks - 1:
            nxt = lambda a: a.mean(1) @ model.classifier.weight.T * a.shape[1]  # the patch mean, 1/P dropped
        else:
            nxt = lambda a: torch.einsum("pq,bqc->bpc", model.blocks[k + 1].token.weight, a)
        (vjp,) = torch.autograd.grad(nxt(inp), inp, z)
        expected = vjp.reshape(guess.shape) * site.mask
        assert torch.allclose(guess, expected, atol=1e-12), (i, kind)
    if local:  # the head site's guess lies in the 10-dim range of H_{k,g}ᵀ (masked): a random vector does not
        i = [j for j, (k, kind) in enumerate(kinds) if kind == "group"][0]
        site, w = ctx.trace.sites[i], model.heads[0].weight.detach().view(10, 2, 16)
        for p in range(3):
            m = site.mask[0, p, 0]
            basis = (w[:, 0, :].T)[m]                              # masked rows of H_{0,0}ᵀ
            if basis.shape[0] <= 10:
                continue
            for vec, inside in ((guesses[i][0, p, 0][m], True), (torch.randn(int(m.sum()), dtype=torch.float64), False)):
                sol = torch.linalg.lstsq(basis, vec[:, None]).solution
                resid = (basis @ sol - vec[:, None]).norm() / vec.norm()
                assert (resid < 1e-9) == inside


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    data.prepare("synthetic", root, max_train=512, max_test=128)
    return root


CASES = [("backprop", {})] + [(m, {"local_losses": loc}) for m in ("activation_perturbation", "activation_mixing", "wt")
                              for loc in (False, True)]


@pytest.mark.parametrize("method,options", CASES, ids=[f"{m}-{o}" for m, o in CASES])
def test_a_short_cpu_run_learns_with_every_method(synthetic, method, options):
    torch.manual_seed(0)
    d = data.load("synthetic", synthetic)
    model = build_mixer_seeded((3, 32, 32), 10, 0, **TINY)
    est = M.get(method, **options)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = gen(0)
    x, y = d.x_train[:256], d.y_train[:256]
    with torch.no_grad():
        before = F.cross_entropy(model(x), y).item()
    for step in range(60):
        idx = torch.randint(0, len(d.x_train), (64,), generator=g)
        e = est.compute(model, d.x_train[idx], d.y_train[idx], g)
        for name, p in model.named_parameters():
            p.grad = e.grads[name]
        opt.step()
    with torch.no_grad():
        after = F.cross_entropy(model(x), y).item()
    assert after < before - 0.1, (before, after)


def test_the_trainer_trains_a_localmixer_with_augmentation_and_resumes(synthetic, tmp_path, monkeypatch):
    spec = RunSpec(model=Part("localmixer", {"blocks": 2, "channels": 16, "patch": 8, "groups": 2}),
                   method=Part("activation_perturbation", {"local_losses": True}), dataset="synthetic", augment=True,
                   optimizer="adamw", lr=1e-3, batch_size=128, epochs=2)
    runtime = Runtime(data_root=str(synthetic), device="cpu", checkpoint_minutes=0, progress=False)

    def train(_, out, progress=False):
        return train_run(spec, 0, out, runtime)
    cfg = None
    result = train(cfg, tmp_path / "run", progress=False)
    assert result["status"] == "completed" and result["steps"] == 8
    weights = torch.load(tmp_path / "run" / "weights.pt", weights_only=True)["state"]
    assert "heads.1.weight" in weights and "blocks.1.token.weight" in weights
    with pytest.raises(SpecError, match="monitor"):
        check(spec.with_(monitor_every=5))
    # killed in epoch 2, resumed: the same weights bit for bit (the augmentation generator is checkpointed)
    real = kill_on_call(monkeypatch, train_mod, "evaluate", 2)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "cut", progress=False)
    monkeypatch.setattr(train_mod, "evaluate", real)
    train(cfg, tmp_path / "cut", progress=False)
    resumed = torch.load(tmp_path / "cut" / "weights.pt", weights_only=True)["state"]
    assert all(torch.equal(weights[k], resumed[k]) for k in weights)


def test_augmentation_keeps_shapes_flips_shifts_and_is_seeded():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8) + 1
    out = random_crop_flip(x, gen(0), padding=2)
    assert out.shape == x.shape
    assert torch.equal(out, random_crop_flip(x, gen(0), padding=2))
    assert not torch.equal(out, random_crop_flip(x, gen(1), padding=2))
    # no padding: every image is itself or its mirror, and over a batch both happen
    xs = torch.randn(64, 3, 8, 8)
    flipped = random_crop_flip(xs, gen(2), padding=0)
    same = (flipped == xs).flatten(1).all(1)
    mirror = (flipped == xs.flip(3)).flatten(1).all(1)
    assert torch.all(same | mirror) and same.any() and mirror.any()
    # no flip: each image is its content shifted by (dy, dx), zeros where the shift uncovered pixels
    shifted = random_crop_flip(x, gen(3), padding=2, flip=False)
    for b in range(2):
        padded = F.pad(x[b], (2, 2, 2, 2))
        windows = [(dy, dx) for dy in range(5) for dx in range(5)
                   if torch.equal(padded[:, dy:dy + 8, dx:dx + 8], shifted[b])]
        assert len(windows) == 1
    crops = random_crop_flip(x.repeat(32, 1, 1, 1), gen(4), padding=2, flip=False)
    assert (crops == 0).any()  # some crop shifted zero padding in
