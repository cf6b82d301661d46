"""A run's directory never mixes two runs (issue 26, item 5): `gradguess train --out` over a finished run of another
specification is refused before anything is written, naming what differs; the same specification trains again,
its old outputs gone first, so a kill midway leaves one unfinished run; a chunk of a longer run (the pipeline
re-training a chunked run while the old result still stands) leaves a finished run's files alone."""
import hashlib
import json
import logging
from io import BytesIO

import pytest
import torch

from gradguess import data
from gradguess import train as train_mod
from gradguess.batched import Entry, train_batched, train_many
from gradguess.cli import main
from gradguess.errors import GradguessError
from gradguess.spec import Part, RunSpec
from gradguess.train import Runtime, train
from interrupts import kill_on_call


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp("data")
    data.prepare("synthetic", path, max_train=2000, max_test=500)
    return path


def rt(root):
    return Runtime(data_root=str(root), device="cpu", progress=False, checkpoint_minutes=0)


def spec(seed=0, **kw):
    return RunSpec(model=Part("mlp", {"depth": 2, "width": 16}), method=Part("wt"), dataset="synthetic",
                   **{"epochs": 2, "batch_size": 1000, "lr": 1e-2, "seeds": (seed,), **kw})


def snapshot(run):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(run.iterdir()) if p.is_file()}


def cli_train(root, s, out):
    return main(["train", "--spec", s.to_json(), "--out", str(out), "--data-root", str(root), "--device", "cpu",
                 "--checkpoint-minutes", "0"])


def test_train_over_a_finished_run_of_another_spec_is_refused_and_leaves_it_untouched(root, tmp_path, capsys):
    run = tmp_path / "run"
    assert cli_train(root, spec(), run) == 0
    before = snapshot(run)
    assert {"result.json", "weights.pt", "metrics.csv", "config.json"} <= set(before)
    assert cli_train(root, spec(lr=3e-2, epochs=3), run) == 2
    err = capsys.readouterr().err
    assert str(run) in err and "finished run of another specification" in err, err
    assert "lr: 0.01 there, 0.03 here" in err and "epochs: 2 there, 3 here" in err, err
    assert snapshot(run) == before  # nothing written, nothing removed


def test_a_batched_job_over_a_finished_run_of_another_spec_starts_none_of_its_runs(root, tmp_path):
    train(spec(), 0, tmp_path / "a", rt(root))
    before = snapshot(tmp_path / "a")
    entries = [Entry(spec(seed=1), 1, str(tmp_path / "b")), Entry(spec(seed=2, lr=2e-2), 2, str(tmp_path / "a"))]
    with pytest.raises(GradguessError, match="another specification"):
        train_batched(entries, rt(root))
    assert snapshot(tmp_path / "a") == before and not (tmp_path / "b").exists()


def test_the_same_spec_trains_again_and_a_kill_midway_leaves_no_mixed_directory(root, tmp_path, monkeypatch,
                                                                                caplog):
    run = tmp_path / "run"
    first = train(spec(), 0, run, rt(root))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # in epoch 1's evaluation: before any checkpoint or metrics row of this attempt

    monkeypatch.setattr(train_mod, "evaluate", killed)
    with caplog.at_level(logging.WARNING, logger="gradguess.train"), pytest.raises(KeyboardInterrupt):
        train(spec(), 0, run, rt(root))
    assert "finished run of this specification" in caplog.text
    # what is left is one unfinished run: no result, no final weights, no rows of the old run
    assert not (run / "result.json").exists() and not (run / "weights.pt").exists()
    assert (run / "metrics.csv").read_text().strip().count("\n") == 0
    assert json.loads((run / "config.json").read_text())["spec"] == spec().to_dict()
    monkeypatch.undo()
    again = train(spec(), 0, run, rt(root))
    assert again["test_acc"] == first["test_acc"] and again["steps"] == first["steps"]


def test_a_run_is_not_started_over_an_unfinished_run_whose_checkpoint_it_refuses(root, tmp_path):
    """The checkpoint is read before config.json is written: a refused run leaves the other run's files as they were."""
    run = tmp_path / "run"
    train(spec(epochs=3), 0, run, rt(root), until_epoch=1, chunk=tmp_path / "state.pt")
    (tmp_path / "state.pt").rename(run / "checkpoint.pt")
    before = snapshot(run)
    with pytest.raises(GradguessError, match="another run specification"):
        train(spec(epochs=3, lr=5e-2), 0, run, rt(root))
    assert snapshot(run) == before


def test_a_chunk_leaves_a_finished_run_alone(root, tmp_path, caplog):
    """The pipeline re-trains a chunked run (a changed setting) while the old seed's result still stands: Snakemake
    deletes it only when the run's last part starts. The chunks must neither be refused nor write beside it."""
    run = tmp_path / "run"
    train(spec(), 0, run, rt(root))
    before = snapshot(run)
    longer = spec(epochs=3)
    with caplog.at_level(logging.WARNING, logger="gradguess.train"):
        chunk = train(longer, 0, run, rt(root), until_epoch=1, chunk=run / "chunks" / "chunk0.pt")
    assert chunk["status"] == "chunk" and (run / "chunks" / "chunk0.pt").exists()
    assert "leaves its files alone" in caplog.text
    assert snapshot(run) == before
    for name in ("result.json", "weights.pt", "metrics.csv", "monitor.csv"):  # what Snakemake deletes first
        (run / name).unlink()
    last = train(longer, 0, run, rt(root), resume_from=run / "chunks" / "chunk0.pt")
    assert last["status"] == "completed" and last["epochs"] == 3
    assert json.loads((run / "config.json").read_text())["spec"]["epochs"] == 3


def test_a_killed_job_of_several_seeds_run_again_restores_its_finished_seed(root, tmp_path, monkeypatch, caplog):
    """Its finished seed (result.json and its final checkpoint, kept until every seed is done) is of the same
    specification: restored from the checkpoint, not refused and not retrained."""
    two = spec(seeds=(0, 1))
    seeds = [Entry(two, seed, str(tmp_path / f"seed{seed}")) for seed in two.seeds]
    kill_on_call(monkeypatch, train_mod, "evaluate", 5)  # seed 0: one evaluation an epoch and two at the end
    with pytest.raises(KeyboardInterrupt):
        train_many(seeds, rt(root), batched=False)
    monkeypatch.undo()
    done = (tmp_path / "seed0" / "weights.pt").read_bytes()
    assert (tmp_path / "seed0" / "result.json").exists() and (tmp_path / "seed0" / "checkpoint.pt").exists()
    with caplog.at_level(logging.INFO, logger="gradguess.train"):
        results = train_many(seeds, rt(root), batched=False)
    assert [r["status"] for r in results] == ["completed"] * 2
    assert f"resuming {tmp_path / 'seed0'} from epoch 2" in caplog.text
    assert json.loads((tmp_path / "seed0" / "result.json").read_text())["steps"] == results[0]["steps"]
    a = torch.load(tmp_path / "seed0" / "weights.pt", weights_only=True)
    b = torch.load(BytesIO(done), weights_only=True)
    assert all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"])
    assert not list(tmp_path.glob("seed*/checkpoint.pt"))
