"""Models whose structure the forward-gradient engine can read: each one's `trace(x)` returns its
linear sites (models/sites.py). `mlp` (the paper's MLPs), `localmixer` (Ren et al.'s LocalMixer, Table 1) and
`vit_prompt` (a frozen ViT with VPT-shallow prompts, Figure 9; imported on first use: it needs timm)."""
import torch

from gradguess.errors import CheckpointError
from gradguess.io import read_checkpoint
from gradguess.models.mixer import CIFAR10_SIZES, LocalMixer, MixerTrace
from gradguess.models.mlp import MLP, Trace
from gradguess.models.sites import Sites

ARCHS = ("mlp", "localmixer")

__all__ = ["MLP", "Trace", "LocalMixer", "MixerTrace", "Sites", "CIFAR10_SIZES", "ARCHS", "build", "build_seeded",
           "build_mixer_seeded", "load_model", "model_from_state"]


def build(name: str, in_features, num_classes: int, **options):
    """A model by name: `mlp` takes in_features (an int), `localmixer` and `vit_prompt` the image shape (C, H, W)."""
    models = {"mlp": MLP, "localmixer": LocalMixer, "vit_prompt": _build_vit_prompt}
    if name not in models:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(sorted(models))}")
    return models[name](in_features, num_classes, **options)


def _build_vit_prompt(image_shape, num_classes: int, **options):
    from gradguess.models.vit_prompt import build_vit_prompt

    return build_vit_prompt(num_classes, image_shape, **options)


def build_seeded(in_features: int, num_classes: int, depth: int, width: int, seed: int) -> MLP:
    """The MLP a training run with `seed` starts from (made on the CPU, so every device starts equal)."""
    torch.manual_seed(seed)
    return MLP(in_features, num_classes, depth, width)


def build_mixer_seeded(image_shape: tuple[int, int, int], num_classes: int, seed: int, blocks: int = 4,
                       channels: int = 512, patch: int = 4, groups: int = 16) -> LocalMixer:
    """The LocalMixer a training run with `seed` starts from (made on the CPU); defaults: Ren et al.'s M/8/16."""
    torch.manual_seed(seed)
    return LocalMixer(image_shape, num_classes, blocks=blocks, channels=channels, patch=patch, groups=groups)


def model_from_state(state: dict) -> MLP:
    """Rebuild the MLP a state dict came from; depth and width are read off its weight shapes."""
    weights = sorted((k for k in state if k.startswith("layers.") and k.endswith(".weight")),
                     key=lambda k: int(k.split(".")[1]))
    if not weights:
        raise ValueError("state dict holds no MLP layers")
    first, last = state[weights[0]], state[weights[-1]]
    model = MLP(first.shape[1], last.shape[0], depth=len(weights), width=first.shape[0],
                bias="layers.0.bias" in state)
    model.load_state_dict(state)
    return model


def load_model(path, device):
    """The MLP held by an epoch snapshot (a bare state dict) or by a training checkpoint; the prompted ViT held by
    `vit_prompt.save_checkpoint`'s file (its trainable tensors and options; the backbone from its weights file)."""
    state = read_checkpoint(path, device)
    if isinstance(state, dict) and state.get("arch") == "vit_prompt":
        from gradguess.models.vit_prompt import from_checkpoint

        return from_checkpoint(state, device, where=str(path))
    if isinstance(state, dict) and "model" in state:
        state = state["model"]
    try:
        return model_from_state(state).to(device)
    except Exception as exc:
        raise CheckpointError(f"{path} does not hold MLP weights ({exc})") from exc
