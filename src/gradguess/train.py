"""Training one model (an MLP or a LocalMixer) with one gradient-guessing method: the unit every pipeline run is made of.

A run writes into its own directory:
  config.json      the resolved settings (with the seed and preset)
  provenance.json  code version and digest, package versions, device
  metrics.csv      one row per epoch: train/test loss and accuracy (the train
                   columns average the epoch's batches as they were trained on,
                   which costs nothing; result.json re-evaluates the whole train set)
  monitor.csv      every `monitor_every` steps, the estimate's cosine with backprop's
                   gradient (network and per layer) and each layer's effective rank
                   (see `monitor`); only the header when monitoring is off
  weights.pt       the final weights (a state dict), for analyses of trained models
  result.json      status (completed | diverged) and final numbers; written last
The checkpoint lives wherever the caller says (by default beside the outputs)
and only while the run is unfinished: a run that was interrupted resumes from
it and ends with the same weights, bit for bit on the CPU, as a run that never
stopped. A finished run deletes it (its optimizer state is 3× the weights), so a
run started again after it finished, because Snakemake was told to or because
its code changed, starts from scratch. So does one whose checkpoint was written
by other code (see `lineage`).
"""
from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch

from gradguess import data as datasets
from gradguess import io, lineage, methods
from gradguess.device import log_device, resolve_device
from gradguess.errors import CheckpointError
from gradguess.io import read_checkpoint
from gradguess.methods.base import mean_cross_entropy
from gradguess.augment import random_crop_flip
from gradguess.models import ARCHS, build_mixer_seeded, build_seeded
from gradguess.monitor import Monitor, monitor_columns
from gradguess.optim import OPTIMIZERS, default_weight_decay, make_optimizer

log = logging.getLogger("gradguess.train")

CHECKPOINT_FORMAT = "gradguess-checkpoint-v2"
METRIC_COLUMNS = ("epoch", "step", "train_loss", "train_acc", "test_loss", "test_acc", "seconds")
# settings a checkpoint must agree on to be resumed
RESUME_KEYS = ("dataset", "model", "depth", "width", "mixer_blocks", "mixer_channels", "mixer_patch",
               "mixer_groups", "augment", "method", "method_options", "optimizer", "lr", "momentum",
               "weight_decay", "batch_size", "epochs", "seed", "monitor_every")
# how often an unfinished run saves a checkpoint, unless told otherwise: a setting of how a job runs, not of
# what it computes, so the pipeline passes it through the environment (changing it re-runs nothing)
CHECKPOINT_MINUTES = float(os.environ.get("GRADGUESS_CHECKPOINT_MINUTES", "10"))


@dataclass
class TrainConfig:
    dataset: str = "synthetic"
    data_root: str = "data"
    model: str = "mlp"  # "mlp" | "localmixer"
    depth: int = 3      # MLP only
    width: int = 128    # MLP only
    # LocalMixer only; defaults: Ren et al.'s CIFAR-10 network M/8/16 (models/mixer.py says where from)
    mixer_blocks: int = 4
    mixer_channels: int = 512
    mixer_patch: int = 4
    mixer_groups: int = 16
    augment: bool = False  # random crop (pad 4) and horizontal flip per batch, on the device (augment.py)
    method: str = "backprop"
    method_options: dict[str, Any] = field(default_factory=dict)
    optimizer: str = "adamw"
    lr: float = 1e-4
    momentum: float = 0.0
    weight_decay: float | None = None  # None: the optimizer's default (optim.DEFAULT_WEIGHT_DECAY)
    batch_size: int = 512
    epochs: int = 10
    seed: int = 0
    monitor_every: int = 0  # steps between guess-quality measurements (monitor.csv); 0: off
    checkpoint_minutes: float = CHECKPOINT_MINUTES  # 0: after every epoch
    device: str = "auto"
    preset: str | None = None

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
        return cls(**values)

    def validate(self) -> None:
        methods.get(self.method, **self.method_options)  # names the bad method or option
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
        if self.weight_decay is None:  # recorded resolved, so config.json says what ran
            self.weight_decay = default_weight_decay(self.optimizer)
        if self.dataset not in datasets.DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; valid datasets: {', '.join(datasets.DATASETS)}")
        if self.model not in ARCHS:
            raise ValueError(f"unknown model {self.model!r}; valid models: {', '.join(ARCHS)}")
        if self.model != "mlp" and self.monitor_every:
            raise ValueError("the guess monitor (monitor_every) measures MLPs only; use 0 for the LocalMixer")
        if not isinstance(self.augment, bool):
            raise ValueError(f"augment must be true or false, got {self.augment!r}")
        for name in ("mixer_blocks", "mixer_channels", "mixer_patch", "mixer_groups"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.monitor_every < 0:
            raise ValueError(f"monitor_every must be >= 0 (0: off), got {self.monitor_every}")
        for name in ("depth", "width", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.checkpoint_minutes < 0:
            raise ValueError(f"checkpoint_minutes must be >= 0, got {self.checkpoint_minutes}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


def build_model(cfg: TrainConfig, data):
    """The run's initial model, the same on every device for a seed."""
    if cfg.model == "localmixer":
        return build_mixer_seeded(tuple(data.x_train.shape[1:]), data.num_classes, cfg.seed, blocks=cfg.mixer_blocks,
                                  channels=cfg.mixer_channels, patch=cfg.mixer_patch, groups=cfg.mixer_groups)
    return build_seeded(data.in_features, data.num_classes, cfg.depth, cfg.width, cfg.seed)


@torch.no_grad()
def evaluate(model, x, y, batch_size: int = 4096) -> tuple[float, float]:
    loss, correct = torch.zeros((), device=x.device), torch.zeros((), device=x.device)
    for start in range(0, len(x), batch_size):
        logits = model(x[start:start + batch_size])
        yb = y[start:start + batch_size]
        loss += mean_cross_entropy(logits, yb) * len(yb)
        correct += (logits.argmax(1) == yb).sum()
    return float(loss) / len(x), float(correct) / len(x)


def load_checkpoint(path: Path, device: torch.device) -> dict:
    state = read_checkpoint(path, device, "; delete it to restart this run from scratch")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a gradguess training checkpoint")
    return state


def _arch_label(cfg: TrainConfig) -> str:
    if cfg.model == "localmixer":
        return f"mixer-b{cfg.mixer_blocks}-c{cfg.mixer_channels}-p{cfg.mixer_patch}-g{cfg.mixer_groups}"
    return f"d{cfg.depth}-w{cfg.width}"


def _write_metrics(path: Path, rows: list[dict]) -> None:
    io.write_csv(path, rows, METRIC_COLUMNS)


def _format_row(row: dict, epochs: int) -> str:
    return (f"epoch {row['epoch']}/{epochs}  train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}  "
            f"test loss {row['test_loss']:.4f} acc {row['test_acc']:.4f}  ({row['seconds']:.1f} s)")


def _resume_state(checkpoint: Path, config: dict, code: str, device) -> dict | None:
    """The checkpoint to resume from, or None to start from scratch (saying why)."""
    if not checkpoint.exists():
        return None
    state = load_checkpoint(checkpoint, device)
    saved = state["config"]
    defaults = {f.name: f.default for f in fields(TrainConfig)}  # keys older checkpoints lack
    mismatched = [k for k in RESUME_KEYS if saved.get(k, defaults[k]) != config[k]]
    if mismatched:
        raise CheckpointError(f"checkpoint {checkpoint} was made with different settings "
                              f"({', '.join(f'{k}: {saved.get(k)!r} != {config[k]!r}' for k in mismatched)}); "
                              f"delete it or point --checkpoint elsewhere")
    if state.get("code_digest") != code:
        log.warning("checkpoint %s was written by other code (digest %s, now %s): starting from scratch",
                    checkpoint, state.get("code_digest"), code)
        return None
    return state


def train(cfg: TrainConfig, out_dir: str | Path, checkpoint: str | Path | None = None,
          snapshot_dir: str | Path | None = None, progress: bool | None = None,
          keep_final_checkpoint: bool = False) -> dict:
    """Train (or resume an interrupted) run; returns the result that is also written to result.json.

    `snapshot_dir`, if given, receives the model weights after every epoch
    (epoch_0000.pt is the initialisation): the trajectory that Figure 1 measures.
    `keep_final_checkpoint` saves the finished state too, for `train_replicates`:
    a job killed after this run finished restores it instead of training it again.
    """
    cfg.validate()
    out_dir = Path(out_dir)
    checkpoint = Path(checkpoint) if checkpoint is not None else out_dir / "checkpoint.pt"
    device = resolve_device(cfg.device)
    log_device(device, f"training run {out_dir}")
    if progress is None:
        progress = sys.stderr.isatty()

    if cfg.dataset == "synthetic" and not (Path(cfg.data_root) / "synthetic.pt").exists():
        datasets.prepare("synthetic", cfg.data_root)
    data = datasets.load(cfg.dataset, cfg.data_root, device=device)

    model = build_model(cfg, data).to(device)
    estimator = methods.get(cfg.method, **cfg.method_options)
    optimizer = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr,
                               momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    data_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    guess_gen = torch.Generator(device=device).manual_seed(cfg.seed + 2)
    aug_gen = torch.Generator(device=device).manual_seed(cfg.seed + 3)

    code = lineage.training_digest(cfg.method)
    config = {**asdict(cfg), "resolved_device": str(device)}
    io.write_json(out_dir / "config.json", config)
    io.write_json(out_dir / "provenance.json", {**io.provenance(device), "code_digest": code, "seed": cfg.seed,
                                                "preset": cfg.preset})

    rows: list[dict] = []
    start_epoch, step = 1, 0
    monitor = Monitor(cfg.monitor_every, out_dir / "monitor.csv", cfg.depth) if cfg.monitor_every else None
    state = _resume_state(checkpoint, config, code, device)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        data_gen.set_state(state["data_gen"].cpu())  # generator states are CPU byte tensors
        guess_gen.set_state(state["guess_gen"].cpu())
        if "aug_gen" in state:
            aug_gen.set_state(state["aug_gen"].cpu())
        rows, step, start_epoch = list(state["rows"]), state["step"], state["epoch"] + 1
        # a scheduler may have deleted the outputs of the killed job: restore what the checkpoint knows
        _write_metrics(out_dir / "metrics.csv", rows)
        if monitor is not None:
            monitor.rows = list(state["monitor"])
            monitor.write()
        log.info("resuming %s from epoch %d (%s)", out_dir, state["epoch"], checkpoint)
    else:
        log.info("starting %s from scratch", out_dir)
        if snapshot_dir is not None:
            io.torch_save(model.state_dict(), Path(snapshot_dir) / "epoch_0000.pt")

    n = len(data.x_train)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg.epochs * steps_per_epoch, initial=(start_epoch - 1) * steps_per_epoch,
                   desc=f"{cfg.method} {_arch_label(cfg)} {cfg.dataset}", unit="step", dynamic_ncols=True)

    status, began, saved_at = "completed", time.time(), time.time()
    for epoch in range(start_epoch, cfg.epochs + 1):
        t0 = time.time()
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        order = torch.randperm(n, generator=data_gen, device=device)
        for begin in range(0, n, cfg.batch_size):
            idx = order[begin:begin + cfg.batch_size]
            x, y = data.x_train[idx], data.y_train[idx]
            if cfg.augment:
                x = random_crop_flip(x, aug_gen)
            est = estimator.compute(model, x, y, guess_gen)
            if monitor is not None and monitor.due(step):
                monitor.observe(step, epoch, model, x, y, est.grads)  # before the step: the weights est is for
            for name, p in model.named_parameters():
                p.grad = est.grads[name]
            optimizer.step()
            # accumulate on the device: no host sync inside the epoch
            loss_sum += est.loss * len(y)
            correct += (est.logits.argmax(1) == y).sum()
            step += 1
            if bar is not None:
                bar.update(1)
        train_loss = float(loss_sum) / n
        if not math.isfinite(train_loss) or not all(torch.isfinite(p).all() for p in model.parameters()):
            status = "diverged"
            log.warning("run %s diverged in epoch %d (train loss %s)", out_dir, epoch, train_loss)
            rows.append({"epoch": epoch, "step": step, "train_loss": train_loss, "train_acc": float(correct) / n,
                         "test_loss": float("nan"), "test_acc": float("nan"), "seconds": time.time() - t0})
            _write_metrics(out_dir / "metrics.csv", rows)
            break
        model.eval()
        test_loss, test_acc = evaluate(model, data.x_test, data.y_test)
        row = {"epoch": epoch, "step": step, "train_loss": train_loss, "train_acc": float(correct) / n,
               "test_loss": test_loss, "test_acc": test_acc, "seconds": time.time() - t0}
        rows.append(row)
        _write_metrics(out_dir / "metrics.csv", rows)
        if monitor is not None:
            monitor.write()
        if bar is not None:
            bar.set_postfix(train_acc=f"{row['train_acc']:.3f}", test_acc=f"{test_acc:.3f}")
        else:
            log.info(_format_row(row, cfg.epochs))
        if snapshot_dir is not None:
            io.torch_save(model.state_dict(), Path(snapshot_dir) / f"epoch_{epoch:04d}.pt")
        # never after the last epoch (unless asked): a finished run keeps no checkpoint
        last = epoch == cfg.epochs
        if (last and keep_final_checkpoint) or (not last and time.time() - saved_at >= 60 * cfg.checkpoint_minutes):
            io.torch_save({
                "format": CHECKPOINT_FORMAT, "epoch": epoch, "step": step, "config": config, "code_digest": code,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "data_gen": data_gen.get_state(), "guess_gen": guess_gen.get_state(), "aug_gen": aug_gen.get_state(),
                "rows": rows,
                "monitor": monitor.rows if monitor is not None else [],
            }, checkpoint)
            saved_at = time.time()
    if bar is not None:
        bar.close()

    result: dict[str, Any] = {"status": status, "epochs_completed": len(rows) if status == "completed" else len(rows) - 1,
                              "epochs": cfg.epochs, "steps": step, "method": cfg.method, "seed": cfg.seed,
                              "preset": cfg.preset, "wall_seconds": time.time() - began}
    if status == "completed":
        model.eval()
        result["train_loss"], result["train_acc"] = evaluate(model, data.x_train, data.y_train)
        result["test_loss"], result["test_acc"] = evaluate(model, data.x_test, data.y_test)
        if rows:
            result["best_test_acc"] = max(r["test_acc"] for r in rows)
    else:
        result["diverged_epoch"] = rows[-1]["epoch"]
    if monitor is not None:
        monitor.write()
    else:  # every run has the file, so the pipeline can declare it
        io.write_csv(out_dir / "monitor.csv", [], monitor_columns(cfg.depth))
    io.torch_save(model.state_dict(), out_dir / "weights.pt")
    io.write_json(out_dir / "result.json", result)
    if not keep_final_checkpoint:
        checkpoint.unlink(missing_ok=True)  # finished: nothing to resume, and 3× the weights on disk
    return result


def train_replicates(cfg: TrainConfig, seeds: list[int], out_pattern: str, checkpoint_pattern: str | None = None,
                     progress: bool | None = None) -> list[dict]:
    """The same run for each seed, one after another in this process, each into its own directory.

    `out_pattern` and `checkpoint_pattern` hold `{seed}`. One job for a run's seeds
    pays for the interpreter and its imports once. Each finished seed keeps its
    final checkpoint until every seed is done, so a job killed half-way restores
    the finished seeds and resumes the unfinished one; then the checkpoints go.
    """
    if len(seeds) > 1 and "{seed}" not in out_pattern:
        raise ValueError(f"several seeds need {{seed}} in the output directory, got {out_pattern!r}")
    checkpoint_pattern = checkpoint_pattern or str(Path(out_pattern) / "checkpoint.pt")
    if len(seeds) > 1 and "{seed}" not in checkpoint_pattern:
        raise ValueError(f"several seeds need {{seed}} in the checkpoint path, got {checkpoint_pattern!r}")
    results = []
    for seed in seeds:
        results.append(train(replace(cfg, seed=seed), out_pattern.format(seed=seed),
                             checkpoint_pattern.format(seed=seed), progress=progress,
                             keep_final_checkpoint=len(seeds) > 1))
    for seed in seeds:
        Path(checkpoint_pattern.format(seed=seed)).unlink(missing_ok=True)
    return results
