"""Activation perturbation: an isotropic N(0, I) guess for every layer's pre-activations (§3.2, A.2).

Guessing n numbers per layer instead of n² weights is the paper's first insight;
this is the unbiased baseline the structured guesses are compared against.
"""
from gradguess.methods.engine import ActivationGuess, GuessContext


class ActivationPerturbation(ActivationGuess):
    name = "activation_perturbation"

    def guess(self, ctx: GuessContext, i: int):
        return ctx.normal(i)
