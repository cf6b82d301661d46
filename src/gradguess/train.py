"""Training one model with one gradient-guessing method: the unit every pipeline run is made of, for every model
(the MLP, the LocalMixer, the prompted ViT) and every method, from one run specification (gradguess.spec).

A run writes into its own directory, one per seed:
  config.json      its specification for this seed, the resolved weight decay, the preset and the device
  provenance.json  code version and digest, package versions, device
  metrics.csv      one row per epoch: train/test loss and accuracy (the train columns average the epoch's batches
                   as they were trained on, which costs nothing; result.json re-evaluates the whole train set)
  monitor.csv      every `monitor_every` steps, the estimate's cosine with backprop's gradient (network and per
                   layer) and each layer's effective rank (see `monitor`); only the header when monitoring is off
  weights.pt       the final weights, with the model they belong to (models.save)
  result.json      status (completed | diverged) and final numbers; written last
Only trainable parameters are estimated and optimized: a frozen backbone gets no estimate and no optimizer state.
The checkpoint lives wherever the caller says and only while the run is unfinished: an interrupted run resumes
from it and ends with the same weights, bit for bit on the CPU, as a run that never stopped. A finished run
deletes it (its optimizer state is 3x the weights), so a run started again after it finished starts from scratch;
so does one whose checkpoint was written by other code (see `lineage`) or in an older format. A checkpoint of
another specification, or one whose contents are not what this run saves (`checkpoints`), is refused; so is a
directory holding a finished run of another specification (`runfiles`).
The epochs are gradguess.loop's, driving the run as a trainee of one (`Alone`); a run trained as a replicate of a
batched job (gradguess.batched) goes through the same loop and writes the same files through the same code
(runfiles.RunFiles), its checkpoint in the same format: either way resumes the other's. A job of several runs, or
of one run's seeds, trains them in one process (batched.train_many).
"""
from __future__ import annotations

import logging
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from gradguess import io, lineage, methods, models  # noqa: F401  (lineage: the digest a checkpoint is checked by)
from gradguess.augment import random_crop_flip
from gradguess.data.loading import load as load_data
from gradguess.device import log_device, resolve_device
from gradguess.loop import Run, run_epochs
from gradguess.methods.base import mean_cross_entropy
from gradguess.optim import make_optimizer
from gradguess.runfiles import RunFiles, generators
from gradguess.spec import RunSpec

log = logging.getLogger("gradguess.train")

# how often an unfinished run saves a checkpoint, unless told otherwise: a setting of how a job runs, not of
# what it computes, so the pipeline passes it through the environment (changing it re-runs nothing)
CHECKPOINT_MINUTES = float(os.environ.get("GRADGUESS_CHECKPOINT_MINUTES", "10"))


@dataclass
class Runtime:
    """How a run is run, not what it computes: none of this is in its specification or its digest."""
    data_root: str = "data"
    device: str = "auto"
    preset: str | None = None
    checkpoint_minutes: float = CHECKPOINT_MINUTES  # 0: after every epoch
    progress: bool | None = None                    # a progress bar (None: when stderr is a terminal)
    compile: str | None = None                      # batched jobs: torch.compile mode of the estimate (None: eager)


def check(spec: RunSpec) -> None:
    """What the trainer needs beyond the spec's own validation (torch is loaded here: the method's options)."""
    spec.validate()
    methods.get(spec.method.name, **spec.method.options)  # names the bad method option


def build_model(spec: RunSpec, data, seed: int):
    """The run's initial model, the same on every device for a seed."""
    return models.build(spec.model, tuple(data.x_train.shape[1:]), data.num_classes, seed)


@torch.no_grad()
def evaluate(model, data, x, y, batch_size: int = 4096) -> tuple[float, float]:
    loss, correct = torch.zeros((), device=x.device), torch.zeros((), device=x.device)
    for start in range(0, len(x), batch_size):
        logits = model(data.prepare_batch(x[start:start + batch_size]))
        yb = y[start:start + batch_size]
        loss += mean_cross_entropy(logits, yb) * len(yb)
        correct += (logits.argmax(1) == yb).sum()
    return float(loss) / len(x), float(correct) / len(x)


class Alone:
    """A run alone as the epoch loop's trainee (gradguess.loop), R = 1: its model, estimate and optimizer."""

    def __init__(self, spec: RunSpec, seed: int, data, device):
        self.spec, self.seed, self.data, self.device = spec, seed, data, device
        self.model = build_model(spec, data, seed).to(device)
        self.trainable = {n: p for n, p in self.model.named_parameters() if p.requires_grad}
        self.estimator = methods.get(spec.method.name, **spec.method.options)
        self.optimizer = make_optimizer(spec.optimizer, self.trainable.values(), spec.lr, momentum=spec.momentum,
                                        weight_decay=spec.weight_decay)
        self.gens = generators(seed, device)
        self.runs: list[Run] = []
        self.step = 0

    def restore(self, state: dict, files: RunFiles) -> int:
        """Resume from a checkpoint's state; returns the first epoch to train."""
        self.model.load_state_dict(state["weights"]["state"], strict=False)  # checked: exactly the trainable tensors
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, start = files.restore(state, self.gens)
        return start

    def join(self, runs: list[Run]) -> None:
        self.runs = list(runs)

    def drop(self, bad: list[int], batch=None):
        self.runs = []
        return batch

    def begin_epoch(self, factor: float) -> None:
        self.optimizer.lr = self.spec.lr * factor
        self.model.train()
        # accumulated on the device: no host sync inside the epoch
        self.loss_sum = torch.zeros((), device=self.device)
        self.correct = torch.zeros((), device=self.device)
        self.order = torch.randperm(len(self.data.x_train), generator=self.gens["data_gen"], device=self.device)

    def draw(self, begin: int):
        data, size = self.data, self.spec.batch_size
        idx = self.order[begin:begin + size]
        x, y = data.prepare_batch(data.x_train[idx]), data.y_train[idx]
        if self.spec.augment:
            x = random_crop_flip(x, self.gens["aug_gen"])
        return x, y

    def estimate(self, batch):
        return self.estimator.compute(self.model, *batch, self.gens["guess_gen"])

    def watch(self, i: int, batch, est) -> tuple:
        return (self.model, *batch, est.grads)

    def update(self, batch, est) -> None:
        for name, p in self.trainable.items():
            p.grad = est.grads[name]
        self.optimizer.step()
        y = batch[1]
        self.loss_sum += est.loss * len(y)
        self.correct += (est.logits.argmax(1) == y).sum()
        self.step += 1

    def sums(self) -> list[tuple[float, float]]:
        return [(float(self.loss_sum), float(self.correct))]

    def finite(self) -> list[bool]:
        return [all(torch.isfinite(p).all() for p in self.trainable.values())]

    def evaluate(self, x, y) -> list[tuple[float, float]]:
        self.model.eval()
        return [evaluate(self.model, self.data, x, y)]

    def weights(self, i: int = 0) -> dict:
        data = self.data
        return models.weights_record(self.model, self.spec.model, tuple(data.x_train.shape[1:]), data.num_classes,
                                     self.seed)

    def optimizer_state(self, i: int = 0) -> dict:
        return self.optimizer.state_dict()


def train(spec: RunSpec, seed: int, out_dir: str | Path, runtime: Runtime | None = None,
          checkpoint: str | Path | None = None, snapshot_dir: str | Path | None = None,
          keep_final_checkpoint: bool = False, until_epoch: int | None = None, chunk: str | Path | None = None,
          resume_from: str | Path | None = None) -> dict:
    """Train (or resume an interrupted) run of `spec` with `seed`; returns the result also written to result.json.

    `snapshot_dir`, if given, receives the weights after every epoch (epoch_0000.pt is the initialisation): the
    trajectory Figure 1 measures. `keep_final_checkpoint` saves the finished state too, for a job of several runs
    (batched.train_many): a job killed after this run finished restores it instead of training it again.

    A run too long for one cluster job trains in a chain of chunks: `until_epoch` stops after that epoch and saves
    the state to `chunk` (the job's declared output) instead of writing results; the next chunk starts from it
    (`resume_from`, used when the run's own checkpoint is absent). The chain ends with the same weights as the run
    trained in one go, bit for bit on the CPU.
    """
    runtime = runtime or Runtime()
    check(spec)
    stop = spec.epochs if until_epoch is None else min(until_epoch, spec.epochs)
    if stop < spec.epochs and chunk is None:
        raise ValueError(f"until_epoch {until_epoch} stops before the last epoch ({spec.epochs}): give the chunk "
                         "path its state goes to")
    out_dir = Path(out_dir)
    device = resolve_device(runtime.device)
    log_device(device, f"training run {out_dir}")
    progress = sys.stderr.isatty() if runtime.progress is None else runtime.progress

    data = load_data(spec.dataset, runtime.data_root, device=device)
    alone = Alone(spec, seed, data, device)
    files = RunFiles(spec, seed, out_dir, runtime, device, checkpoint)
    steps_per_epoch = math.ceil(len(data.x_train) / spec.batch_size)
    files.claim(chunk=stop < spec.epochs)  # nothing is written before the directory and the checkpoint are checked
    state = files.find_state(files.expect(alone.weights(), alone.trainable.values(), alone.gens, steps_per_epoch),
                             until_epoch, resume_from)
    files.start(fresh=state is None)
    start = 1
    if state is not None:
        start = alone.restore(state, files)
    else:
        log.info("starting %s from scratch", out_dir)
        if snapshot_dir is not None:
            io.torch_save(alone.weights(), Path(snapshot_dir) / "epoch_0000.pt")
    run = Run(files, alone.gens, start, snapshot_dir, chunk)
    return run_epochs(alone, [run], spec, data, runtime.checkpoint_minutes, keep_final_checkpoint, stop, progress)[0]
