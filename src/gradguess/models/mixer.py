"""The LocalMixer of Ren et al. (2022), "Scaling forward gradient with local losses", in plain PyTorch.

Written from the paper and from reading their JAX code (google-research,
`local_forward_gradient/train_mixer_supervised.py`, `mixer_lib.py`,
`spatial_avg_linear_v2.py`); no code is copied.

Input. Images [B, 3, 32, 32] as our loader gives them: scaled to [0, 1] and
normalised per channel with the *training set's own* mean and std
(`data.load`). Ren et al. normalise with fixed constants (mean 0.4914, 0.4822,
0.4465; std 0.2023, 0.1994, 0.2010): the means agree, their "std" constants are
smaller than the true pixel std (≈0.247, 0.243, 0.261), so our inputs are ~20%
smaller in scale; the first LayerNorm removes that difference for everything
but the first map's bias. Cut into non-overlapping `patch`×`patch` patches,
row-major, each flattened as (row, column, channel): tokens [B, P, patch_dim].

Notation: C channels, G groups of C/G channels, P patches, K classes.
LN is LayerNorm without affine parameters (eps 1e-5) over the channel axis;
LN_g the same within each group.

    block 0:   s = E t                (E: patch_dim → C, shared by all patches)
               z = LN(s),                     a = ReLU(z)
               s = GL(a),  z = LN_g(s),       h_0 = ReLU(z)
    block k>0: s = T h_{k-1}         (T: P × P over the patch axis, + bias per patch)
               z = LN(s),                     a = ReLU(z)
               s = M a               (M: C → C per patch, "channel mixing")
               z = LN(s),                     a = ReLU(z)
               s = GL(a),  z = LN_g(s),       h_k = ReLU(z + h_{k-1})
    GL: group-linear, group g maps channels of group g to channels of group g.

Every (map, LN) pair is a *site* (models/sites.py); its guessed variable is z,
the normalised pre-activation, as in Ren et al., who add their activity
perturbation after the LayerNorm and before the ReLU (and the residual sum).

Local losses (Ren et al.'s "block-wise, patch-wise, group-wise" losses). Block
k has a linear head H_k: C → K on the patch-mean of its output, split into
per-group heads H_{k,g}: C/G → K (the columns of group g), so the logits
are u_k = Σ_g H_{k,g} mean_p h_k[p, g] + b_k. The local loss of example b,
patch p and group g has the value CE(u_{k,b}, y_b) but depends only on
h_k[b, p, g]: every other patch and group enters through a stop-gradient. Its
directional derivative along a tangent ḣ is therefore

    d_k[b, p, g] = (1/P) ⟨ḣ_k[b, p, g], H_{k,g}ᵀ (softmax(u_{k,b}) − onehot(y_b))⟩.

(Ren et al.'s `spatial_avg_group_linear_cross_entropy` custom JVP.) The input
of each block sits behind a stop-gradient, so a block's losses see only that
block's sites. A site's guess is scaled part by part by the losses it feeds:
an (example, patch, group) slice of an embedding, channel-mixing or
group-linear guess by d_k[b, p, g]; an (example, patch) row of a
token-mixing guess, which reaches every group of its patch, by Σ_g d_k[b, p, g].
The heads and the final classifier (on the detached patch-mean of the last
block) learn from their exact gradients, which are local.

Without local losses, the one loss is the final classifier's cross-entropy,
end to end: one directional derivative per example, as for the MLP.

Sizes. Ren et al. name their CIFAR-10 network M/8/16: 8×8 patches (patch size
4) and 16 groups; the released code's ImageNet config (L/32/64: `num_blocks`
4, `num_patches` 32 per side, `num_channel_mlp_units` 2048, `num_groups` 64)
confirms the naming. For "M" we use 4 blocks and 512 channels, from Ren et
al.'s architecture table (Appendix) as we recall it; we could not open the
table itself to check, so treat blocks and channels as the uncertain part.
Init: every map and head as PyTorch's nn.Linear (uniform ±1/√fan_in), not Ren
et al.'s scaled normals.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.func import jvp
from torch.nn import functional as F

from gradguess.catalog import DEFAULT_MODE
from gradguess.models.mixer_facts import FACTS
from gradguess.models.sites import Sites, output_error

EPS = 1e-5
# Ren et al.'s M/8/16 on CIFAR-10 (see the module docstring for the source)
CIFAR10_SIZES = {"blocks": 4, "channels": 512, "patch": 4, "groups": 16}


def patchify(x: Tensor, patch: int) -> Tensor:
    """[B, C, H, W] → [B, P, patch·patch·C], patches row-major, each flattened as (row, column, channel)."""
    b, c, h, w = x.shape
    n, m = h // patch, w // patch
    return x.reshape(b, c, n, patch, m, patch).permute(0, 2, 4, 3, 5, 1).reshape(b, n * m, patch * patch * c)


def layer_norm(s: Tensor) -> Tensor:
    """LayerNorm without affine parameters over the last axis."""
    return F.layer_norm(s, s.shape[-1:], eps=EPS)


def layer_norm_backward(z: Tensor, rstd: Tensor, g: Tensor) -> Tensor:
    """∂ℓ/∂s from ∂ℓ/∂z for z = LN(s) over the last axis: rstd · (g − mean g − z · mean(g z))."""
    return rstd * (g - g.mean(-1, keepdim=True) - z * (g * z).mean(-1, keepdim=True))


def _uniform_(t: Tensor, fan_in: int) -> Tensor:
    bound = 1.0 / math.sqrt(fan_in)
    return nn.init.uniform_(t, -bound, bound)


class GroupLinear(nn.Module):
    """G independent linear maps: out[..., g, :] = W_g x[..., g, :] + b_g; weight [G, out, in], bias [G, out]."""

    def __init__(self, groups: int, fan_in: int, fan_out: int):
        super().__init__()
        self.weight = nn.Parameter(_uniform_(torch.empty(groups, fan_out, fan_in), fan_in))
        self.bias = nn.Parameter(_uniform_(torch.empty(groups, fan_out), fan_in))

    def forward(self, x: Tensor) -> Tensor:
        return torch.einsum("...gi,goi->...go", x, self.weight) + self.bias


class TokenMixing(nn.Module):
    """Dense mixing over the patch axis: out[b, p, c] = Σ_q W[p, q] h[b, q, c] + bias[p]."""

    def __init__(self, patches: int):
        super().__init__()
        self.weight = nn.Parameter(_uniform_(torch.empty(patches, patches), patches))
        self.bias = nn.Parameter(_uniform_(torch.empty(patches), patches))

    def forward(self, h: Tensor) -> Tensor:
        return torch.einsum("pq,bqc->bpc", self.weight, h) + self.bias[:, None]


@dataclass
class Site:
    """One (linear map, LayerNorm) of the forward pass: its input x, normalised output z and what follows."""

    block: int
    kind: str          # "embed" | "token" | "channel" | "group"
    x: Tensor          # the map's input ([B, P, ·], or [B, P, G, C/G] for "group")
    z: Tensor          # LN(map(x)), the guessed variable (shape of a guess)
    rstd: Tensor       # 1/σ of the LayerNorm, for its local backward
    mask: Tensor       # ReLU' at z's consumer (z > 0; z + residual > 0 for "group")
    post: Tensor       # that ReLU's output


class LocalMixer(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], num_classes: int, blocks: int = 4, channels: int = 512,
                 patch: int = 4, groups: int = 16):
        super().__init__()
        c_in, height, width = image_shape
        if height % patch or width % patch:
            raise ValueError(f"patch size {patch} does not divide the image size {height}×{width}")
        if channels % groups:
            raise ValueError(f"{groups} groups do not divide {channels} channels")
        if blocks < 1:
            raise ValueError(f"a LocalMixer needs >= 1 block, got {blocks}")
        self.image_shape, self.num_classes = tuple(image_shape), num_classes
        self.num_blocks, self.channels, self.patch, self.groups = blocks, channels, patch, groups
        self.patches = (height // patch) * (width // patch)
        per_group = channels // groups
        self.blocks = nn.ModuleList()
        for k in range(blocks):
            block = nn.Module()
            if k == 0:
                block.embed = nn.Linear(patch * patch * c_in, channels)
            else:
                block.token = TokenMixing(self.patches)
                block.channel = nn.Linear(channels, channels)
            block.group = GroupLinear(groups, per_group, per_group)
            self.blocks.append(block)
        self.heads = nn.ModuleList(nn.Linear(channels, num_classes) for _ in range(blocks))
        self.classifier = nn.Linear(channels, num_classes)

    def site_kinds(self) -> list[tuple[int, str]]:
        return [(k, kind) for k in range(self.num_blocks)
                for kind in (("embed", "group") if k == 0 else ("token", "channel", "group"))]

    def run(self, x: Tensor, noise: list[Tensor] | None = None, local: bool = False,
            record: list[Site] | None = None) -> tuple[list[Tensor], Tensor]:
        """The forward pass: block outputs [h_0, ...] ([B, P, C] each) and the final logits.

        `noise[i]` is added to site i's z (after the LayerNorm, before the ReLU);
        `local` puts every block's input, and the classifier's input, behind a
        stop-gradient; `record` receives each site's `Site`.
        """
        b, p, c, g = x.shape[0], self.patches, self.channels, self.groups
        i = 0  # the site being computed

        def site(layer, inp):
            nonlocal i
            s = layer(inp)
            z = layer_norm(s)
            if noise is not None:
                z = z + noise[i]
            i += 1
            return s, z

        def keep(k, kind, inp, s, z, mask, post):
            if record is not None:
                var = s.var(-1, unbiased=False, keepdim=True)
                record.append(Site(k, kind, inp, z, torch.rsqrt(var + EPS), mask, post))

        h, outs = None, []
        for k, block in enumerate(self.blocks):
            inp = h.detach() if (local and h is not None) else h
            if k == 0:
                t = patchify(x, self.patch)
                s, z = site(block.embed, t)
                a = torch.relu(z)
                keep(k, "embed", t, s, z, z > 0, a)
            else:
                s, z = site(block.token, inp)
                a = torch.relu(z)
                keep(k, "token", inp, s, z, z > 0, a)
                a_in = a
                s, z = site(block.channel, a_in)
                a = torch.relu(z)
                keep(k, "channel", a_in, s, z, z > 0, a)
            a_g = a.view(b, p, g, c // g)
            s, z = site(block.group, a_g)
            pre = z if k == 0 else z + inp.view(b, p, g, c // g)
            h = torch.relu(pre).view(b, p, c)
            keep(k, "group", a_g, s, z, pre > 0, h)
            outs.append(h)
        pooled = outs[-1].mean(1)
        logits = self.classifier(pooled.detach() if local else pooled)
        return outs, logits

    def forward(self, x: Tensor) -> Tensor:
        return self.run(x)[1]

    def head_logits(self, outs: list[Tensor]) -> list[Tensor]:
        return [head(h.mean(1)) for head, h in zip(self.heads, outs)]

    def objective(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Backprop's objective: the final cross-entropy end to end, plus each head's cross-entropy on its
        block's detached output (the heads learn, the backbone sees the final loss only).
        Returns (objective, logits, final loss)."""
        outs, logits = self.run(x)
        loss = F.cross_entropy(logits, y)
        heads = sum(F.cross_entropy(u, y) for u in self.head_logits([h.detach() for h in outs]))
        return loss + heads, logits, loss

    @torch.no_grad()
    def trace(self, x: Tensor) -> "MixerTrace":
        record: list[Site] = []
        outs, logits = self.run(x, record=record)
        return MixerTrace(self, x, record, outs, self.head_logits(outs), logits)

    def site_param_grads(self, site: Site, gs: Tensor) -> dict[str, Tensor]:
        """The site's parameter gradients from ∂L/∂s (the map's output, summed over the batch): outer products."""
        name = f"blocks.{site.block}.{site.kind}"
        if site.kind == "token":    # s[b,p,c] = Σ_q W[p,q] x[b,q,c] + bias[p]
            return {f"{name}.weight": torch.einsum("bpc,bqc->pq", gs, site.x), f"{name}.bias": gs.sum((0, 2))}
        if site.kind == "group":    # s[b,p,g,o] = Σ_i W[g,o,i] x[b,p,g,i] + bias[g,o]
            return {f"{name}.weight": torch.einsum("bpgo,bpgi->goi", gs, site.x), f"{name}.bias": gs.sum((0, 1))}
        # embed, channel: s[b,p,o] = Σ_i W[o,i] x[b,p,i] + bias[o]
        return {f"{name}.weight": torch.einsum("bpo,bpi->oi", gs, site.x), f"{name}.bias": gs.sum((0, 1))}

    def extra_repr(self) -> str:
        return (f"blocks={self.num_blocks}, channels={self.channels}, patch={self.patch}, groups={self.groups}, "
                f"patches={self.patches}")


@dataclass
class MixerTrace(Sites):
    """A LocalMixer forward pass as sites, in the order of `LocalMixer.site_kinds`."""

    model: LocalMixer = field(repr=False)
    x: Tensor
    sites: list[Site]
    outs: list[Tensor]
    heads: list[Tensor]    # each block's head logits
    logits: Tensor

    @property
    def num_sites(self) -> int:
        return len(self.sites)

    def shape(self, i: int) -> tuple[int, ...]:
        return tuple(self.sites[i].z.shape)

    def is_output(self, i: int) -> bool:
        return False  # every site feeds a ReLU; the logits come from the classifier, which is not a site

    def mask(self, i: int) -> Tensor:
        return self.sites[i].mask

    def post(self, i: int) -> Tensor:
        return self.sites[i].post

    # ---- the next linear map (W^T)
    def _next(self, i: int, local_losses: bool) -> tuple[str, nn.Module]:
        site, m = self.sites[i], self.model
        if site.kind in ("embed", "channel"):
            return "group", m.blocks[site.block].group
        if site.kind == "token":
            return "channel", m.blocks[site.block].channel
        if local_losses:
            return "head", m.heads[site.block]
        if site.block == m.num_blocks - 1:
            return "classifier", m.classifier
        # the next block's token mixing (its residual path, an identity, is left out)
        return "token", m.blocks[site.block + 1].token

    def next_weight(self, i: int, local_losses: bool = False) -> Tensor:
        return self._next(i, local_losses)[1].weight.detach()

    def next_shape(self, i: int, local_losses: bool = False) -> tuple[int, ...]:
        kind, _ = self._next(i, local_losses)
        m, b = self.model, self.x.shape[0]
        p, c, g, k = m.patches, m.channels, m.groups, m.num_classes
        return {"group": (b, p, g, c // g), "channel": (b, p, c), "token": (b, p, c),
                "head": (b, p, g, k), "classifier": (b, k)}[kind]

    def next_transpose(self, i: int, z: Tensor, weight: Tensor, local_losses: bool = False) -> Tensor:
        kind, _ = self._next(i, local_losses)
        m = self.model
        b, p, c, g = self.x.shape[0], m.patches, m.channels, m.groups
        if kind == "group":         # GLᵀ, group by group
            out = torch.einsum("bpgo,goi->bpgi", z, weight)
        elif kind == "channel":     # Mᵀ, patch by patch
            out = z @ weight
        elif kind == "token":       # Tᵀ over the patch axis
            out = torch.einsum("qp,bqc->bpc", weight, z)
        elif kind == "head":        # H_{k,g}ᵀ for every (patch, group): each local loss's own map
            out = torch.einsum("bpgk,kgc->bpgc", z, weight.view(-1, g, c // g))
        else:                       # classifier after the patch mean: the same Wᵀz at every patch (1/P dropped)
            out = (z @ weight)[:, None, :].expand(b, p, c)
        return out.reshape(self.shape(i))

    # ---- the forward-mode pass
    def directional_derivatives(self, guesses, y, mode=DEFAULT_MODE, local_losses=False):
        """One `torch.func.jvp` of the whole network with every site's guess as the tangent of its z.

        local_losses: [blocks, B, P, G], d_k[b, p, g] of every local loss (module docstring);
        otherwise [B], the final loss's derivative per example.
        """
        if mode not in FACTS.modes:
            raise ValueError(f"the LocalMixer has JVP mode(s) {', '.join(FACTS.modes)} only, got {mode!r}")
        m = self.model
        b, p, c, g = self.x.shape[0], m.patches, m.channels, m.groups

        def forward(*noise):
            outs, logits = m.run(self.x, list(noise), local=local_losses)
            return (*outs, logits)

        zeros = tuple(torch.zeros_like(e) for e in guesses)
        with warnings.catch_warnings():  # torch's own forward-AD decompositions still call torch.jit.script
            warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
            _, tangents = jvp(forward, zeros, tuple(guesses))
        if not local_losses:
            return (tangents[-1] * output_error(self.logits, y)).sum(-1)
        d = []
        for k, h_dot in enumerate(tangents[:-1]):
            u = (output_error(self.heads[k], y) @ m.heads[k].weight.detach()).view(b, g, c // g)  # H_kᵀ e, per group
            d.append(torch.einsum("bpgc,bgc->bpg", h_dot.view(b, p, g, c // g), u) / p)
        return torch.stack(d)

    def scale(self, i: int, d: Tensor, guess: Tensor) -> Tensor:
        if d.dim() == 1:
            return d.view(-1, *([1] * (guess.dim() - 1))) * guess
        site, m = self.sites[i], self.model
        dk = d[site.block]                                     # [B, P, G]
        if site.kind == "group":
            return dk[..., None] * guess
        if site.kind == "token":
            return dk.sum(-1, keepdim=True) * guess
        return dk.repeat_interleave(m.channels // m.groups, dim=-1) * guess

    def updates(self, estimates, y, local_losses=False):
        """Backbone: per site, ∂ℓ/∂z → ∂ℓ/∂s through its LayerNorm, then outer products, averaged over the
        batch. Heads and classifier: their exact (local) gradients of the batch-mean cross-entropy."""
        m, b = self.model, y.shape[0]
        grads: dict[str, Tensor] = {}
        for site, g in zip(self.sites, estimates):
            gs = layer_norm_backward(site.z, site.rstd, g) / b
            grads.update(m.site_param_grads(site, gs))
        for k, (h, u) in enumerate(zip(self.outs, self.heads)):
            e = output_error(u, y) / b
            grads[f"heads.{k}.weight"] = e.T @ h.mean(1)
            grads[f"heads.{k}.bias"] = e.sum(0)
        e = output_error(self.logits, y) / b
        grads["classifier.weight"] = e.T @ self.outs[-1].mean(1)
        grads["classifier.bias"] = e.sum(0)
        return grads


def build(options: dict, input_shape, num_classes: int, seed: int) -> LocalMixer:
    """The LocalMixer a run with `seed` starts from (the registry's entry; options: blocks, channels, patch, groups)."""
    torch.manual_seed(seed)
    return LocalMixer(tuple(input_shape), num_classes, **{k: int(options[k]) for k in CIFAR10_SIZES})
