"""Replicate batching, the trainer's side: runs of one MLP architecture that differ only in seed, learning rate,
weight decay, monitor interval or method options train together in one process as one batched model. A way of
running gradguess.train, not a second trainer: the same model, methods, optimizers and files.

How. The replicates' parameters are stacked ([R, out, in] per weight). Every step, each replicate draws its batch
from its own data generator and its guess noise from its own guess generator (seeded as the run alone seeds them:
runfiles.generators), in the order the run alone draws them; the kinds and shapes of a method's draws do not depend
on the weights, so a dry run records them once per batch size (gradguess.draws). Then `torch.func.vmap` maps the
method's unchanged estimate (`Estimator.compute_functional`) over the replicates' parameters, batches and noise
(each replicate gets its own): one batched matmul where a run alone makes one matmul; `Runtime.compile` compiles
that map (torch.compile; "reduce-overhead": CUDA graphs), falling back to eager if compiling fails. Replicates with
other method options (wt_sv_power's power) are mapped separately, in the same step. One optimizer
(gradguess.stacked_optim) updates every replicate with its own learning rate and weight decay. A replicate thus
ends with the weights of the same run alone, up to floating-point rounding (a batched matmul rounds differently).

The replicates are the epoch loop's trainee (`Replicates`), as a run alone is (train.Alone): one loop
(gradguess.loop) trains both, so each replicate writes its own run directory through runfiles.RunFiles and
checkpoints in the same format, and resumes alone or in another batch; replicates resumed at different epochs train
apart until they meet. One that diverges is ended as the run alone would end it and leaves the batch; so is one
whose guess rule fails on its non-finite weights (W^T's SVD), where the run alone would have crashed. Not batched:
chunks of a run (--until-epoch), epoch snapshots, progress bars (log lines only).
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import torch
from torch.func import functional_call, vmap

from gradguess import batching, methods, models
from gradguess.augment import random_crop_flip
from gradguess.batching import BatchingError
from gradguess.data.loading import load as load_data
from gradguess.device import log_device, resolve_device
from gradguess.draws import Recorder, Replay, fill
from gradguess.loop import Diverged, Run, run_epochs
from gradguess.methods.base import mean_cross_entropy
from gradguess.runfiles import RunFiles, generators
from gradguess.spec import RunSpec
from gradguess.stacked_optim import StackedOptimizer
from gradguess.train import Runtime, check, train

log = logging.getLogger("gradguess.train")
EVAL_FLOATS = 2 ** 26  # activations of one evaluation chunk (4096 examples) across replicates: 256 MiB in float32


@dataclass
class Entry:
    """One run of a job: a spec, one of its seeds, its directory and checkpoint (default: out/checkpoint.pt)."""
    spec: RunSpec
    seed: int
    out: str
    checkpoint: str | None = None


class Compiled:
    """`torch.compile` of a batched estimate that falls back to the eager one, saying why, if compiling fails."""

    def __init__(self, fn, mode: str):
        self.eager, self.fn, self.tried = fn, torch.compile(fn, mode=mode, dynamic=False), False

    def __call__(self, *args):
        if self.fn is not None and not self.tried:
            try:  # compiled on the first call
                out = self.fn(*args)
                self.tried = True
                return out
            except Exception as exc:  # noqa: BLE001 (any compiler failure)
                out = self.eager(*args)  # fails too (e.g. a diverged replicate's SVD): the step's error, not compile's
                log.warning("torch.compile failed (%s: %s): the batched estimate runs eagerly",
                            type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
                self.fn = None
                return out
        return (self.fn if self.fn is not None else self.eager)(*args)


class Options:
    """Replicates [start, stop) of a batch that share the method's options: one vmapped estimate."""

    def __init__(self, spec: RunSpec, model, start: int, stop: int, cache: dict, compile_mode: str | None = None):
        self.estimator = methods.get(spec.method.name, **spec.method.options)
        self.model, self.start, self.stop, self.compile_mode = model, start, stop, compile_mode
        self.options = json.dumps(spec.method.options, sort_keys=True, default=str)
        # (options, batch size) -> the draws of a dry run and the vmapped estimate, shared by the job's batches
        self.cache = cache

    def _one(self, params, x, y, draws, recorded):
        replay = Replay(draws, recorded)
        out = self.estimator.compute_functional(self.model, params, x, y, replay)
        replay.done()
        return out

    def draw(self, params, x, y, gens) -> list[torch.Tensor]:
        key = (self.options, x.shape[1])
        if key not in self.cache:  # once per batch size: the first replicate's estimate, unbatched, at finite
            rec = Recorder(x.device)  # weights (what is drawn does not depend on them; a NaN could fail an SVD)
            finite = {n: torch.nan_to_num(t[self.start], nan=0.0, posinf=0.0, neginf=0.0) for n, t in params.items()}
            self.estimator.compute_functional(self.model, finite, x[self.start], y[self.start], rec)
            fn = vmap(partial(self._one, recorded=rec.log))
            self.cache[key] = rec.log, (Compiled(fn, self.compile_mode) if self.compile_mode else fn)
        return fill(self.cache[key][0], gens[self.start:self.stop], x.device)

    def estimate(self, params, x, y, draws):
        sl = slice(self.start, self.stop)
        fn = self.cache[(self.options, x.shape[1])][1]
        return fn({n: t[sl] for n, t in params.items()}, x[sl], y[sl], draws)


@dataclass(kw_only=True)
class Member(Run):
    """A replicate between batches: a run of the job (its files, generators, first epoch) with its own parameters
    and optimizer state."""
    index: int
    entry: Entry
    params: dict | None
    opt_state: dict | None
    step: int

    @property
    def options(self) -> str:
        return json.dumps(self.entry.spec.method.options, sort_keys=True, default=str)


class Batch:
    """The replicates training now, stacked; ordered so that equal method options are neighbours."""

    def __init__(self, members: list[Member], model, cache: dict, compile_mode: str | None = None):
        self.members = sorted(members, key=lambda m: (m.options, m.index))
        steps = {m.step for m in self.members}
        if len(steps) > 1:
            raise BatchingError(f"replicates at different steps ({sorted(steps)}) cannot train together")
        self.step, self.model = steps.pop(), model
        names = list(self.members[0].params)
        self.params = {n: torch.stack([m.params[n] for m in self.members]) for n in names}
        spec = self.members[0].entry.spec
        self.opt = StackedOptimizer(spec.optimizer, list(self.params.values()),
                                    [m.entry.spec.lr for m in self.members],
                                    [m.entry.spec.weight_decay for m in self.members], spec.momentum)
        self.opt.load([m.opt_state for m in self.members])
        for m in self.members:
            m.params = m.opt_state = None  # the stack holds them now
        self.parts, start = [], 0
        for i, m in enumerate(self.members + [None]):
            if m is None or m.options != self.members[start].options:
                self.parts.append(Options(self.members[start].entry.spec, model, start, i, cache, compile_mode))
                start = i

    def gens(self, key: str) -> list[torch.Generator]:
        return [m.gens[key] for m in self.members]

    def unstack(self, keep=lambda i: True) -> list[Member]:
        """Hand each replicate (those `keep` keeps) its parameters and optimizer state back."""
        out = []
        for i, m in enumerate(self.members):
            if keep(i):
                m.params = {n: t[i] for n, t in self.params.items()}
                m.opt_state, m.step = self.opt.state_of(i), self.step
                out.append(m)
        return out

    def draw(self, x, y) -> list[list[torch.Tensor]]:
        gens = self.gens("guess_gen")
        return [part.draw(self.params, x, y, gens) for part in self.parts]

    def estimate(self, x, y, draws):
        try:
            outs = [part.estimate(self.params, x, y, d) for part, d in zip(self.parts, draws)]
        except RuntimeError:  # a guess rule failing on non-finite weights (W^T's SVD) ends those replicates only
            bad = [i for i, ok in enumerate(self.finite()) if not ok]
            if not bad:
                raise
            raise Diverged(bad) from None
        if len(outs) == 1:
            return outs[0]
        grads, logits, loss = zip(*outs)
        return {n: torch.cat([g[n] for g in grads]) for n in grads[0]}, torch.cat(logits), torch.cat(loss)

    def keep_draws(self, draws, keep: list[int]) -> list[list[torch.Tensor]]:
        """The draws of the replicates `keep` (indices into this batch), for the batch they leave behind."""
        out = []
        for part, d in zip(self.parts, draws):
            local = torch.tensor([i - part.start for i in keep if part.start <= i < part.stop], dtype=torch.long)
            if len(local):
                out.append([t[local.to(t.device)] for t in d])
        return out

    def finite(self) -> list[bool]:
        return torch.stack([t.flatten(1).isfinite().all(1) for t in self.params.values()]).all(0).tolist()

    def weights(self, i: int, shape, classes: int) -> dict:
        m = self.members[i]
        state = {n: t[i].clone() for n, t in self.params.items()}  # clone: a saved view would save the whole stack
        return models.weights_record(SimpleNamespace(state_dict=lambda: state), m.entry.spec.model, shape, classes,
                                     m.entry.seed)

    @torch.no_grad()
    def evaluate(self, data, x, y, batch_size: int = 4096) -> list[tuple[float, float]]:
        """train.evaluate for every replicate: the same chunks, the same sums."""
        width = max(t.shape[1] for t in self.params.values())
        chunk = max(1, EVAL_FLOATS // (batch_size * width))
        forward = vmap(lambda p, xb: functional_call(self.model, p, (xb,)), in_dims=(0, None), chunk_size=chunk)
        ce = vmap(mean_cross_entropy, in_dims=(0, None))
        loss = torch.zeros(len(self.members), device=x.device)
        correct = torch.zeros(len(self.members), device=x.device)
        for start in range(0, len(x), batch_size):
            logits = forward(self.params, data.prepare_batch(x[start:start + batch_size]))
            yb = y[start:start + batch_size]
            loss += ce(logits, yb) * len(yb)
            correct += (logits.argmax(-1) == yb).sum(-1)
        return [(lo / len(x), c / len(x)) for lo, c in zip(loss.tolist(), correct.tolist())]


class Replicates:
    """The replicates training now as the epoch loop's trainee (gradguess.loop): one Batch, stacked anew when
    replicates join (resumed at a later epoch) or leave (diverged)."""

    def __init__(self, model, data, spec: RunSpec, compile_mode: str | None):
        self.model, self.data, self.spec, self.compile_mode = model, data, spec, compile_mode
        self.shape, self.classes = tuple(data.x_train.shape[1:]), data.num_classes
        self.batch: Batch | None = None
        self.cache: dict = {}
        self.factor = 1.0

    @property
    def runs(self) -> list[Member]:
        return self.batch.members if self.batch is not None else []

    @property
    def step(self) -> int:
        return self.batch.step

    def _restack(self, members: list[Member]) -> None:
        self.batch = Batch(members, self.model, self.cache, self.compile_mode) if members else None
        if self.batch is not None:  # a new optimizer, mid-epoch after a divergence: at this epoch's lr, not the base
            self.batch.opt.set_factor(self.factor)

    def join(self, runs: list[Member]) -> None:
        self._restack((self.batch.unstack() if self.batch is not None else []) + list(runs))

    def drop(self, bad: list[int], batch=None):
        keep = [i for i in range(len(self.runs)) if i not in bad]
        if batch is not None:
            x, y, draws = batch
            batch = x[keep], y[keep], self.batch.keep_draws(draws, keep)
        self.loss_sum, self.correct, self.orders = self.loss_sum[keep], self.correct[keep], self.orders[keep]
        self._restack(self.batch.unstack(lambda i: i in keep))
        return batch

    def begin_epoch(self, factor: float) -> None:
        self.factor = factor
        self.batch.opt.set_factor(factor)
        device, r = self.data.x_train.device, len(self.runs)
        self.loss_sum, self.correct = torch.zeros(r, device=device), torch.zeros(r, device=device)
        self.orders = torch.stack([torch.randperm(len(self.data.x_train), generator=g, device=device)
                                   for g in self.batch.gens("data_gen")])

    def draw(self, begin: int):
        data = self.data
        idx = self.orders[:, begin:begin + self.spec.batch_size]
        x, y = data.prepare_batch(data.x_train[idx]), data.y_train[idx]
        if self.spec.augment:
            x = torch.stack([random_crop_flip(xr, g) for xr, g in zip(x, self.batch.gens("aug_gen"))])
        return x, y, self.batch.draw(x, y)

    def estimate(self, batch):
        return self.batch.estimate(*batch)

    def watch(self, i: int, batch, est) -> tuple:
        x, y, _ = batch
        self.model.load_state_dict({k: t[i] for k, t in self.batch.params.items()})
        return self.model, x[i], y[i], {k: g[i] for k, g in est[0].items()}

    def update(self, batch, est) -> None:
        y, (grads, logits, loss) = batch[1], est
        self.batch.opt.step([grads[k] for k in self.batch.params])
        self.loss_sum += loss * y.shape[1]
        self.correct += (logits.argmax(-1) == y).sum(-1)
        self.batch.step += 1

    def sums(self) -> list[tuple[float, float]]:
        return list(zip(self.loss_sum.tolist(), self.correct.tolist()))

    def finite(self) -> list[bool]:
        return self.batch.finite()

    def evaluate(self, x, y) -> list[tuple[float, float]]:
        return self.batch.evaluate(self.data, x, y)

    def weights(self, i: int) -> dict:
        return self.batch.weights(i, self.shape, self.classes)

    def optimizer_state(self, i: int) -> dict:
        return self.batch.opt.state_of(i)


def _claim(entry: Entry, runtime: Runtime, device, data, model) -> tuple[RunFiles, dict, dict | None]:
    """A replicate's files, generators and checkpoint state (None: from scratch), all checked and nothing written,
    so a job whose runs one refuses starts none of them."""
    spec, seed = entry.spec, entry.seed
    files = RunFiles(spec, seed, entry.out, runtime, device, entry.checkpoint)
    files.prefix = f"{entry.out}: "
    files.claim()
    gens = generators(seed, device)
    shape, classes = tuple(data.x_train.shape[1:]), data.num_classes
    expect = files.expect(models.weights_record(model, spec.model, shape, classes, seed), model.parameters(), gens,
                          math.ceil(len(data.x_train) / spec.batch_size))  # `model`: the job's skeleton, one shape
    state = files.find_state(expect)
    if state is not None:  # the model's order: the order of the optimizer's buffers
        state["weights"]["state"] = {n: state["weights"]["state"][n] for n, _ in model.named_parameters()}
    return files, gens, state


def _member(index: int, entry: Entry, files: RunFiles, gens: dict, state: dict | None, device, data) -> Member:
    spec, seed = entry.spec, entry.seed
    files.start(fresh=state is None)
    if state is None:
        log.info("starting %s from scratch", entry.out)
        model = models.build(spec.model, tuple(data.x_train.shape[1:]), data.num_classes, seed)  # as train.build_model
        params = {n: p.detach().to(device) for n, p in model.named_parameters()}
        return Member(files, gens, index=index, entry=entry, params=params, opt_state=None, step=0)
    step, start = files.restore(state, gens)
    params = {n: t.to(device) for n, t in state["weights"]["state"].items()}
    return Member(files, gens, start, index=index, entry=entry, params=params, opt_state=state["optimizer"], step=step)


def train_batched(entries: list[Entry], runtime: Runtime | None = None, keep_final_checkpoint: bool = False) -> list[dict]:
    """Train the runs `entries` (or resume them) as one batched model; returns their results, in order.
    `keep_final_checkpoint`: as train.train's, for a job of several parts (train_many)."""
    runtime = runtime or Runtime()
    specs = [e.spec for e in entries]
    for spec in specs:
        check(spec)
    batching.check(specs)
    device = resolve_device(runtime.device)
    log_device(device, f"training {len(entries)} replicates as one batched model")
    data = load_data(specs[0].dataset, runtime.data_root, device=device)
    # the functions' skeleton, and the monitor's
    model = models.build(specs[0].model, tuple(data.x_train.shape[1:]), data.num_classes, 0).to(device)
    claimed = [_claim(e, runtime, device, data, model) for e in entries]
    members = [_member(i, e, *c, device, data) for i, (e, c) in enumerate(zip(entries, claimed))]
    return run_epochs(Replicates(model, data, specs[0], runtime.compile), members, specs[0], data,
                      runtime.checkpoint_minutes, keep_final_checkpoint)


def train_many(entries: list[Entry], runtime: Runtime | None = None, batched: bool = True) -> list[dict]:
    """The runs of one job (several runs, or one run's seeds) in this process, which pays for the interpreter and
    its imports once: those that can train as one batched model do (if `batched`), the others one after another;
    the log says which. Results in the order of `entries`. Each finished run keeps its final checkpoint until every
    run is done, so a job killed half-way restores its finished runs and resumes the unfinished one; then the
    checkpoints go."""
    results: list[dict | None] = [None] * len(entries)
    keep = len(entries) > 1
    together: dict[str, list[int]] = {}
    for i, e in enumerate(entries):
        k = batching.key(e.spec) if batched else None
        together.setdefault(k if k is not None else f"alone-{i}", []).append(i)
    for k, idx in together.items():
        if len(idx) > 1:
            log.info("training %d runs as one batched model: %s", len(idx), ", ".join(entries[i].out for i in idx))
            for i, result in zip(idx, train_batched([entries[i] for i in idx], runtime, keep)):
                results[i] = result
            continue
        e = entries[idx[0]]
        if len(entries) > 1:
            why = ("batching is off" if not batched else batching.why_not([e.spec])
                   or "no other run of this job batches with it")
            log.info("training %s alone: %s", e.out, why)
        results[idx[0]] = train(e.spec.for_seed(e.seed), e.seed, e.out, runtime, e.checkpoint,
                                keep_final_checkpoint=keep)
    for e in entries:
        Path(e.checkpoint or Path(e.out) / "checkpoint.pt").unlink(missing_ok=True)
    return results
