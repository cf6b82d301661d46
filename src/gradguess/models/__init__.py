"""Models whose structure the forward-gradient engine can read: each one's `trace(x)` returns its linear sites
(models/sites.py). One file per model, found by name:

    mlp          the paper's MLPs (models/mlp.py)
    localmixer   Ren et al.'s LocalMixer, Table 1 (models/mixer.py)
    vit_prompt   a frozen ViT with VPT-shallow prompts, Figure 9 (models/vit_prompt.py; needs timm, imported on use)

Each module has `build(options, input_shape, num_classes, seed)`: the model a run with that seed starts from, made
on the CPU so that every device starts equal. `build(part, ...)` builds one from a run specification's model part;
`save` writes a weights file that names its model, `load` rebuilds any model from one (and reads the bare MLP state
dicts and checkpoints of older runs). A model defined elsewhere (a test's) joins with `register`.
"""
from __future__ import annotations

import importlib
import math
from typing import Callable

import torch

from gradguess import catalog, checkpoints
from gradguess.checkpoints import Damaged
from gradguess.errors import CheckpointError
from gradguess.io import read_checkpoint, torch_save
from gradguess.models.sites import Sites
from gradguess.spec import Part

WEIGHTS_FORMAT = "gradguess-weights-v1"
_REGISTERED: dict[str, Callable] = {}
# the classes, loaded on first use: a run imports its own model's file only (and its code digest names only that)
_LAZY = {"MLP": "mlp", "Trace": "mlp", "LocalMixer": "mixer", "MixerTrace": "mixer", "CIFAR10_SIZES": "mixer"}


def __getattr__(attr: str):
    if attr in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[attr]}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def _module(name: str):
    return importlib.import_module(f"{__name__}.{catalog.MODEL_MODULES[name]}")

__all__ = ["MLP", "Trace", "LocalMixer", "MixerTrace", "Sites", "CIFAR10_SIZES", "build", "save", "load",
           "register", "names", "weights_record", "build_seeded", "build_mixer_seeded", "load_model", "model_from_state"]


def names() -> list[str]:
    return [*catalog.MODEL_MODULES, *_REGISTERED]


def register(name: str, builder: Callable, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
    """Add a model defined outside this package: `builder(options, input_shape, num_classes, seed)`; `required`
    (integer options) and `optional` are what a run specification's model options may hold."""
    catalog.MODELS[name] = (tuple(required), tuple(optional))
    _REGISTERED[name] = builder


def _builder(name: str) -> Callable:
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in catalog.MODEL_MODULES:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(names())}")
    return _module(name).build


def build(part: Part, input_shape, num_classes: int, seed: int) -> torch.nn.Module:
    """The model `part` ({name, options}) for data of `input_shape` (C, H, W) and `num_classes`, as a run with
    `seed` starts from."""
    return _builder(part.name)(dict(part.options), tuple(int(s) for s in input_shape), int(num_classes), int(seed))


def _state(model) -> dict:
    """What a weights file keeps: the trainable tensors of a model with a frozen part rebuilt from elsewhere."""
    return model.trainable_state() if hasattr(model, "trainable_state") else model.state_dict()


def weights_record(model, part: Part, input_shape, num_classes: int, seed: int) -> dict:
    """What a weights file holds: the model's tensors and what rebuilds the model, so `load` needs nothing else."""
    return {"format": WEIGHTS_FORMAT, "model": part.to_dict(), "input_shape": [int(s) for s in input_shape],
            "num_classes": int(num_classes), "seed": int(seed), "state": _state(model)}


def save(model, part: Part, input_shape, num_classes: int, seed: int, path) -> None:
    torch_save(weights_record(model, part, input_shape, num_classes, seed), path)


def load(path, device) -> torch.nn.Module:
    """Any model from a weights file (`save`), a training checkpoint, an epoch snapshot, or the bare MLP state dict
    or prompted-ViT checkpoint of older runs."""
    obj = read_checkpoint(path, device)
    if isinstance(obj, dict) and isinstance(obj.get("weights"), dict):
        obj = obj["weights"]  # a training checkpoint holds the weights record
    if isinstance(obj, dict) and obj.get("format") == WEIGHTS_FORMAT:
        return _from_record(obj, path).to(device)
    if isinstance(obj, dict) and obj.get("arch") == "vit_prompt":
        return _module("vit_prompt").from_checkpoint(obj, device, where=str(path))
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]  # an older training checkpoint: the MLP's state dict
    try:
        return model_from_state(obj).to(device)
    except Exception as exc:
        raise CheckpointError(f"{path} holds no weights of a known model ({exc})") from exc


def _from_record(obj: dict, path) -> torch.nn.Module:
    """The model a weights record names, once its tensors are checked against it (names, shapes, dtypes): read off
    the model built on the meta device first, so a record naming a huge model allocates nothing."""
    try:
        part = Part.from_dict("model", obj["model"])
        shape, classes, seed = obj["input_shape"], obj["num_classes"], obj["seed"]
        if not (isinstance(shape, list) and 1 <= len(shape) <= 4 and all(_positive(s) for s in shape)):
            raise Damaged("input_shape", f"is {shape!r}, not a list of 1 to 4 positive integers")
        for key, ok in (("num_classes", _positive(classes)), ("seed", _integer(seed))):
            if not ok:
                raise Damaged(key, f"is {obj[key]!r}, not a {'positive ' * (key == 'num_classes')}integer")
        with torch.device("meta"):
            expected = checkpoints.template(_state(build(part, shape, classes, seed)))
    except Damaged as exc:
        raise CheckpointError(f"{path} is not a weights record: {exc}") from None
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path} names a model that cannot be built here ({type(exc).__name__}: {exc})") from exc
    try:
        checkpoints.tensors(obj.get("state"), expected, "state")
    except Damaged as exc:
        raise CheckpointError(f"{path} does not fit the {part.name} it names: {exc}") from None
    model = build(part, shape, classes, seed)
    model.load_state_dict(obj["state"], strict=False)  # checked: exactly its trainable tensors (frozen ones built)
    return model


def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive(value) -> bool:
    return _integer(value) and value > 0


load_model = load  # the analyses' name for it


def model_from_state(state: dict):
    """Rebuild the MLP a bare state dict came from; depth and width are read off its weight shapes."""
    from gradguess.models.mlp import MLP

    weights = sorted((k for k in state if k.startswith("layers.") and k.endswith(".weight")),
                     key=lambda k: int(k.split(".")[1]))
    if not weights:
        raise ValueError("state dict holds no MLP layers")
    first, last = state[weights[0]], state[weights[-1]]
    model = MLP(first.shape[1], last.shape[0], depth=len(weights), width=first.shape[0],
                bias="layers.0.bias" in state)
    model.load_state_dict(state)
    return model


def build_seeded(in_features: int, num_classes: int, depth: int, width: int, seed: int):
    """The MLP a training run with `seed` starts from."""
    return build(Part("mlp", {"depth": depth, "width": width}), (in_features, 1, 1), num_classes, seed)


def build_mixer_seeded(image_shape: tuple[int, int, int], num_classes: int, seed: int, blocks: int = 4,
                       channels: int = 512, patch: int = 4, groups: int = 16):
    """The LocalMixer a training run with `seed` starts from; defaults: Ren et al.'s M/8/16."""
    return build(Part("localmixer", {"blocks": blocks, "channels": channels, "patch": patch, "groups": groups}),
                 image_shape, num_classes, seed)


def in_features(input_shape) -> int:
    return math.prod(int(s) for s in input_shape)
