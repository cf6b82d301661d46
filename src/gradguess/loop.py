"""The epoch loop, one for every way a run trains: alone (gradguess.train) or as one of R replicates stacked into
one batched model (gradguess.batched).

Either way is a `Trainee`: R runs of one setting trained in lockstep (R = 1 alone), each with its own files
(runfiles.RunFiles) and generators, that draw a batch, estimate its gradient, step, and are evaluated. `run_epochs`
drives one: the schedule's lr factor, the guess monitor, divergence (a run that diverges ends there, as diverged;
the others train on), a checkpoint now and then, epoch snapshots, a chunk's state, the progress bar and the final
evaluation. So a run's files and checkpoints do not say how it was trained, and either way resumes the other's.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gradguess import io
from gradguess.runfiles import RunFiles
from gradguess.spec import RunSpec, lr_factor

log = logging.getLogger("gradguess.train")


@dataclass
class Run:
    """One run of a trainee: its files and generators, the first epoch it trains (a resumed run: after its
    checkpoint's), where its epoch snapshots and (a chunk of a longer run) its final state go, and its result."""
    files: RunFiles
    gens: dict = field(repr=False)
    start: int = 1
    snapshots: str | Path | None = None
    chunk: str | Path | None = None
    result: dict | None = None


class Diverged(Exception):
    """Runs `bad` (indices into the trainee's runs) cannot take this step: their guess rule failed on their
    non-finite weights (W^T's SVD)."""

    def __init__(self, bad: list[int]):
        super().__init__(f"replicates {bad} have non-finite weights")
        self.bad = bad


class Trainee(Protocol):
    """R runs trained in lockstep; run i is `runs[i]`, and every per-run answer is a list in that order."""
    step: int  # steps taken, the same for every run training now

    @property
    def runs(self) -> list[Run]: ...

    def join(self, runs: list[Run]) -> None:
        """Runs that start training now (at their `start` epoch) join those training."""

    def drop(self, bad: list[int], batch: Any = None) -> Any:
        """Runs `bad` leave; returns `batch` (from `draw`) without theirs."""

    def begin_epoch(self, factor: float) -> None:
        """The schedule's lr factor of this epoch; each run draws its batch order."""

    def draw(self, begin: int) -> Any:
        """Each run's batch from `begin` on in its order, augmented (and its guess noise where drawn apart)."""

    def estimate(self, batch: Any) -> Any:
        """Each run's gradient estimate on its batch; raises Diverged for runs whose guess rule fails."""

    def watch(self, i: int, batch: Any, est: Any) -> tuple:
        """What run i's monitor observes (monitor.Monitor.observe): its model, batch and estimate."""

    def update(self, batch: Any, est: Any) -> None:
        """The optimizer step of every run; adds the batch's loss and correct answers to the epoch's sums."""

    def sums(self) -> list[tuple[float, float]]:
        """Each run's summed training loss and correct answers of this epoch."""

    def finite(self) -> list[bool]:
        """Whether each run's weights are all finite."""

    def evaluate(self, x, y) -> list[tuple[float, float]]:
        """Each run's mean loss and accuracy on (x, y), as train.evaluate computes them."""

    def weights(self, i: int) -> dict:
        """Run i's weights record (models.weights_record)."""

    def optimizer_state(self, i: int) -> dict:
        """Run i's optimizer state, in the single optimizer's `state_dict` format."""


def run_epochs(trainee: Trainee, runs: list[Run], spec: RunSpec, data, checkpoint_minutes: float,
               keep_final_checkpoint: bool = False, stop: int | None = None, progress: bool = False) -> list[dict]:
    """Train `runs` (of `spec`'s setting, each from its `start` epoch) to epoch `stop` (default: the last) and end
    each: completed, diverged, or (stop before the last epoch) a chunk whose state goes to its `chunk`. Returns
    their results, in order. `keep_final_checkpoint`: a finished run keeps its final state (a job of several runs
    restores it if killed before all are done); otherwise a finished run keeps no checkpoint."""
    stop = spec.epochs if stop is None else stop
    Loop(trainee, spec, data, checkpoint_minutes, keep_final_checkpoint).run(runs, stop, progress)
    return [r.result for r in runs]


class Loop:
    def __init__(self, trainee: Trainee, spec: RunSpec, data, checkpoint_minutes: float, keep: bool):
        self.trainee, self.spec, self.data = trainee, spec, data
        self.minutes, self.keep, self.n = checkpoint_minutes, keep, len(data.x_train)
        self.began = self.saved_at = time.time()
        self.bar = None

    def run(self, runs: list[Run], stop: int, progress: bool) -> None:
        trainee, spec = self.trainee, self.spec
        first = min(r.start for r in runs)
        if progress:
            from tqdm import tqdm
            steps = math.ceil(self.n / spec.batch_size)
            self.bar = tqdm(total=spec.epochs * steps, initial=(first - 1) * steps, unit="step", dynamic_ncols=True,
                            desc=f"{spec.method.name} {spec.arch} {spec.dataset}")
        waiting = list(runs)
        for epoch in range(first, stop + 1):
            joining = [r for r in waiting if r.start == epoch]
            if joining:  # resumed runs train apart until their epochs meet
                waiting = [r for r in waiting if r.start != epoch]
                trainee.join(joining)
            if trainee.runs:
                self.epoch(epoch)
        if self.bar is not None:
            self.bar.close()
        if waiting:  # resumed from a final checkpoint: nothing left to train
            trainee.join(waiting)
        if stop < spec.epochs:
            self.chunk(stop)
        elif trainee.runs:
            self.final()

    def epoch(self, epoch: int) -> None:
        trainee, spec, n = self.trainee, self.spec, self.n
        t0 = time.time()
        trainee.begin_epoch(lr_factor(spec.schedule, epoch - 1, spec.epochs, spec.warmup_epochs))
        for begin in range(0, n, spec.batch_size):
            if not self.step(epoch, begin, t0):
                return
            if self.bar is not None:
                self.bar.update(1)
        sums = trainee.sums()  # the epoch's one host sync
        bad = [i for i, ((loss, _), ok) in enumerate(zip(sums, trainee.finite()))
               if not math.isfinite(loss / n) or not ok]
        for i in bad:
            self.diverged(i, epoch, sums[i][0] / n, sums[i][1] / n, t0)
        if bad:
            trainee.drop(bad)
            sums = [s for i, s in enumerate(sums) if i not in bad]
            if not trainee.runs:
                return
        tests = trainee.evaluate(self.data.x_test, self.data.y_test)
        for i, run in enumerate(trainee.runs):
            run.files.epoch_done(epoch, trainee.step, sums[i][0] / n, sums[i][1] / n, tests[i], time.time() - t0,
                                 self.bar)
            if run.snapshots is not None:
                io.torch_save(trainee.weights(i), Path(run.snapshots) / f"epoch_{epoch:04d}.pt")
        # never after the last epoch (unless asked): a finished run keeps no checkpoint
        last = epoch == spec.epochs
        if (last and self.keep) or (not last and time.time() - self.saved_at >= 60 * self.minutes):
            for i, run in enumerate(trainee.runs):
                self.save(i, epoch, run.files.checkpoint)
            self.saved_at = time.time()

    def step(self, epoch: int, begin: int, t0: float) -> bool:
        """One step of every run training; False when none is left."""
        trainee = self.trainee
        batch = trainee.draw(begin)
        while True:
            try:
                est = trainee.estimate(batch)
                break
            except Diverged as exc:  # those runs end here, as diverged; the others take this step
                for i in exc.bad:
                    self.diverged(i, epoch, math.nan, math.nan, t0)
                batch = trainee.drop(exc.bad, batch)
                if not trainee.runs:
                    return False
        for i, run in enumerate(trainee.runs):
            monitor = run.files.monitor
            if monitor is not None and monitor.due(trainee.step):  # before the step: the weights est is for
                monitor.observe(trainee.step, epoch, *trainee.watch(i, batch, est))
        trainee.update(batch, est)
        return True

    def save(self, i: int, epoch: int, path) -> None:
        run = self.trainee.runs[i]
        io.torch_save(run.files.state(epoch, self.trainee.step, self.trainee.optimizer_state(i),
                                      self.trainee.weights(i), run.gens), path)

    def end(self, i: int, status: str, final=None) -> None:
        run = self.trainee.runs[i]
        run.result = run.files.finish(status, self.trainee.step, self.began, final, self.trainee.weights(i),
                                      self.keep)

    def diverged(self, i: int, epoch: int, loss: float, acc: float, t0: float) -> None:
        self.trainee.runs[i].files.diverged(epoch, self.trainee.step, loss, acc, time.time() - t0)
        self.end(i, "diverged")

    def chunk(self, stop: int) -> None:
        """A chunk of a longer run: its state, for the next chunk, instead of results."""
        for i, run in enumerate(self.trainee.runs):
            self.save(i, stop, Path(run.chunk))
            run.files.checkpoint.unlink(missing_ok=True)
            log.info("chunk of %s done at epoch %d of %d: %s", run.files.out_dir, stop, self.spec.epochs, run.chunk)
            run.result = {"status": "chunk", "epoch": stop, "epochs": self.spec.epochs, "steps": self.trainee.step,
                          "seed": run.files.seed}

    def final(self) -> None:
        trains = self.trainee.evaluate(self.data.x_train, self.data.y_train)
        tests = self.trainee.evaluate(self.data.x_test, self.data.y_test)
        for i in range(len(self.trainee.runs)):
            self.end(i, "completed", lambda i=i: {"train_loss": trains[i][0], "train_acc": trains[i][1],
                                                  "test_loss": tests[i][0], "test_acc": tests[i][1]})
