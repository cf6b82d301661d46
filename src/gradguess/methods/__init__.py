"""Every gradient-guessing method of the paper, behind one interface.

    est = gradguess.methods.get("wt", mode="per_layer")
    grads = est.estimate(model, x, y, generator)   # keyed like model.named_parameters()

A new method is one `Estimator` subclass (an `ActivationGuess` with a `guess`
rule, for activation-space methods) added to `_METHODS`.
"""
from __future__ import annotations

import inspect

from gradguess.methods.activation_mixing import ActivationMixing
from gradguess.methods.activation_perturbation import ActivationPerturbation
from gradguess.methods.backprop import Backprop
from gradguess.methods.base import Estimate, Estimator
from gradguess.methods.cosine_matched_directional import CosineMatchedDirectional
from gradguess.methods.directional import Directional
from gradguess.methods.downstream import Downstream
from gradguess.methods.engine import MODES, ActivationGuess
from gradguess.methods.self_sharpening import SelfSharpening
from gradguess.methods.wt import WT
from gradguess.methods.wt_sv_power import WTSVPower

_METHODS: dict[str, type[Estimator]] = {
    cls.name: cls
    for cls in (
        Backprop, Directional, ActivationPerturbation, ActivationMixing, WT, Downstream,
        SelfSharpening, CosineMatchedDirectional, WTSVPower,
    )
}


class UnknownMethodError(ValueError):
    pass


def names() -> list[str]:
    return list(_METHODS)


def valid_options(name: str) -> list[str]:
    return [p for p in inspect.signature(_METHODS[name].__init__).parameters if p != "self"]


def get(name: str, **options) -> Estimator:
    if name not in _METHODS:
        raise UnknownMethodError(f"unknown method {name!r}; valid methods: {', '.join(names())}")
    unknown = sorted(set(options) - set(valid_options(name)))
    if unknown:
        valid = ", ".join(valid_options(name)) or "none"
        raise UnknownMethodError(f"method {name!r} has no option(s) {', '.join(unknown)}; valid options: {valid}")
    return _METHODS[name](**options)


__all__ = ["get", "names", "valid_options", "Estimator", "Estimate", "ActivationGuess", "MODES",
           "UnknownMethodError"]
