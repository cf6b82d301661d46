"""Pre-trained ViT backbone weights from a local file: checked, never unpickled, copied into one canonical file.

Compute nodes are offline, so the weights come from a file the user names. Such a file is untrusted input:

- `.npz`, as Google released ViT-B/16 ImageNet-21k (`ViT-B_16.npz`, the JAX/Flax layout:
  `Transformer/encoderblock_{i}/MultiHeadDotProductAttention_1/query/kernel`, ...). Each array's name, shape
  and dtype are read from its `.npy` header alone (`data.npz`: no array is decompressed, an object array is
  refused), checked against the layout a backbone of the requested size must have, and only then mapped onto
  timm's names by timm's own loader (`VisionTransformer.load_pretrained`, `allow_pickle=False` too), which
  reads just the sizes checked.
- `.safetensors`: plain tensors by construction; timm's names (`blocks.0.attn.qkv.weight`, ...), as timm's
  hub files (`timm/vit_base_patch16_224.orig_in21k`) and our canonical file have them. Names and shapes are
  checked from the header before a tensor is loaded.
- `.pth` / `.pt` / `.bin`: `torch.load(weights_only=True)` only (tensors and plain containers; any other
  pickled object is refused); timm's names, optionally inside {"model": ...} or {"state_dict": ...}.

A pre-training classifier in the file (`head/*`, `pre_logits/*` in Google's file, `head.*` in timm's) is
dropped: prompt tuning brings its own head. Anything else missing, unexpected or of the wrong shape stops
with an error naming the file and the offending names; so does a NaN or infinite weight (naming the tensor).

`convert_weights(src, dst, ...)` writes the canonical file: a `.safetensors` of the backbone's state dict
(timm names) whose metadata records the architecture it was checked against and the source's name and
sha256; `random_weights(dst, seed, ...)` writes one of a randomly initialised backbone (tests, small presets),
so that every run loads its backbone the same way. A backbone built from a canonical file also checks that architecture: the head count is invisible
in timm's tensor shapes (qkv is [3D, D] for any count), so only Google's layout and our metadata catch it.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import torch
from torch import Tensor, nn

from gradguess.data.limits import WEIGHTS_BYTES_FACTOR
from gradguess.errors import CheckpointError, load_failure
from gradguess.io import atomic_path

FORMAT = "gradguess-vit-backbone/1"
TORCH_SUFFIXES = (".pth", ".pt", ".bin")
SUFFIXES = (".npz", ".safetensors", *TORCH_SUFFIXES)
PRETRAINING_HEADS = ("head/", "pre_logits/", "head.", "pre_logits.")  # dropped: prompt tuning has its own head


def architecture(backbone: nn.Module) -> dict:
    """The sizes a weights file must match, read off a timm VisionTransformer."""
    block = backbone.blocks[0]
    return {"image": int(backbone.patch_embed.img_size[0]), "patch": int(backbone.patch_embed.patch_size[0]),
            "in_chans": int(backbone.patch_embed.proj.in_channels), "dim": int(backbone.embed_dim),
            "depth": len(backbone.blocks), "heads": int(block.attn.num_heads),
            "mlp_dim": int(block.mlp.fc1.out_features)}


def google_layout(arch: dict) -> dict[str, tuple[int, ...]]:
    """Every name and shape of Google's ViT `.npz` for a backbone of these sizes (the classifier left out)."""
    d, h, m, p, c = arch["dim"], arch["heads"], arch["mlp_dim"], arch["patch"], arch["in_chans"]
    tokens = 1 + (arch["image"] // p) ** 2
    shapes = {"embedding/kernel": (p, p, c, d), "embedding/bias": (d,), "cls": (1, 1, d),
              "Transformer/posembed_input/pos_embedding": (1, tokens, d),
              "Transformer/encoder_norm/scale": (d,), "Transformer/encoder_norm/bias": (d,)}
    for i in range(arch["depth"]):
        blk = f"Transformer/encoderblock_{i}/"
        att = blk + "MultiHeadDotProductAttention_1/"
        for ln in ("LayerNorm_0", "LayerNorm_2"):
            shapes[f"{blk}{ln}/scale"] = shapes[f"{blk}{ln}/bias"] = (d,)
        for part in ("query", "key", "value"):
            shapes[f"{att}{part}/kernel"], shapes[f"{att}{part}/bias"] = (d, h, d // h), (h, d // h)
        shapes[f"{att}out/kernel"], shapes[f"{att}out/bias"] = (h, d // h, d), (d,)
        shapes[f"{blk}MlpBlock_3/Dense_0/kernel"], shapes[f"{blk}MlpBlock_3/Dense_0/bias"] = (d, m), (m,)
        shapes[f"{blk}MlpBlock_3/Dense_1/kernel"], shapes[f"{blk}MlpBlock_3/Dense_1/bias"] = (m, d), (d,)
    return shapes


def _problems(path, found: dict[str, tuple], expected: dict[str, tuple], arch: dict) -> None:
    """Raise one error listing what is missing, unexpected or misshapen (classifier entries ignored)."""
    found = {k: v for k, v in found.items() if not k.startswith(PRETRAINING_HEADS)}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    wrong = sorted(f"{k} {tuple(found[k])} (expected {expected[k]})" for k in set(found) & set(expected)
                   if tuple(found[k]) != tuple(expected[k]))
    parts = [f"{label} ({len(names)}): {', '.join(names[:6])}{' ...' if len(names) > 6 else ''}"
             for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if names]
    if parts:
        raise CheckpointError(f"weights file {path} does not fit a ViT with {json.dumps(arch, sort_keys=True)}: "
                              + "; ".join(parts))


def _read_npz(path: Path, arch: dict) -> dict[str, Tensor]:
    from timm.models.vision_transformer import VisionTransformer

    from gradguess.data.npz import Npz

    with Npz(path, CheckpointError, f"weights file {path}") as npz:
        members = npz.members  # each array's shape and dtype, from its header: nothing loaded yet
    layout = google_layout(arch)
    _problems(path, {k: m.shape for k, m in members.items()}, layout, arch)
    odd = sorted(k for k in layout if members[k].dtype.kind != "f")
    if odd:
        raise CheckpointError(f"weights file {path}: {odd[0]} has dtype {members[odd[0]].dtype}, expected floats")
    declared = sum(m.nbytes for m in members.values())  # the classifier's arrays too, which no check above sizes
    most = WEIGHTS_BYTES_FACTOR * 4 * sum(math.prod(shape) for shape in layout.values())
    if declared > most:
        raise CheckpointError(f"weights file {path} declares {declared:,} bytes of arrays, more than the {most:,} "
                              f"({WEIGHTS_BYTES_FACTOR} x the backbone in float32: limits.WEIGHTS_BYTES_FACTOR) "
                              "a backbone's file may hold")
    skeleton = VisionTransformer(**_timm_kwargs(arch), weight_init="skip")
    skeleton.load_pretrained(str(path))  # timm's name mapping (transposes, q/k/v into qkv); reads the sizes checked
    return skeleton.state_dict()


def _read_safetensors(path: Path, expected: dict[str, tuple], arch: dict) -> dict[str, Tensor]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:  # the header (names, shapes, metadata): nothing loaded yet
            _problems(path, {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}, expected, arch)
            _check_metadata(path, f.metadata() or {}, arch)
            return {k: f.get_tensor(k) for k in expected}
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"weights file {path} is not a readable safetensors file "
                              f"({type(exc).__name__}: {exc})") from None


def _read_torch(path: Path) -> dict[str, Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # in our words: PyTorch's own text advises the unsafe way to load it
        raise CheckpointError(f"weights file {path} is not a plain-tensor torch file: {load_failure(exc)}; "
                              "use the file as released, or a .safetensors copy") from None
    for key in ("model", "state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise CheckpointError(f"weights file {path} holds no state dict of tensors")
    return obj


def _check_finite(path: Path, state: dict[str, Tensor], names) -> None:
    """A pre-trained backbone holds numbers: NaN or infinity means a damaged (or diverged) file."""
    for name in names:
        t = state[name]
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            named = f"{name} (timm's name for it)" if path.suffix == ".npz" else name
            raise CheckpointError(f"weights file {path}: tensor {named} holds {bad:,} NaN or infinite value(s) "
                                  f"of {t.numel():,}: refused")


def read_backbone_state(path, backbone: nn.Module) -> dict[str, Tensor]:
    """A state dict for `backbone` (timm names) from a weights file of any supported format, checked."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file {path} does not exist")
    if path.suffix not in SUFFIXES:
        raise CheckpointError(f"weights file {path}: unknown format {path.suffix!r}; use one of {', '.join(SUFFIXES)}")
    expected = {k: tuple(v.shape) for k, v in backbone.state_dict().items()}
    arch = architecture(backbone)
    if path.suffix == ".npz":
        state = _read_npz(path, arch)
    elif path.suffix == ".safetensors":
        state = _read_safetensors(path, expected, arch)
    else:
        state = _read_torch(path)
        _problems(path, {k: tuple(v.shape) for k, v in state.items()}, expected, arch)
    _check_finite(path, state, expected)
    return {k: state[k].to(torch.float32) for k in expected}


def _check_metadata(path: Path, meta: dict, arch: dict) -> None:
    """A canonical file says which architecture it was checked against: it must be this one."""
    if meta.get("format") != FORMAT:
        return
    try:
        found = json.loads(meta["architecture"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"weights file {path} says it is a converted backbone ({FORMAT}) but its metadata "
                              f"holds no readable architecture ({type(exc).__name__}: {exc}); convert the original "
                              "weights again with `gradguess weights`") from None
    if found != arch:
        raise CheckpointError(f"weights file {path} was converted for a ViT with {meta['architecture']}, "
                              f"not {json.dumps(arch, sort_keys=True)}")


def _timm_kwargs(arch: dict) -> dict:
    return {"img_size": arch["image"], "patch_size": arch["patch"], "in_chans": arch["in_chans"], "num_classes": 0,
            "embed_dim": arch["dim"], "depth": arch["depth"], "num_heads": arch["heads"],
            "mlp_ratio": arch["mlp_dim"] / arch["dim"], "qkv_bias": True, "global_pool": "token"}


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _write(dst, state: dict[str, Tensor], arch: dict, source: str, source_sha256: str) -> Path:
    from safetensors.torch import save

    dst = Path(dst)
    if dst.suffix != ".safetensors":
        raise ValueError(f"the canonical weights file is a .safetensors file, got {dst}")
    meta = {"format": FORMAT, "architecture": json.dumps(arch, sort_keys=True), "source": source,
            "source_sha256": source_sha256}
    blob = save({k: v.contiguous() for k, v in state.items()}, metadata=meta)
    with atomic_path(dst) as tmp:  # written by Python: safetensors' own writer reports a full disk as no OSError
        tmp.write_bytes(blob)
    return dst


def _arch(image, patch, in_chans, dim, depth, heads, mlp_dim) -> dict:
    return {"image": image, "patch": patch, "in_chans": in_chans, "dim": dim, "depth": depth, "heads": heads,
            "mlp_dim": mlp_dim}


def convert_weights(src, dst, image: int = 224, patch: int = 16, in_chans: int = 3, dim: int = 768,
                    depth: int = 12, heads: int = 12, mlp_dim: int = 3072) -> Path:
    """Check `src` (any supported format) against a ViT of these sizes (default ViT-B/16 at 224) and write
    the canonical `.safetensors` `dst` (timm names; metadata: the architecture, the source's name and sha256)."""
    from timm.models.vision_transformer import VisionTransformer

    arch = _arch(image, patch, in_chans, dim, depth, heads, mlp_dim)
    skeleton = VisionTransformer(**_timm_kwargs(arch), weight_init="skip")
    return _write(dst, read_backbone_state(src, skeleton), arch, Path(src).name, sha256(src))


def random_weights(dst, seed: int = 0, image: int = 224, patch: int = 16, in_chans: int = 3, dim: int = 768,
                   depth: int = 12, heads: int = 12, mlp_dim: int = 3072) -> Path:
    """The canonical file of a backbone initialised by timm from `seed` (not pre-trained: tests, small presets)."""
    from timm.models.vision_transformer import VisionTransformer

    arch = _arch(image, patch, in_chans, dim, depth, heads, mlp_dim)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        backbone = VisionTransformer(**_timm_kwargs(arch))
    return _write(dst, backbone.state_dict(), arch, f"random (seed {seed})", "")
