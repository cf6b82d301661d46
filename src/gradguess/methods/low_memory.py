"""Low-memory forward gradients for the MLP: the method option `memory="low"` (A.2).

The paper, A.2: turning the scaled guesses into weight updates "can be done in
a second forward pass once the JVP has been computed and does not require
storing activations for all layers, unlike backpropagation". The default mode
(engine.py) keeps every layer's input, mask, guess and estimate, so its memory
grows with depth. This mode keeps a few layers' tensors at a time:

1. sweep 1 runs the MLP forward layer by layer (`MLP.sweep`), carrying the
   joint tangent; layer i's guess comes from the method's own
   `guess(ctx, i)`, through a context whose sites (`SweepSites`) hold only the
   layers of a sliding window, and enters the tangent at once. At the output:
   each example's directional derivative d_b.
2. the generator goes back to its state before sweep 1, and sweep 2 repeats
   the forward pass and the guesses (the same random numbers, drawn in the
   same order), scales layer i's guess by d and hands layer i's weight and
   bias updates to `apply` before moving on.

Directional descent (weight space) runs the same two sweeps: sweep 1 is one
`torch.func.jvp` per layer with that layer's slice of ε, sweep 2 only draws ε
again and scales it by the directional derivative.

Alive at once: the window's inputs and masks (lookahead + 2 layers), one
tangent, one guess and its estimate, one layer's update; none of it grows with
depth. What `compute` returns, every layer's update, is weight-sized in either
mode: a caller that consumes the updates as they come (`sweeps` with an `apply`
that writes them into gradient buffers, or steps an optimizer per layer) keeps
the whole step flat in depth. Cost: a second forward pass and every guess
twice; on one CPU thread, 1.5x the default mode's step for W^T, 1.4x for
activation perturbation, 1.15x for directional descent at width 1024
(benchmarks/results/cpu-bench-low-memory.txt).

Every operation is the default mode's, in the same order (`tangent_step`,
`tangent_derivative` and `MLP.layer_updates` are shared; forward-mode AD is
op by op, so a jvp per layer is the whole network's jvp), so the estimates are
equal bit for bit (tests/test_low_memory.py).

Limits: the MLP only; JVP mode `joint` only (`per_layer` carries one tangent
per layer, which grows with depth); no local losses. A guess rule that reads
later layers' masks or activations says how many (`ActivationGuess.lookahead`,
downstream-k: k); the window holds that many more and refuses to answer
outside itself. Local exact errors (`ActivationGuess.exact`) must draw no
random numbers: sweep 1 interleaves them with the guesses. `probe` (tests,
analyses) always keeps everything.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable

import torch
from torch import Tensor
from torch.func import functional_call, jvp

from gradguess.methods import DEFAULT_MODE, MEMORY
from gradguess.methods.base import Estimate, mean_cross_entropy, noise, trainable
from gradguess.models.mlp import MLP, tangent_derivative, tangent_step
from gradguess.models.sites import Sites

Apply = Callable[[str, Tensor], None]


def check_option(memory, mode: str = DEFAULT_MODE, local_losses: bool = False) -> str:
    """The `memory` option's value, or a ValueError saying what it does not support."""
    if memory not in MEMORY:
        raise ValueError(f"option memory must be one of {', '.join(MEMORY)}; got {memory!r}")
    if memory == "low" and mode != "joint":
        raise ValueError(f"option memory='low' supports mode='joint' only, got mode={mode!r}: per_layer carries one "
                         "tangent per layer, whose memory grows with depth")
    if memory == "low" and local_losses:
        raise ValueError("option memory='low' is for the MLP, which has no local losses: use local_losses=false")
    return memory


def _check_model(model) -> None:
    if not isinstance(model, MLP):
        raise ValueError(f"option memory='low' is implemented for the MLP only, not for model "
                         f"{type(model).__name__}; use memory='default'")


def _generator(generator: torch.Generator | None, device: torch.device) -> torch.Generator:
    """The generator the guesses draw from: the given one, else the device's default one."""
    if generator is not None:
        return generator
    if device.type == "cuda":
        return torch.cuda.default_generators[device.index if device.index is not None else torch.cuda.current_device()]
    return torch.default_generator


class SweepSites(Sites):
    """The MLP's sites as a forward sweep sees them: shapes and weights of every layer, but the inputs and ReLU
    masks of the layers in the window only (`keep`, `drop`)."""

    def __init__(self, model: MLP, batch: int, like: Tensor):
        self.model, self.batch = model, batch
        self.inputs: dict[int, Tensor] = {}
        self.masks: dict[int, Tensor] = {}
        # device and dtype of the noise (GuessContext draws it like the logits) until the sweep reaches the output
        self.logits = like.new_empty((batch, 0))

    def keep(self, i: int, x: Tensor, mask: Tensor | None, out: Tensor) -> None:
        """Layer i's input, mask and output (the next layer's input, or the logits)."""
        self.inputs[i] = x
        if mask is None:
            self.logits = out
        else:
            self.masks[i], self.inputs[i + 1] = mask, out

    def drop(self, i: int) -> None:
        """Forget what only layers up to i needed: inputs x_0..x_i, masks m_0..m_{i-1} (layer i+1's tangent needs
        m_i)."""
        for store, stop in ((self.inputs, i + 1), (self.masks, i)):
            for j in [j for j in store if j < stop]:
                del store[j]

    def _get(self, store: dict, i: int, what: str) -> Tensor:
        if i not in store:
            raise LookupError(f"low-memory sweep: layer {i}'s {what} is not in the window (layers {sorted(store)}); "
                              "a guess rule that reads later layers must say how many (ActivationGuess.lookahead)")
        return store[i]

    @property
    def num_sites(self) -> int:
        return len(self.model.layers)

    def shape(self, i: int) -> tuple[int, ...]:
        return (self.batch, self.model.layers[i].out_features)

    def is_output(self, i: int) -> bool:
        return i == self.num_sites - 1

    def mask(self, i: int) -> Tensor | None:
        return None if self.is_output(i) else self._get(self.masks, i, "ReLU mask")

    def post(self, i: int) -> Tensor:
        return self._get(self.inputs, i + 1, "ReLU output")

    def next_weight(self, i: int, local_losses: bool = False) -> Tensor:
        return self.model.layers[i + 1].weight.detach()

    def next_shape(self, i: int, local_losses: bool = False) -> tuple[int, ...]:
        return self.shape(i + 1)

    def next_transpose(self, i: int, z: Tensor, weight: Tensor, local_losses: bool = False) -> Tensor:
        return z @ weight

    def scale(self, i: int, d: Tensor, guess: Tensor) -> Tensor:
        return d[:, None] * guess  # joint mode: as models.mlp.Trace.scale

    def directional_derivatives(self, guesses, y, mode, local_losses=False):
        raise NotImplementedError("the low-memory sweep carries the tangent itself")

    def updates(self, estimates, y, local_losses=False):
        raise NotImplementedError("the low-memory sweep forms each layer's update itself")


def _guess_sweep(est, ctx, x: Tensor, on_layer: Callable) -> None:
    """One forward sweep of x (and of the estimator's pool, if any) that forms each layer's guess, or its exact
    local error, as soon as the window holds what the guess reads, in layer order (the order of the default mode's
    random draws), and calls on_layer(i, guess, exact) with it; the guess is zero where the error is exact, as in
    `ActivationGuess.probe`."""
    model, ahead = ctx.model, est.lookahead()
    sites, depth = ctx.trace, ctx.trace.num_sites
    pool = None if est.pool is None else (SweepSites(model, est.pool.shape[0], sites.logits), model.sweep(est.pool))
    ctx.pool_trace = sites if pool is None else pool[0]

    def form(i: int) -> None:
        exact = est.exact(ctx, i)
        guess = est.guess(ctx, i) if exact is None else torch.zeros(sites.shape(i), device=exact.device,
                                                                    dtype=exact.dtype)
        on_layer(i, guess, exact)
        sites.drop(i)
        if pool is not None:
            pool[0].drop(i)

    for j, (h, mask, out) in enumerate(model.sweep(x)):
        sites.keep(j, h, mask, out)
        if pool is not None:
            pool[0].keep(j, *next(pool[1]))
        del h, mask, out
        if j >= ahead:
            form(j - ahead)
    for i in range(max(0, depth - ahead), depth):
        form(i)


def _activation_sweeps(est, model: MLP, x: Tensor, y: Tensor, generator, apply: Apply) -> tuple[Tensor, Tensor]:
    x = x.flatten(1)
    gen = _generator(generator, x.device)
    start = gen.get_state()

    def context():
        like = model.layers[-1].weight  # the noise is drawn like the logits
        return est.context(model, SweepSites(model, y.shape[0], like), y, generator)

    # sweep 1: the joint tangent, layer by layer
    ctx, tangent = context(), None

    def carry(i: int, guess: Tensor, exact) -> None:
        nonlocal tangent
        tangent = guess if i == 0 else tangent_step(tangent, ctx.trace.mask(i - 1), model.layers[i].weight.detach(),
                                                    guess)

    _guess_sweep(est, ctx, x, carry)
    logits = ctx.trace.logits
    d = tangent_derivative(tangent, logits, y)
    del ctx, tangent

    # sweep 2: the same guesses again, scaled, each layer's update handed over and dropped
    gen.set_state(start)
    ctx = context()

    def update(i: int, guess: Tensor, exact) -> None:
        estimate = exact if exact is not None else ctx.trace.scale(i, d, guess)
        for name, u in model.layer_updates(i, estimate, ctx.trace.inputs[i]).items():
            apply(name, u)

    _guess_sweep(est, ctx, x, update)
    return logits, mean_cross_entropy(logits, y)


def _directional_sweeps(model: MLP, x: Tensor, y: Tensor, generator, apply: Apply) -> tuple[Tensor, Tensor]:
    # as directional.random_direction: ε ~ N(0, 1/N) entrywise, drawn parameter by parameter in
    # named_parameters() order, which is layer order
    params = trainable(model)
    std = 1.0 / math.sqrt(sum(p.numel() for p in params.values()))
    layers = [[(f"layers.{i}.{k}", k, p) for k, p in layer.named_parameters() if f"layers.{i}.{k}" in params]
              for i, layer in enumerate(model.layers)]
    gen = _generator(generator, x.device)
    start = gen.get_state()

    def draw(p: Tensor) -> Tensor:
        return noise("normal", p.shape, generator, p.device, p.dtype) * std  # every draw through base.noise

    def layer_jvp(i: int, h: Tensor, th: Tensor | None):
        """Layer i's output and its tangent (the loss, its derivative and the logits for the last layer); layer
        i's slice of ε lives only in here."""
        layer, primal = model.layers[i], {k: p.detach() for _, k, p in layers[i]}
        eps = {k: draw(p) for _, k, p in layers[i]}

        def f(q, inp):
            out = functional_call(layer, q, (inp,))
            return (mean_cross_entropy(out, y), out) if i == last else torch.relu(out)

        with warnings.catch_warnings():  # as directional.weight_space_jvp
            warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
            if th is None:  # the network's input: a constant, as in the whole-network jvp
                return jvp(lambda q: f(q, h), (primal,), (eps,), has_aux=i == last)
            return jvp(f, (primal, h), (eps, th), has_aux=i == last)

    # sweep 1: one jvp per layer
    h, th, last = x.flatten(1), None, len(model.layers) - 1
    for i in range(last):
        h, th = layer_jvp(i, h, th)
    loss, d, logits = layer_jvp(last, h, th)
    del h, th

    # sweep 2: ε again, scaled by the directional derivative
    gen.set_state(start)
    for entries in layers:
        for name, _, p in entries:
            apply(name, d * draw(p))
    return logits, loss


def sweeps(est, model, x: Tensor, y: Tensor, generator: torch.Generator | None, apply: Apply) -> tuple[Tensor, Tensor]:
    """The low-memory estimate of `est` (an activation-space method, or directional descent): each parameter's
    update is handed to apply(name, update) as soon as it is formed, in layer order, and dropped unless apply keeps
    it (writing it into a buffer made before the step keeps the step's memory flat in depth). Returns the logits
    and the mean loss. The generator ends where the default mode leaves it."""
    _check_model(model)
    with torch.no_grad():
        if est.name == "directional":  # by name: importing its class would put it in every method's code digest
            return _directional_sweeps(model, x, y, generator, apply)
        if hasattr(est, "guess"):
            return _activation_sweeps(est, model, x, y, generator, apply)
    raise ValueError(f"method {est.name!r} has no low-memory mode")


def estimate(est, model, x: Tensor, y: Tensor, generator: torch.Generator | None = None) -> Estimate:
    """`sweeps`, with the updates collected into an Estimate (what `compute` returns): equal, bit for bit, to the
    default mode's. The collected updates are weight-sized, like the default mode's."""
    grads: dict[str, Tensor] = {}
    logits, loss = sweeps(est, model, x, y, generator, grads.__setitem__)
    return Estimate(grads, logits, loss)
