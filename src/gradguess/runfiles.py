"""One run's files and bookkeeping, whichever way the run is trained: alone (gradguess.train) or as a replicate
of a batched job (gradguess.batched). Both write the same files, in the same format, through this class, so a run's
directory, its metrics and its checkpoint do not say how it was trained, and either way resumes the other's
checkpoint. What the files hold is described in gradguess.train.

A run directory never mixes two runs. Before anything is written (`claim`): one holding a finished run (its
result.json) of another specification is refused; one of this specification trains again, its old outputs removed
first (result.json first), so a run killed midway leaves one unfinished run. A chunk of a longer run writes nothing
beside a finished run: the pipeline re-trains a chunked run while the old seed's result stands (Snakemake deletes
a job's outputs when that job starts, and the seed's files are the last chunk's job's).
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Callable

import torch

from gradguess import checkpoints, io, lineage
from gradguess.checkpoints import Damaged, Expect
from gradguess.errors import CheckpointError, RunDirError
from gradguess.io import read_checkpoint
from gradguess.monitor import Monitor, monitor_columns
from gradguess.optim import buffer_names, default_weight_decay
from gradguess.spec import RunSpec

log = logging.getLogger("gradguess.train")

CHECKPOINT_FORMAT = "gradguess-checkpoint-v3"
METRIC_COLUMNS = ("epoch", "step", "train_loss", "train_acc", "test_loss", "test_acc", "seconds")
GENERATORS = ("data_gen", "guess_gen", "aug_gen")  # a run's generators, seeded seed+1, seed+2, seed+3
RESTART = "delete it to restart this run from scratch"


def generators(seed: int, device) -> dict[str, torch.Generator]:
    """A run's random streams: batch order, guesses, augmentation; each replicate of a batched job has its own."""
    return {key: torch.Generator(device=device).manual_seed(seed + k) for k, key in enumerate(GENERATORS, 1)}


def record(spec: RunSpec, seed: int, runtime, device) -> dict:
    """config.json: the spec of this seed, and what was resolved when it ran."""
    weight_decay = spec.weight_decay if spec.weight_decay is not None else default_weight_decay(spec.optimizer)
    return {"spec": spec.for_seed(seed).to_dict(), "seed": seed, "weight_decay": weight_decay,
            "preset": runtime.preset, "resolved_device": str(device)}


def resume_state(checkpoint: Path, expect: Expect, spec: dict, code: str, device, advice: str = RESTART) -> dict | None:
    """The checkpoint to resume from, or None to start from scratch (saying why); a damaged one is refused."""
    if not checkpoint.exists():
        return None
    state = read_checkpoint(checkpoint, device, f"; {advice}")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        log.warning("checkpoint %s is of an older format: starting from scratch", checkpoint)
        return None
    try:
        for key, kind in (("spec", dict), ("code_digest", str)):
            if not isinstance(state.get(key), kind):
                raise Damaged(key, "is missing" if key not in state else f"is a {type(state[key]).__name__}")
        if state["spec"] != spec:
            raise CheckpointError(f"checkpoint {checkpoint} was made for another run specification (differs in "
                                  f"{', '.join(differ(state['spec'], spec))}); delete it or point --checkpoint "
                                  "elsewhere")
        if state["code_digest"] != code:
            log.warning("checkpoint %s was written by other code (digest %s, now %s): starting from scratch",
                        checkpoint, state["code_digest"], code)
            return None
        checkpoints.check(state, expect)
    except Damaged as exc:
        raise CheckpointError(f"checkpoint {checkpoint} is damaged: {exc}; {advice}") from None
    return state


def differ(a: dict, b: dict) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def plain(value):
    """As config.json holds it: what is compared with a finished run's specification."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def finished_spec(out_dir: Path) -> dict | None | str:
    """The specification of the finished run in `out_dir`: None if there is none (no result.json), a string
    saying why if its config.json cannot tell."""
    if not (out_dir / "result.json").exists():
        return None
    try:
        spec = json.loads((out_dir / "config.json").read_text())["spec"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"its config.json cannot be read ({type(exc).__name__}: {exc})"
    return spec if isinstance(spec, dict) else "its config.json holds no specification"


def short(value) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


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
        self.writes, self.again = True, False  # whether it writes its files; over a finished run of its own spec

    def claim(self, chunk: bool = False) -> None:
        """Whether this run may write into its directory (the module's rules), decided before anything is written;
        `chunk`: a chunk of a longer run. Refuses a finished run of another specification."""
        finished = finished_spec(self.out_dir)
        if finished is None:
            return
        if chunk:
            self.writes = False
            log.warning("%s holds a finished run: this chunk leaves its files alone (the run's last part replaces "
                        "them)", self.out_dir)
            return
        ours = plain(self.config["spec"])
        if isinstance(finished, str) or plain(finished) != ours:
            what = finished if isinstance(finished, str) else "; ".join(
                f"{k}: {short(finished.get(k))} there, {short(ours.get(k))} here" for k in differ(finished, ours))
            raise RunDirError(f"{self.out_dir} holds a finished run of another specification ({what}), which this run "
                              "would write over: nothing was written. Give this run another --out, or delete that "
                              "run's directory to replace it")
        self.again = True

    def start(self, fresh: bool) -> None:
        """Write config.json and provenance.json; a run from scratch also empty metrics and monitor tables, so
        that no file of an earlier run is left beside them."""
        if not self.writes:
            return
        if self.again:
            log.warning("%s holds a finished run of this specification: training it again (its result.json and "
                        "weights.pt go first)", self.out_dir)
        for name in ("result.json", "weights.pt"):  # result.json first: from here on the directory is unfinished
            (self.out_dir / name).unlink(missing_ok=True)
        io.write_json(self.out_dir / "config.json", self.config)
        io.write_json(self.out_dir / "provenance.json", {**io.provenance(self.device), "code_digest": self.code,
                                                         "seed": self.seed, "preset": self.runtime.preset})
        if fresh:
            self.write_tables()

    def write_tables(self) -> None:
        if not self.writes:
            return
        write_metrics(self.out_dir / "metrics.csv", self.rows)
        if self.monitor is not None:
            self.monitor.write()
        else:  # every run has the file, so the pipeline can declare it
            io.write_csv(self.out_dir / "monitor.csv", [], monitor_columns(self.layers))

    def expect(self, record: dict, params, gens: dict[str, torch.Generator], steps_per_epoch: int) -> Expect:
        """What a checkpoint of this run must hold (checkpoints.check): `record` is the weights record the run
        would save now, `params` the optimizer's parameters in order."""
        spec = self.spec
        return Expect(spec.epochs, steps_per_epoch, {k: v for k, v in record.items() if k != "state"},
                      checkpoints.template(record["state"]), tuple((tuple(p.shape), p.dtype) for p in params),
                      buffer_names(spec.optimizer, spec.momentum), dict(gens), METRIC_COLUMNS,
                      (tuple(self.monitor.columns), self.monitor.every) if self.monitor is not None else None)

    def find_state(self, expect: Expect, until_epoch: int | None = None, resume_from=None) -> dict | None:
        """The state to resume from: the run's checkpoint, else (a chunk) the previous chunk's; None: scratch."""
        state = resume_state(self.checkpoint, expect, self.config["spec"], self.code, self.device)
        if state is not None and until_epoch is not None and state["epoch"] > until_epoch:
            log.warning("checkpoint %s is past this chunk's end (epoch %d > %d): starting from the previous chunk",
                        self.checkpoint, state["epoch"], until_epoch)
            state = None
        if state is None and resume_from is not None:
            state = resume_state(Path(resume_from), expect, self.config["spec"], self.code, self.device,
                                 "delete the run's chunks to train it from scratch")
            if state is None:
                raise CheckpointError(f"{resume_from}, the previous chunk of this run, was written by other code or "
                                      "is gone: delete the run's chunks to train it from scratch")
            if until_epoch is not None and state["epoch"] > until_epoch:
                raise CheckpointError(f"{resume_from}, the previous chunk of this run, is at epoch {state['epoch']}, "
                                      f"past this chunk's end (epoch {until_epoch}): delete the run's chunks to "
                                      "train it from scratch")
        return state

    def restore(self, state: dict, gens: dict[str, torch.Generator]) -> tuple[int, int]:
        """Take the rows, monitor rows and generator states of a checkpoint; returns (step, first epoch to train)."""
        for key, gen in gens.items():
            gen.set_state(state[key].cpu())  # generator states are CPU byte tensors
        self.rows = list(state["rows"])
        if self.monitor is not None:
            self.monitor.rows = list(state["monitor"])
        self.write_tables()  # a scheduler may have deleted the outputs of the killed job: what the checkpoint knows
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
        self.write_tables()

    def epoch_done(self, epoch: int, step: int, train_loss: float, train_acc: float, test: tuple[float, float],
                   seconds: float, bar=None) -> dict:
        row = {"epoch": epoch, "step": step, "train_loss": train_loss, "train_acc": train_acc,
               "test_loss": test[0], "test_acc": test[1], "seconds": seconds}
        self.rows.append(row)
        self.write_tables()
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
        if not self.writes:  # a chunk that diverged, beside a finished run
            log.warning("%s: this chunk's run %s; the finished run there is left as it is", self.out_dir, status)
            return result
        self.write_tables()
        io.torch_save(weights, self.out_dir / "weights.pt")
        io.write_json(self.out_dir / "result.json", result)
        if not keep_final_checkpoint:
            self.checkpoint.unlink(missing_ok=True)  # finished: nothing to resume, and 3x the weights on disk
        return result
