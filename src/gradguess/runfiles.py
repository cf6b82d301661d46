"""One run's files and bookkeeping, whichever way the run is trained: alone (gradguess.train) or as a replicate
of a batched job (gradguess.batched). Both write the same files, in the same format, through this class, so a run's
directory, its metrics and its checkpoint do not say how it was trained, and either way resumes the other's
checkpoint. What the files hold is described in gradguess.train.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable

import torch

from gradguess import io, lineage
from gradguess.errors import CheckpointError
from gradguess.io import read_checkpoint
from gradguess.monitor import Monitor, monitor_columns
from gradguess.optim import default_weight_decay
from gradguess.spec import RunSpec

log = logging.getLogger("gradguess.train")

CHECKPOINT_FORMAT = "gradguess-checkpoint-v3"
METRIC_COLUMNS = ("epoch", "step", "train_loss", "train_acc", "test_loss", "test_acc", "seconds")
GENERATORS = ("data_gen", "guess_gen", "aug_gen")  # a run's generators, seeded seed+1, seed+2, seed+3


def generators(seed: int, device) -> dict[str, torch.Generator]:
    """A run's random streams: batch order, guesses, augmentation; each replicate of a batched job has its own."""
    return {key: torch.Generator(device=device).manual_seed(seed + k) for k, key in enumerate(GENERATORS, 1)}


def record(spec: RunSpec, seed: int, runtime, device) -> dict:
    """config.json: the spec of this seed, and what was resolved when it ran."""
    weight_decay = spec.weight_decay if spec.weight_decay is not None else default_weight_decay(spec.optimizer)
    return {"spec": spec.for_seed(seed).to_dict(), "seed": seed, "weight_decay": weight_decay,
            "preset": runtime.preset, "resolved_device": str(device)}


def resume_state(checkpoint: Path, spec: dict, code: str, device) -> dict | None:
    """The checkpoint to resume from, or None to start from scratch (saying why)."""
    if not checkpoint.exists():
        return None
    state = read_checkpoint(checkpoint, device, "; delete it to restart this run from scratch")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        log.warning("checkpoint %s is of an older format: starting from scratch", checkpoint)
        return None
    if state["spec"] != spec:
        differ = sorted(k for k in set(spec) | set(state["spec"]) if spec.get(k) != state["spec"].get(k))
        raise CheckpointError(f"checkpoint {checkpoint} was made for another run specification (differs in "
                              f"{', '.join(differ)}); delete it or point --checkpoint elsewhere")
    if state.get("code_digest") != code:
        log.warning("checkpoint %s was written by other code (digest %s, now %s): starting from scratch",
                    checkpoint, state.get("code_digest"), code)
        return None
    return state


def write_metrics(path: Path, rows: list[dict]) -> None:
    io.write_csv(path, rows, METRIC_COLUMNS)


class RunFiles:
    """The files of one run (one seed): config.json and provenance.json at the start, metrics.csv and monitor.csv
    after every epoch, the checkpoint now and then, weights.pt and result.json (last) at the end."""

    def __init__(self, spec: RunSpec, seed: int, out_dir, runtime, device, checkpoint=None):
        self.spec, self.seed, self.runtime, self.device = spec, seed, runtime, device
        self.out_dir = Path(out_dir)
        self.checkpoint = Path(checkpoint) if checkpoint is not None else self.out_dir / "checkpoint.pt"
        self.code = lineage.training_digest(spec.method.name, spec.model.name)
        self.config = record(spec, seed, runtime, device)
        self.layers = spec.model.options.get("depth", 0)
        self.monitor = Monitor(spec.monitor_every, self.out_dir / "monitor.csv", self.layers) \
            if spec.monitor_every else None
        self.rows: list[dict] = []

    def start(self) -> None:
        io.write_json(self.out_dir / "config.json", self.config)
        io.write_json(self.out_dir / "provenance.json", {**io.provenance(self.device), "code_digest": self.code,
                                                         "seed": self.seed, "preset": self.runtime.preset})

    def find_state(self, until_epoch: int | None = None, resume_from=None) -> dict | None:
        """The state to resume from: the run's checkpoint, else (a chunk) the previous chunk's; None: scratch."""
        state = resume_state(self.checkpoint, self.config["spec"], self.code, self.device)
        if state is not None and until_epoch is not None and state["epoch"] > until_epoch:
            log.warning("checkpoint %s is past this chunk's end (epoch %d > %d): starting from the previous chunk",
                        self.checkpoint, state["epoch"], until_epoch)
            state = None
        if state is None and resume_from is not None:
            state = resume_state(Path(resume_from), self.config["spec"], self.code, self.device)
            if state is None:
                raise CheckpointError(f"{resume_from}, the previous chunk of this run, was written by other code or "
                                      "is gone: delete the run's chunks to train it from scratch")
        return state

    def restore(self, state: dict, gens: dict[str, torch.Generator]) -> tuple[int, int]:
        """Take the rows, monitor rows and generator states of a checkpoint; returns (step, first epoch to train)."""
        for key, gen in gens.items():
            gen.set_state(state[key].cpu())  # generator states are CPU byte tensors
        self.rows = list(state["rows"])
        # a scheduler may have deleted the outputs of the killed job: restore what the checkpoint knows
        write_metrics(self.out_dir / "metrics.csv", self.rows)
        if self.monitor is not None:
            self.monitor.rows = list(state["monitor"])
            self.monitor.write()
        log.info("resuming %s from epoch %d (%s)", self.out_dir, state["epoch"], self.checkpoint)
        return state["step"], state["epoch"] + 1

    def state(self, epoch: int, step: int, optimizer: dict, weights: dict, gens: dict[str, torch.Generator]) -> dict:
        """A checkpoint: everything a resumed run needs to continue as if it never stopped."""
        return {"format": CHECKPOINT_FORMAT, "epoch": epoch, "step": step, "spec": self.config["spec"],
                "code_digest": self.code, "optimizer": optimizer, "weights": weights,
                **{key: gen.get_state() for key, gen in gens.items()},
                "rows": self.rows, "monitor": self.monitor.rows if self.monitor is not None else []}

    def diverged(self, epoch: int, step: int, train_loss: float, train_acc: float, seconds: float) -> None:
        log.warning("run %s diverged in epoch %d (train loss %s)", self.out_dir, epoch, train_loss)
        self.rows.append({"epoch": epoch, "step": step, "train_loss": train_loss, "train_acc": train_acc,
                          "test_loss": float("nan"), "test_acc": float("nan"), "seconds": seconds})
        write_metrics(self.out_dir / "metrics.csv", self.rows)

    def epoch_done(self, epoch: int, step: int, train_loss: float, train_acc: float, test: tuple[float, float],
                   seconds: float, bar=None) -> dict:
        row = {"epoch": epoch, "step": step, "train_loss": train_loss, "train_acc": train_acc,
               "test_loss": test[0], "test_acc": test[1], "seconds": seconds}
        self.rows.append(row)
        write_metrics(self.out_dir / "metrics.csv", self.rows)
        if self.monitor is not None:
            self.monitor.write()
        if bar is not None:
            bar.set_postfix(train_acc=f"{row['train_acc']:.3f}", test_acc=f"{test[1]:.3f}")
        else:
            log.info(f"{self.prefix}epoch {epoch}/{self.spec.epochs}  train loss {train_loss:.4f} acc "
                     f"{train_acc:.4f}  test loss {test[0]:.4f} acc {test[1]:.4f}  ({seconds:.1f} s)")
        return row

    prefix = ""  # a batched job's log lines name the replicate

    def finish(self, status: str, step: int, began: float, final: Callable[[], dict] | None, weights: dict,
               keep_final_checkpoint: bool = False) -> dict:
        """Write the monitor, the weights and (last) result.json; `final()` gives a completed run's final numbers."""
        rows = self.rows
        result: dict[str, Any] = {"status": status,
                                  "epochs_completed": len(rows) if status == "completed" else len(rows) - 1,
                                  "epochs": self.spec.epochs, "steps": step, "method": self.spec.method.name,
                                  "seed": self.seed, "preset": self.runtime.preset,
                                  "wall_seconds": time.time() - began}
        if status == "completed":
            result.update(final())
            if rows:
                result["best_test_acc"] = max(r["test_acc"] for r in rows)
        else:
            result["diverged_epoch"] = rows[-1]["epoch"]
        if self.monitor is not None:
            self.monitor.write()
        else:  # every run has the file, so the pipeline can declare it
            io.write_csv(self.out_dir / "monitor.csv", [], monitor_columns(self.layers))
        io.torch_save(weights, self.out_dir / "weights.pt")
        io.write_json(self.out_dir / "result.json", result)
        if not keep_final_checkpoint:
            self.checkpoint.unlink(missing_ok=True)  # finished: nothing to resume, and 3x the weights on disk
        return result
