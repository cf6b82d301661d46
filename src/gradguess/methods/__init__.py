"""Every gradient-guessing method of the paper, behind one interface.

    est = gradguess.methods.get("wt", mode="per_layer")
    grads = est.estimate(model, x, y, generator)   # keyed like model.named_parameters()

Method `name` lives in `methods/<name>.py`. A new method is one `Estimator`
subclass there (an `ActivationGuess` with a `guess` rule, for activation-space
methods) and one entry in `_METHODS`. The registry loads a method's module when
the method is asked for, so listing the names (the CLI, the Snakefile) needs no torch.
"""
from __future__ import annotations

import importlib
import inspect

from gradguess.catalog import DEFAULT_MODE, MODES  # JVP modes of the activation-space methods (engine.py)

# name -> class in methods/<name>.py
_METHODS = {
    "backprop": "Backprop",
    "directional": "Directional",
    "activation_perturbation": "ActivationPerturbation",
    "activation_mixing": "ActivationMixing",
    "wt": "WT",
    "downstream": "Downstream",
    "self_sharpening": "SelfSharpening",
    "cosine_matched_directional": "CosineMatchedDirectional",
    "wt_sv_power": "WTSVPower",
}
# the `memory` option: keep every layer's activations (default), or recompute them in a second sweep (low_memory.py)
MEMORY = ("default", "low")


class UnknownMethodError(ValueError):
    pass


def names() -> list[str]:
    return list(_METHODS)


def method_class(name: str) -> type:
    if name not in _METHODS:
        raise UnknownMethodError(f"unknown method {name!r}; valid methods: {', '.join(names())}")
    return getattr(importlib.import_module(f"{__name__}.{name}"), _METHODS[name])


def valid_options(name: str) -> list[str]:
    params = inspect.signature(method_class(name).__init__).parameters.values()
    return [p.name for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def get(name: str, **options):
    cls = method_class(name)
    unknown = sorted(set(options) - set(valid_options(name)))
    if unknown:
        valid = ", ".join(valid_options(name)) or "none"
        raise UnknownMethodError(f"method {name!r} has no option(s) {', '.join(unknown)}; valid options: {valid}")
    return cls(**options)


def parse_value(value: str):
    """A method option's value from text: true/false, else int, else float, else the string."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def __getattr__(attr: str):
    # the interface classes, loaded (with torch) on first use
    if attr in ("Estimator", "Estimate"):
        return getattr(importlib.import_module(f"{__name__}.base"), attr)
    if attr == "ActivationGuess":
        return importlib.import_module(f"{__name__}.engine").ActivationGuess
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


__all__ = ["get", "names", "valid_options", "method_class", "parse_value", "Estimator", "Estimate", "ActivationGuess", "MODES", "DEFAULT_MODE",
           "MEMORY", "UnknownMethodError"]
