"""The one epoch loop (gradguess.loop) against a trainee that is no model at all: what the loop itself decides,
apart from any trainer's numerics (tests/test_train.py and tests/test_batched.py run it with the real ones). Runs
resumed at different epochs join when their epochs meet; a run failing mid-step ends there and the others take the
step; a run with non-finite weights ends at its epoch's end; checkpoints, chunks and final results per run."""
import csv
import math
from types import SimpleNamespace

import pytest
import torch

from gradguess.loop import Diverged, Run, run_epochs
from gradguess.runfiles import RunFiles, generators
from gradguess.spec import Part, RunSpec
from gradguess.train import Runtime

SPEC = RunSpec(model=Part("mlp", {"depth": 1, "width": 4}), method=Part("wt"), dataset="synthetic", epochs=3,
               batch_size=5)
DATA = SimpleNamespace(x_train=torch.zeros(10), y_train=torch.zeros(10), x_test=torch.zeros(4), y_test=torch.zeros(4))


class Counters:
    """R runs whose weights are one number each, +1 a step; `fail` and `blow`: {seed: step} at which a run's
    estimate fails (Diverged) or its weight becomes infinite."""

    def __init__(self, fail=None, blow=None):
        self.runs, self.step, self.fail, self.blow, self.joined = [], 0, fail or {}, blow or {}, []

    def join(self, runs):
        assert {r.steps for r in self.runs + runs} == {r.steps for r in runs}, "runs at different steps met"
        self.runs, self.step = self.runs + runs, runs[0].steps
        self.joined.append(sorted(r.files.seed for r in runs))

    def drop(self, bad, batch=None):
        self.runs = [r for i, r in enumerate(self.runs) if i not in bad]
        return batch

    def begin_epoch(self, factor):
        self.losses = [0.0] * len(self.runs)

    def draw(self, begin):
        return begin

    def estimate(self, batch):
        bad = [i for i, r in enumerate(self.runs) if self.fail.get(r.files.seed) == self.step]
        if bad:
            raise Diverged(bad)
        return batch

    def watch(self, i, batch, est):
        raise AssertionError("these runs have no monitor")

    def update(self, batch, est):
        for i, r in enumerate(self.runs):
            r.w = math.inf if self.blow.get(r.files.seed) == self.step else r.w + 1
            r.steps += 1
            self.losses[i] += 0.0 if math.isinf(r.w) else 1.0
        self.step += 1

    def sums(self):
        return [(loss, 5.0) for loss in self.losses]

    def finite(self):
        return [math.isfinite(r.w) for r in self.runs]

    def evaluate(self, x, y):
        return [(r.w, len(x) / 10) for r in self.runs]

    def weights(self, i):
        return {"state": {"w": torch.tensor(self.runs[i].w)}}

    def optimizer_state(self, i):
        return {"steps": self.runs[i].steps}


def runs(tmp_path, seeds, start=None) -> list[Run]:
    out = []
    for seed in seeds:
        files = RunFiles(SPEC, seed, tmp_path / f"s{seed}", Runtime(), torch.device("cpu"))
        files.start(fresh=True)
        run = Run(files, generators(seed, "cpu"), (start or {}).get(seed, 1))
        run.w, run.steps = float(2 * (run.start - 1)), 2 * (run.start - 1)  # as resumed after epoch start - 1
        out.append(run)
    return out


def test_the_loop_joins_resumed_runs_and_ends_each_run_on_its_own(tmp_path):
    trainee = Counters(fail={2: 3}, blow={3: 0})  # seed 2: fails in epoch 2's second step; seed 3: inf in epoch 1
    results = run_epochs(trainee, runs(tmp_path, [0, 1, 2, 3, 4], start={1: 2, 4: 4}), SPEC, DATA, 0,
                         keep_final_checkpoint=True)
    # seed 1 resumed after epoch 1 joins at epoch 2 (step 2); seed 4, resumed from its final state, at the end
    assert trainee.joined == [[0, 2, 3], [1], [4]]
    assert [r["status"] for r in results] == ["completed", "completed", "diverged", "diverged", "completed"]
    assert [r.get("diverged_epoch") for r in results] == [None, None, 2, 1, None]
    assert [r["steps"] for r in results] == [6, 6, 3, 2, 6]
    assert results[0]["train_loss"] == 6.0 and results[0]["train_acc"] == 1.0 and results[0]["test_acc"] == 0.4
    failed = rows(tmp_path / "s2")
    assert [r["epoch"] for r in failed] == [1, 2] and math.isnan(failed[-1]["train_loss"])  # failed mid-step
    assert [r["epoch"] for r in rows(tmp_path / "s1")] == [2, 3]
    for seed, epoch in ((0, 3), (1, 3), (2, 1)):  # kept: a job of several runs keeps its final states
        state = torch.load(tmp_path / f"s{seed}" / "checkpoint.pt", weights_only=True)
        assert state["epoch"] == epoch and state["optimizer"]["steps"] == 2 * epoch
    assert not (tmp_path / "s3" / "checkpoint.pt").exists()  # diverged before its first checkpoint
    assert torch.load(tmp_path / "s2" / "weights.pt", weights_only=True)["state"]["w"] == 3.0


def rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def test_a_chunk_saves_its_state_instead_of_results(tmp_path):
    run, = runs(tmp_path, [0])
    run.chunk = tmp_path / "chunk.pt"
    result, = run_epochs(Counters(), [run], SPEC, DATA, 0, stop=2)
    assert result == {"status": "chunk", "epoch": 2, "epochs": 3, "steps": 4, "seed": 0}
    state = torch.load(run.chunk, weights_only=True)
    assert state["epoch"] == 2 and state["step"] == 4 and state["weights"]["state"]["w"] == 4.0
    assert not (tmp_path / "s0" / "checkpoint.pt").exists() and not (tmp_path / "s0" / "result.json").exists()


@pytest.mark.parametrize("minutes,saved", [(0, 2), (1e9, None)])
def test_checkpoints_are_saved_once_the_minutes_have_passed(tmp_path, minutes, saved):
    class Killed(Counters):
        def evaluate(self, x, y):  # killed in epoch 3's evaluation
            if self.step == 6:
                raise KeyboardInterrupt
            return super().evaluate(x, y)

    with pytest.raises(KeyboardInterrupt):
        run_epochs(Killed(), runs(tmp_path, [0]), SPEC, DATA, minutes)
    checkpoint = tmp_path / "s0" / "checkpoint.pt"
    assert (torch.load(checkpoint, weights_only=True)["epoch"] if checkpoint.exists() else None) == saved


def test_both_trainers_are_trainees_of_the_one_loop():
    """Every call the loop makes of a trainee is implemented by the run alone and by the batched replicates."""
    from gradguess.batched import Replicates
    from gradguess.loop import Trainee
    from gradguess.train import Alone

    calls = {n for n, v in vars(Trainee).items() if callable(v) and not n.startswith("_")}
    assert {"join", "drop", "begin_epoch", "draw", "estimate", "update", "evaluate", "weights"} <= calls
    for trainee in (Alone, Replicates, Counters):
        assert sorted(n for n in calls if not callable(getattr(trainee, n, None))) == [], trainee
