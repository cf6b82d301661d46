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
A run trained as a replicate of a batched job (gradguess.batched) writes the same files through the same code
(runfiles.RunFiles), its checkpoint in the same format: either way resumes the other's.
"""
from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from gradguess import io, lineage, methods, models  # noqa: F401  (lineage: the digest a checkpoint is checked by)
from gradguess.augment import random_crop_flip
from gradguess.data.loading import load as load_data
from gradguess.device import log_device, resolve_device
from gradguess.methods.base import mean_cross_entropy
from gradguess.optim import make_optimizer
from gradguess.runfiles import RunFiles, generators
from gradguess.spec import RunSpec, lr_factor

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


def train(spec: RunSpec, seed: int, out_dir: str | Path, runtime: Runtime | None = None,
          checkpoint: str | Path | None = None, snapshot_dir: str | Path | None = None,
          keep_final_checkpoint: bool = False, until_epoch: int | None = None, chunk: str | Path | None = None,
          resume_from: str | Path | None = None) -> dict:
    """Train (or resume an interrupted) run of `spec` with `seed`; returns the result also written to result.json.

    `snapshot_dir`, if given, receives the weights after every epoch (epoch_0000.pt is the initialisation): the
    trajectory Figure 1 measures. `keep_final_checkpoint` saves the finished state too, for `train_seeds`: a job
    killed after this seed finished restores it instead of training it again.

    A run too long for one cluster job trains in a chain of chunks: `until_epoch` stops after that epoch and saves
    the state to `chunk` (the job's declared output) instead of writing results; the next chunk starts from it
    (`resume_from`, used when the run's own checkpoint is absent). The chain ends with the same weights as the run
    trained in one go, bit for bit on the CPU.
    """
    runtime = runtime or Runtime()
    check(spec)
    out_dir = Path(out_dir)
    device = resolve_device(runtime.device)
    log_device(device, f"training run {out_dir}")
    progress = sys.stderr.isatty() if runtime.progress is None else runtime.progress

    data = load_data(spec.dataset, runtime.data_root, device=device)

    model = build_model(spec, data, seed).to(device)
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    estimator = methods.get(spec.method.name, **spec.method.options)
    optimizer = make_optimizer(spec.optimizer, trainable.values(), spec.lr, momentum=spec.momentum,
                               weight_decay=spec.weight_decay)
    gens = generators(seed, device)
    data_gen, guess_gen, aug_gen = gens.values()

    files = RunFiles(spec, seed, out_dir, runtime, device, checkpoint)
    shape = tuple(data.x_train.shape[1:])
    n = len(data.x_train)
    steps_per_epoch = math.ceil(n / spec.batch_size)
    stop = spec.epochs if until_epoch is None else min(until_epoch, spec.epochs)

    def weights():
        return models.weights_record(model, spec.model, shape, data.num_classes, seed)

    start_epoch, step = 1, 0
    monitor = files.monitor
    files.claim(chunk=stop < spec.epochs)  # nothing is written before the directory and the checkpoint are checked
    state = files.find_state(files.expect(weights(), trainable.values(), gens, steps_per_epoch), until_epoch,
                             resume_from)
    files.start(fresh=state is None)
    if state is not None:
        model.load_state_dict(state["weights"]["state"], strict=False)  # checked: exactly the trainable tensors
        optimizer.load_state_dict(state["optimizer"])
        step, start_epoch = files.restore(state, gens)
    else:
        log.info("starting %s from scratch", out_dir)
        if snapshot_dir is not None:
            io.torch_save(weights(), Path(snapshot_dir) / "epoch_0000.pt")

    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=spec.epochs * steps_per_epoch, initial=(start_epoch - 1) * steps_per_epoch,
                   desc=f"{spec.method.name} {spec.arch} {spec.dataset}", unit="step", dynamic_ncols=True)

    status, began, saved_at = "completed", time.time(), time.time()

    def save_state(path, epoch):
        io.torch_save(files.state(epoch, step, optimizer.state_dict(), weights(), gens), path)

    for epoch in range(start_epoch, stop + 1):
        t0 = time.time()
        optimizer.lr = spec.lr * lr_factor(spec.schedule, epoch - 1, spec.epochs, spec.warmup_epochs)
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        order = torch.randperm(n, generator=data_gen, device=device)
        for begin in range(0, n, spec.batch_size):
            idx = order[begin:begin + spec.batch_size]
            x, y = data.prepare_batch(data.x_train[idx]), data.y_train[idx]
            if spec.augment:
                x = random_crop_flip(x, aug_gen)
            est = estimator.compute(model, x, y, guess_gen)
            if monitor is not None and monitor.due(step):
                monitor.observe(step, epoch, model, x, y, est.grads)  # before the step: the weights est is for
            for name, p in trainable.items():
                p.grad = est.grads[name]
            optimizer.step()
            # accumulate on the device: no host sync inside the epoch
            loss_sum += est.loss * len(y)
            correct += (est.logits.argmax(1) == y).sum()
            step += 1
            if bar is not None:
                bar.update(1)
        train_loss = float(loss_sum) / n
        if not math.isfinite(train_loss) or not all(torch.isfinite(p).all() for p in trainable.values()):
            status = "diverged"
            files.diverged(epoch, step, train_loss, float(correct) / n, time.time() - t0)
            break
        model.eval()
        test = evaluate(model, data, data.x_test, data.y_test)
        files.epoch_done(epoch, step, train_loss, float(correct) / n, test, time.time() - t0, bar)
        if snapshot_dir is not None:
            io.torch_save(weights(), Path(snapshot_dir) / f"epoch_{epoch:04d}.pt")
        # never after the last epoch (unless asked): a finished run keeps no checkpoint
        last = epoch == spec.epochs
        if (last and keep_final_checkpoint) or (not last and time.time() - saved_at >= 60 * runtime.checkpoint_minutes):
            save_state(files.checkpoint, epoch)
            saved_at = time.time()
    if bar is not None:
        bar.close()
    if stop < spec.epochs and status == "completed":  # a chunk of a longer run: its state, for the next chunk
        save_state(Path(chunk), stop)
        files.checkpoint.unlink(missing_ok=True)
        log.info("chunk of %s done at epoch %d of %d: %s", out_dir, stop, spec.epochs, chunk)
        return {"status": "chunk", "epoch": stop, "epochs": spec.epochs, "steps": step, "seed": seed}

    def final() -> dict:
        model.eval()
        train_loss, train_acc = evaluate(model, data, data.x_train, data.y_train)
        test_loss, test_acc = evaluate(model, data, data.x_test, data.y_test)
        return {"train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss, "test_acc": test_acc}

    return files.finish(status, step, began, final, weights(), keep_final_checkpoint)


def train_seeds(spec: RunSpec, out_pattern: str, runtime: Runtime | None = None,
                checkpoint_pattern: str | None = None) -> list[dict]:
    """The run for each of its seeds, one after another in this process, each into its own directory.

    `out_pattern` and `checkpoint_pattern` hold `{seed}`. One job for a run's seeds pays for the interpreter and
    its imports once. Each finished seed keeps its final checkpoint until every seed is done, so a job killed
    half-way restores the finished seeds and resumes the unfinished one; then the checkpoints go.
    """
    seeds = list(spec.seeds)
    if len(seeds) > 1 and "{seed}" not in out_pattern:
        raise ValueError(f"several seeds need {{seed}} in the output directory, got {out_pattern!r}")
    checkpoint_pattern = checkpoint_pattern or str(Path(out_pattern) / "checkpoint.pt")
    if len(seeds) > 1 and "{seed}" not in checkpoint_pattern:
        raise ValueError(f"several seeds need {{seed}} in the checkpoint path, got {checkpoint_pattern!r}")
    results = [train(spec, seed, out_pattern.format(seed=seed), runtime, checkpoint_pattern.format(seed=seed),
                     keep_final_checkpoint=len(seeds) > 1) for seed in seeds]
    for seed in seeds:
        Path(checkpoint_pattern.format(seed=seed)).unlink(missing_ok=True)
    return results
