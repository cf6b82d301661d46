"""Models whose structure the forward-gradient engine can read: each one's `trace(x)` returns its linear sites
(models/sites.py). One file per model, its facts beside it (`<file>_facts.py`: gradguess.models.facts), found by
name:

    mlp          the paper's MLPs (models/mlp.py)
    localmixer   Ren et al.'s LocalMixer, Table 1 (models/mixer.py)
    vit_prompt   a frozen ViT with VPT-shallow prompts, Figure 9 (models/vit_prompt.py; needs timm, imported on use)

Each module has `build(options, input_shape, num_classes, seed)`: the model a run with that seed starts from, made
on the CPU so that every device starts equal. `build(part, ...)` builds one from a run specification's model part;
`save` writes a weights file that names its model, `load` rebuilds any model from one (and reads the bare MLP state
dicts and checkpoints of older runs). A model defined elsewhere (a test's) joins with `register` and leaves with
`unregister`. Importing this package imports no torch (the facts are read while the Snakefile is parsed); building
or loading a model does.
"""
from __future__ import annotations

import importlib
import math
from typing import Callable

from gradguess.models import facts

WEIGHTS_FORMAT = "gradguess-weights-v1"
_REGISTERED: dict[str, Callable] = {}
# the classes, loaded on first use: a run imports its own model's file only (and its code digest names only that)
_LAZY = {"MLP": "mlp", "Trace": "mlp", "LocalMixer": "mixer", "MixerTrace": "mixer", "CIFAR10_SIZES": "mixer",
         "Sites": "sites"}


def __getattr__(attr: str):
    if attr in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[attr]}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def _module(name: str):
    return importlib.import_module(f"{__name__}.{facts.get(name).module}")

__all__ = ["MLP", "Trace", "LocalMixer", "MixerTrace", "Sites", "CIFAR10_SIZES", "build", "save", "load",
           "register", "unregister", "names", "facts", "weights_record", "build_seeded", "build_mixer_seeded",
           "load_model", "model_from_state"]


def names() -> list[str]:
    return facts.names()


def register(model: facts.ModelFacts, builder: Callable) -> None:
    """Add a model defined outside this package: its facts (gradguess.models.facts.ModelFacts) and
    `builder(options, input_shape, num_classes, seed)`."""
    facts.add(model)
    _REGISTERED[model.name] = builder


def unregister(name: str) -> None:
    """Remove a model `register` added (a test's, when it is done)."""
    facts.remove(name)
    _REGISTERED.pop(name, None)


def _builder(name: str) -> Callable:
    if name in _REGISTERED:
        return _REGISTERED[name]
    try:
        return _module(name).build
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None


def build(part, input_shape, num_classes: int, seed: int):
    """The model `part` ({name, options}) for data of `input_shape` (C, H, W) and `num_classes`, as a run with
    `seed` starts from."""
    return _builder(part.name)(dict(part.options), tuple(int(s) for s in input_shape), int(num_classes), int(seed))


def _state(model) -> dict:
    """What a weights file keeps: the trainable tensors of a model with a frozen part rebuilt from elsewhere."""
    return model.trainable_state() if hasattr(model, "trainable_state") else model.state_dict()


def weights_record(model, part, input_shape, num_classes: int, seed: int) -> dict:
    """What a weights file holds: the model's tensors and what rebuilds the model, so `load` needs nothing else."""
    return {"format": WEIGHTS_FORMAT, "model": part.to_dict(), "input_shape": [int(s) for s in input_shape],
            "num_classes": int(num_classes), "seed": int(seed), "state": _state(model)}


def save(model, part, input_shape, num_classes: int, seed: int, path) -> None:
    from gradguess.io import torch_save

    torch_save(weights_record(model, part, input_shape, num_classes, seed), path)


def load(path, device):
    """Any model from a weights file (`save`), a training checkpoint, an epoch snapshot, or the bare MLP state dict
    or prompted-ViT checkpoint of older runs."""
    from gradguess.errors import CheckpointError
    from gradguess.io import read_checkpoint

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


def _from_record(obj: dict, path):
    """The model a weights record names, once its tensors are checked against it (names, shapes, dtypes): read off
    the model built on the meta device first, so a record naming a huge model allocates nothing."""
    import torch

    from gradguess import checkpoints
    from gradguess.checkpoints import Damaged
    from gradguess.errors import CheckpointError
    from gradguess.spec import Part

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
    from gradguess.spec import Part

    return build(Part("mlp", {"depth": depth, "width": width}), (in_features, 1, 1), num_classes, seed)


def build_mixer_seeded(image_shape: tuple[int, int, int], num_classes: int, seed: int, blocks: int = 4,
                       channels: int = 512, patch: int = 4, groups: int = 16):
    """The LocalMixer a training run with `seed` starts from; defaults: Ren et al.'s M/8/16."""
    from gradguess.spec import Part

    return build(Part("localmixer", {"blocks": blocks, "channels": channels, "patch": patch, "groups": groups}),
                 image_shape, num_classes, seed)


def in_features(input_shape) -> int:
    return math.prod(int(s) for s in input_shape)
