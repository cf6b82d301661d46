"""Visual prompt tuning of a frozen ViT (VPT-shallow, Jia et al. 2022), as one more model for the engine (Figure 9).

The network. A timm VisionTransformer (ViT-B/16 for the paper: 16-pixel patches, width D = 768, 12 blocks of
12 heads; any size builds, a tiny one for the tests) without its classifier, every parameter frozen:

    t = [cls; E x_1 .. E x_N] + pos          patch embedding, class token, position embeddings (frozen)
    t = [t_cls; z_1 .. z_n; t_1 .. t_N]      the n prompt tokens z, after the CLS token and after the position
                                             embeddings (they get none), as Jia et al.'s `incorporate_prompt`
                                             (KMnP/vpt, src/models/vit_prompt/vit.py)
    f = LN(blocks(t)[cls])                   the CLS token's final normed features
    logits = W_head f + b_head

Only z ([n, D]) and the head learn. Init as Jia et al.: z ~ U(±√(6 / (3·16² + D))) (their xavier-uniform for a
16-pixel patch of 3 channels), the head's weight kaiming-normal (fan_out), its bias −log 99 (a constant over
classes, so softmax ignores it). Attention runs timm's non-fused path (`use_plain_attention`): PyTorch's fused
`scaled_dot_product_attention` has no forward-mode derivative.

The site. One: the prompt tokens, a copy per example, z ∈ [B, n, D]. It is not the output and no ReLU reads it
(`mask` is None). Each example b gets its own guess ε_b and its own directional derivative
d_b = ∇_z ℓ_b · ε_b from one `torch.func.jvp` of the frozen network with ε as the prompt's tangent (joint mode;
with one site `per_layer` is the same). The prompt's update is the batch mean of d_b ε_b, an estimate of
∇_prompt L for L = mean_b ℓ_b.

W^T for the prompt (§3.2). The first block reads a prompt token z two ways:

    h = z + Attn(LN1(t))[z's position]       the residual path: an identity
    q, k, v = W_qkv LN1(z) + b_qkv            the one linear map with weights that reads z (3D outputs)

so ∂ℓ/∂z = ∂ℓ/∂h + J_LN1(z)ᵀ W_qkvᵀ ∂ℓ/∂(q,k,v). At guess time everything but ∂ℓ/∂(q,k,v) is known:
W^T guesses it as n ~ N(0, I) in qkv's output space and keeps the rest, ε = J_LN1(z)ᵀ W_qkvᵀ n. That is §3.2's
W^T: the next linear map's transpose applied to noise at its output, times the local Jacobian between the site
and that map (ReLU' in the MLP, LN1's Jacobian here, known from z alone). What it ignores:
- the residual term ∂ℓ/∂h. Its map is the identity, whose range is everything: adding it would add isotropic
  noise (activation perturbation), not confine anything. The LocalMixer's W^T leaves its residual out likewise.
- that q, k and v play different parts (k and v of a prompt are read by every token, q only by the prompt's own
  attention row): n treats the 3D outputs alike.
Per token, J_LN1ᵀ removes the direction 1 (a constant shift of the token, which every LayerNorm ignores, so the
true gradient has no part along it either) and shrinks the direction of LN1's normalised z by ε_LN/(σ² + ε_LN):
ε spans D − 1 of D dimensions. At the prompt W^T reshapes the guess's covariance, J_LN1ᵀ W_qkvᵀ W_qkv J_LN1
(weighted by qkv's singular values and LN1's scale), far more than it narrows the space; the mean estimate is
that covariance times ∇ (§5).

Everything else. `post` is the prompt tokens (the same for every example, so activation mixing would only draw
random multiples of the prompt, a one-dimensional guess: it is not one of Figure 9's methods). The head learns
from its exact local gradient in every method: (softmax − one-hot) times the detached CLS features, which needs
no backward pass through the backbone (`updates` here; `local_parameters` for directional descent; backprop
computes it anyway). `updates` returns exactly the trainable parameters: prompt, head weight and bias.

Weights: `weights=` names a local file (models/vit_weights.py: Google's `.npz`, safetensors, or a weights-only
torch file). Checkpoints (`save_checkpoint`, `load_checkpoint`): the trainable tensors plus the options that
rebuild the model; the frozen backbone comes back from the same weights file (checked by its sha256) or, for a
randomly initialised backbone, from the seed.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from timm.models.vision_transformer import VisionTransformer
from torch import Tensor, nn
from torch.func import jvp

from gradguess import checkpoints
from gradguess.catalog import DEFAULT_MODE, MODES
from gradguess.errors import CheckpointError
from gradguess.models.mixer import layer_norm_backward
from gradguess.models.sites import Sites, output_error
from gradguess.models.vit_weights import read_backbone_state, sha256

VIT_B16 = {"patch": 16, "dim": 768, "depth": 12, "heads": 12, "mlp_ratio": 4.0}  # Dosovitskiy et al.'s ViT-B/16
CHECKPOINT_ARCH = "vit_prompt"


def use_plain_attention(module: nn.Module) -> int:
    """Switch every timm attention layer in `module` to its non-fused path (explicit softmax(q kᵀ) v), which
    forward-mode AD can differentiate; returns how many were switched. Per module, not timm's global flag."""
    switched = 0
    for m in module.modules():
        if hasattr(m, "fused_attn"):
            m.fused_attn = False
            switched += 1
    return switched


class ViTPrompt(nn.Module):
    def __init__(self, num_classes: int, image_shape=(3, 224, 224), patch: int = 16, dim: int = 768, depth: int = 12,
                 heads: int = 12, mlp_ratio: float = 4.0, n_prompt: int = 5, weights: str | None = None, seed: int = 0):
        super().__init__()
        c, h, w = (int(s) for s in image_shape)
        if h != w or h % patch:
            raise ValueError(f"the ViT needs square images whose side the patch size divides, "
                             f"got {h}×{w}, patch {patch}")
        if n_prompt < 1:
            raise ValueError(f"VPT needs >= 1 prompt token, got n_prompt={n_prompt}")
        self.options = {"num_classes": int(num_classes), "image_shape": [c, h, w], "patch": int(patch), "dim": int(dim),
                        "depth": int(depth), "heads": int(heads), "mlp_ratio": float(mlp_ratio),
                        "n_prompt": int(n_prompt), "weights": None if weights is None else str(weights),
                        "seed": int(seed), "weights_sha256": None}
        kwargs = dict(img_size=h, patch_size=patch, in_chans=c, num_classes=0, embed_dim=dim, depth=depth,
                      num_heads=heads, mlp_ratio=mlp_ratio, qkv_bias=True, global_pool="token")
        with torch.random.fork_rng(devices=[]):  # a random backbone from the seed, the global RNG untouched
            torch.manual_seed(seed)
            self.backbone = VisionTransformer(**kwargs, weight_init="" if weights is None else "skip")
        if weights is not None:
            self.backbone.load_state_dict(read_backbone_state(weights, self.backbone), strict=True)
            self.options["weights_sha256"] = sha256(weights)
        use_plain_attention(self.backbone)
        self.backbone.requires_grad_(False)
        self.backbone.eval()

        gen = torch.Generator().manual_seed(seed)
        bound = math.sqrt(6.0 / (c * patch * patch + dim))  # Jia et al.'s xavier-uniform prompt init
        self.prompt = nn.Parameter((torch.rand(n_prompt, dim, generator=gen) * 2 - 1) * bound)
        self.head = nn.Linear(dim, num_classes)
        with torch.no_grad():  # Jia et al.'s head: kaiming-normal (fan_out), bias -log((1 - 0.01) / 0.01)
            self.head.weight.copy_(torch.randn(num_classes, dim, generator=gen) * math.sqrt(2.0 / num_classes))
            self.head.bias.fill_(-math.log((1 - 0.01) / 0.01))
        self.num_classes, self.n_prompt, self.dim = num_classes, n_prompt, dim

    def train(self, mode: bool = True):
        super().train(mode)
        self.backbone.eval()  # frozen: never in training mode (Jia et al. keep the encoder in eval mode too)
        return self

    def local_parameters(self) -> tuple[str, ...]:
        """Trainable parameters learned from their exact local gradient in every method (not guessed)."""
        return ("head.weight", "head.bias")

    def embed(self, x: Tensor) -> Tensor:
        """The frozen tokens [B, 1 + N, D]: class token and patch embeddings plus their position embeddings."""
        b = self.backbone
        t = b.patch_embed(x)
        return torch.cat([b.cls_token.expand(t.shape[0], -1, -1), t], dim=1) + b.pos_embed

    def run(self, x: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        """Logits and CLS features with prompt tokens z ([n, D], shared, or [B, n, D], one copy per example)."""
        t = self.embed(x)
        z = z.expand(t.shape[0], -1, -1) if z.dim() == 2 else z
        t = torch.cat([t[:, :1], z, t[:, 1:]], dim=1)
        features = self.backbone.norm(self.backbone.blocks(t)[:, 0])  # LN is per token: the CLS token's alone
        return self.head(features), features

    def forward(self, x: Tensor) -> Tensor:
        return self.run(x, self.prompt)[0]

    @torch.no_grad()
    def trace(self, x: Tensor) -> "PromptTrace":
        logits, features = self.run(x, self.prompt)
        return PromptTrace(self, x, self.prompt.detach(), features, logits)

    def trainable_state(self) -> dict[str, Tensor]:
        return {n: p.detach().clone() for n, p in self.named_parameters() if p.requires_grad}

    def extra_repr(self) -> str:
        o = self.options
        return (f"image={o['image_shape']}, patch={o['patch']}, dim={o['dim']}, depth={o['depth']}, "
                f"heads={o['heads']}, n_prompt={o['n_prompt']}, weights={o['weights']}")


@dataclass
class PromptTrace(Sites):
    """A forward pass of the prompted ViT as one site: the prompt tokens (see the module docstring)."""

    model: ViTPrompt = field(repr=False)
    x: Tensor
    prompt: Tensor       # [n, D]
    features: Tensor     # [B, D], the CLS token's final normed features (the head's input)
    logits: Tensor

    def __post_init__(self):
        # LN1 of the first block on the prompt tokens: its Jacobian depends on z alone, the same for every example
        ln = self.model.backbone.blocks[0].norm1
        var, mean = torch.var_mean(self.prompt, dim=-1, unbiased=False, keepdim=True)
        self.rstd = torch.rsqrt(var + ln.eps)
        self.normalised = (self.prompt - mean) * self.rstd
        self.ln_scale = ln.weight.detach()

    @property
    def batch(self) -> int:
        return self.x.shape[0]

    @property
    def num_sites(self) -> int:
        return 1

    def shape(self, i: int) -> tuple[int, ...]:
        return (self.batch, *self.prompt.shape)

    def is_output(self, i: int) -> bool:
        return False

    def mask(self, i: int) -> None:
        return None  # no ReLU reads the prompt

    def post(self, i: int) -> Tensor:
        return self.prompt.expand(self.shape(i))

    # ---- the next linear map: the first block's qkv projection, through LN1 (W^T)
    def next_weight(self, i: int, local_losses: bool = False) -> Tensor:
        return self.model.backbone.blocks[0].attn.qkv.weight.detach()  # [3D, D]

    def next_shape(self, i: int, local_losses: bool = False) -> tuple[int, ...]:
        return (self.batch, self.prompt.shape[0], self.next_weight(i).shape[0])

    def next_transpose(self, i: int, z: Tensor, weight: Tensor, local_losses: bool = False) -> Tensor:
        """J_LN1(prompt)ᵀ Wᵀ z, token by token: z [B, n, 3D] → [B, n, D]."""
        return layer_norm_backward(self.normalised, self.rstd, self.ln_scale * (z @ weight))

    # ---- the forward-mode pass
    def directional_derivatives(self, guesses, y, mode=DEFAULT_MODE, local_losses=False):
        """d_b = ∇_z ℓ_b · ε_b for every example, from one jvp of the frozen network along the prompt guesses.
        Shape (B,) for `joint`, (1, B) for `per_layer` (one site: the same numbers)."""
        if local_losses:
            raise ValueError("the prompted ViT has no local losses: use local_losses=false")
        if mode not in MODES:
            raise ValueError(f"unknown JVP mode {mode!r}; valid modes: {', '.join(MODES)}")
        with warnings.catch_warnings():  # torch's own forward-AD decompositions still call torch.jit.script
            warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
            primal = self.post(0).contiguous()  # a copy per example: a dual tensor cannot be an expanded view
            _, dlogits = jvp(lambda z: self.model.run(self.x, z)[0], (primal,), (guesses[0],))
        d = (dlogits * output_error(self.logits, y)).sum(-1)
        return d if mode == "joint" else d[None]

    def scale(self, i: int, d: Tensor, guess: Tensor) -> Tensor:
        return (d if d.dim() == 1 else d[i]).view(-1, 1, 1) * guess

    def updates(self, estimates, y, local_losses=False):
        """The prompt: the batch mean of the per-example estimates. The head: its exact gradient of the batch-mean
        cross-entropy, (softmax − one-hot)ᵀ features / B, local to the output. Nothing for the frozen backbone."""
        b = y.shape[0]
        e = output_error(self.logits, y) / b
        return {"prompt": estimates[0].sum(0) / b, "head.weight": e.T @ self.features, "head.bias": e.sum(0)}


def build_vit_prompt(num_classes: int, image_shape=(3, 224, 224), seed: int = 0, **options) -> ViTPrompt:
    """The prompted ViT a run starts from (made on the CPU). Options: patch, dim, depth, heads, mlp_ratio
    (default ViT-B/16, `VIT_B16`), n_prompt (default 5), weights (a local weights file; None: a random backbone
    from the seed). The prompt and the head are drawn from the seed either way."""
    return ViTPrompt(num_classes, image_shape, seed=seed, **options)


def save_checkpoint(model: ViTPrompt, path) -> None:
    """The trainable tensors and the options that rebuild the rest (the backbone: its weights file, or the seed)."""
    from gradguess.io import torch_save

    torch_save({"arch": CHECKPOINT_ARCH, "options": dict(model.options), "state": model.trainable_state()}, path)


def from_checkpoint(obj: dict, device="cpu", weights=None, where: str = "checkpoint") -> ViTPrompt:
    """Rebuild a prompted ViT from `save_checkpoint`'s dict. `weights` overrides the recorded weights file (moved,
    or on another machine): it must have the recorded sha256. A state that holds backbone tensors too (a full
    `model.state_dict()`) is loaded as it is."""
    options = dict(obj["options"])
    recorded = options.pop("weights_sha256")
    if weights is not None:
        options["weights"] = str(weights)
    if options["weights"] is not None and not Path(options["weights"]).is_file():
        raise CheckpointError(f"{where} needs the backbone weights {options['weights']}, which do not exist "
                              "(pass the file's new place)")
    model = build_vit_prompt(**options)
    if recorded != model.options["weights_sha256"]:
        raise CheckpointError(f"{where} was trained on backbone weights with sha256 {recorded}, "
                              f"but {options['weights']} has {model.options['weights_sha256']}")
    state = obj["state"]
    full = isinstance(state, dict) and any(str(k).startswith("backbone.") for k in state)
    try:  # names, shapes and dtypes, as models.load checks a weights record
        checkpoints.tensors(state, checkpoints.template(model.state_dict() if full else model.trainable_state()),
                            "state")
    except checkpoints.Damaged as exc:
        raise CheckpointError(f"{where} does not fit the prompted ViT its options describe: {exc}") from None
    model.load_state_dict(state, strict=False)
    return model.to(device)


def load_checkpoint(path, device="cpu", weights=None) -> ViTPrompt:
    from gradguess.io import read_checkpoint

    obj = read_checkpoint(path, "cpu")
    if not (isinstance(obj, dict) and obj.get("arch") == CHECKPOINT_ARCH):
        raise CheckpointError(f"{path} is not a prompted-ViT checkpoint (no arch {CHECKPOINT_ARCH!r})")
    return from_checkpoint(obj, device, weights, where=str(path))


def build(options: dict, input_shape, num_classes: int, seed: int) -> ViTPrompt:
    """The registry's entry: a run's prompted ViT (options: patch, dim, depth, heads, n_prompt, mlp_ratio, weights)."""
    return build_vit_prompt(num_classes, tuple(input_shape), seed, **options)
