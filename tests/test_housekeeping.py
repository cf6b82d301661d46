"""Cleaning up: a tree that does not exist is an error naming it, `snakemake cleanup -n` lists what it would
delete without deleting it, and cleaning never races a running job: it refuses while Snakemake holds a lock, and
keeps every checkpoint of a job whose seeds are not all finished or that Snakemake marks incomplete."""
import os
import shutil
from pathlib import Path

import pytest

from gradguess.cli import main
from gradguess.errors import GradguessError
from gradguess.housekeeping import TreeInUse, clean, plan
from workflow_helpers import QUICK, copy_workflow, snakemake


def test_a_tree_that_does_not_exist_is_an_error_naming_it(tmp_path, capsys):
    missing = tmp_path / "results" / "quikc"
    with pytest.raises(GradguessError, match="quikc does not exist"):
        clean(missing)
    assert main(["clean", "--tree", str(missing), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"gradguess: error: {missing} does not exist" in err and "0 file" not in err
    assert "does not exist" in plan(missing)


def finished_run_with_leftovers(tree):
    seed = tree / "runs" / "synthetic" / "d6-w32" / "wt" / "e3" / "seed0"
    seed.mkdir(parents=True)
    (seed / "result.json").write_text("{}")
    (seed / "weights.pt").write_bytes(b"w" * 10)
    stale = seed / "checkpoint-0000000000.pt"       # a finished run's checkpoint, left by an older version
    stale.write_bytes(b"x" * 3 * 2**20)
    killed = seed / ".metrics.csv.abc.tmp"           # a write killed more than an hour ago
    killed.write_text("half")
    os.utime(killed, (0, 0))
    return seed, [stale, killed]


def test_plan_lists_each_file_and_the_total(tmp_path):
    seed, doomed = finished_run_with_leftovers(tmp_path / "tree")
    state = tmp_path / ".snakemake"  # this test's own: no Snakemake runs here
    text = plan(tmp_path / "tree", state=state)
    assert "2 file(s) to delete" in text and "3.0 MB" in text
    assert all(str(p) in text for p in doomed) and "weights.pt" not in text
    assert all(p.exists() for p in doomed)
    assert plan(tmp_path / "tree", keep_digests=set(), state=state).count("checkpoint-0000000000.pt") == 1
    (tmp_path / "empty").mkdir()
    assert plan(tmp_path / "empty", state=state) == f"nothing to delete under {tmp_path / 'empty'}"


def test_a_dry_run_of_cleanup_says_which_files_it_would_delete(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    seed, doomed = finished_run_with_leftovers(wf / "results" / "quick")
    # the target first: `--configfile` takes every word after it
    out = snakemake(wf, "cleanup", *QUICK, "-n", timeout=300)
    text = out.stdout + out.stderr
    assert "2 file(s) to delete under results/quick" in text, text[-3000:]
    for path in doomed:
        assert str(path.relative_to(wf)) in text
        assert path.exists()  # a dry run deletes nothing
    assert "weights.pt" not in text.split("to delete", 1)[1].split("Shell command", 1)[0]


# ------------------------------------------------------------------ never racing a running job (issue 26, item 4)
DIGEST = "0123456789"


def two_seed_run(tree, finished=(0,), started=(0, 1)):
    """A run trained by one job, seed after seed: a finished seed keeps its final checkpoint until every seed is
    done (batched.train_many), so that a killed job restores it instead of training it again."""
    run = tree / "runs" / "synthetic" / "d6-w32" / "wt" / "e3"
    for seed in started:
        d = run / f"seed{seed}"
        d.mkdir(parents=True)
        (d / "config.json").write_text("{}")
        (d / f"checkpoint-{DIGEST}.pt").write_bytes(b"c" * 100)
        if seed in finished:
            (d / "weights.pt").write_bytes(b"w")
            (d / "result.json").write_text("{}")
    return run


def test_a_finished_seeds_checkpoint_stays_while_another_seed_of_its_job_trains(tmp_path):
    state = tmp_path / ".snakemake"
    run = two_seed_run(tmp_path / "tree")
    kept = [run / "seed0" / f"checkpoint-{DIGEST}.pt", run / "seed1" / f"checkpoint-{DIGEST}.pt"]
    assert clean(tmp_path / "tree", keep_digests={DIGEST}, state=state) == []
    assert clean(tmp_path / "tree", state=state) == [] and all(p.exists() for p in kept)
    # seed1 not begun yet: the plan says the run has two seeds
    shutil.rmtree(run / "seed1")
    units = {str(run): [str(run / "seed0"), str(run / "seed1")]}
    assert clean(tmp_path / "tree", keep_digests={DIGEST}, units=units, state=state) == [] and kept[0].exists()
    # every seed finished (a job killed before deleting them): now they go
    two_seed_run(tmp_path / "tree", finished=(1,), started=(1,))
    gone = clean(tmp_path / "tree", keep_digests={DIGEST}, units=units, state=state)
    assert sorted(p for p, _ in gone) == kept and not any(p.exists() for p in kept)


def mark_incomplete(state, workdir, path):
    """Snakemake's marker for an output of a job running or killed (its own naming: persistence/file.py)."""
    from types import SimpleNamespace

    from snakemake.persistence.file import FilePersistence

    marker = Path(FilePersistence._record_path(SimpleNamespace(_fetch_max_len=lambda subject: 255),
                                               str(state / "incomplete"), str(path.relative_to(workdir))))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text('{"external_jobid": null}')


@pytest.mark.parametrize("deep", [False, True])
def test_a_job_snakemake_marks_incomplete_keeps_its_checkpoints(tmp_path, deep):
    """Every seed has its result, but Snakemake marks the job's outputs incomplete (killed between the last seed's
    result and the job's end, or running): a re-run of the job restores its seeds from these checkpoints."""
    state = tmp_path / ".snakemake"
    tree = tmp_path / ("results/" + "a-long-directory-name/" * 12 if deep else "results") / "quick"
    run = two_seed_run(tree, finished=(0, 1))
    mark_incomplete(state, tmp_path, run / "seed1" / "result.json")
    assert clean(tree, keep_digests={DIGEST}, state=state) == []
    assert len(list(run.rglob("checkpoint-*.pt"))) == 2
    shutil.rmtree(state / "incomplete")
    assert len(clean(tree, keep_digests={DIGEST}, state=state)) == 2


def test_cleanup_refuses_while_snakemake_holds_a_lock_naming_the_lock_and_what_to_do(tmp_path, capsys):
    state, tree = tmp_path / ".snakemake", tmp_path / "results" / "quick"
    seed, doomed = finished_run_with_leftovers(tree)
    (state / "locks").mkdir(parents=True)
    lock = state / "locks" / "0.output.lock"
    lock.write_text(f"{seed.relative_to(tmp_path)}/result.json\n{seed.relative_to(tmp_path)}/weights.pt\n")
    with pytest.raises(TreeInUse) as refused:
        clean(tree, state=state)
    for words in (f"lock {lock} names 2 file(s) under {tree}", "a Snakemake run is working here",
                  "`snakemake --unlock`"):
        assert words in str(refused.value)
    with pytest.raises(TreeInUse):
        plan(tree, state=state)
    assert main(["clean", "--tree", str(tree), "--snakemake-dir", str(state)]) == 2
    assert f"gradguess: error: cleanup refused: Snakemake's lock {lock}" in capsys.readouterr().err
    # another preset's run: Snakemake clears every lock here when it exits, so that one is respected too
    lock.write_text("results/paper/runs/x/seed0/result.json\n")
    with pytest.raises(TreeInUse, match="names 1 file\\(s\\) of another run in this directory"):
        clean(tree, state=state)
    assert all(p.exists() for p in doomed)
    lock.unlink()
    assert len(clean(tree, state=state)) == 2


def test_snakemake_cleanup_refuses_while_another_snakemake_holds_the_lock(tmp_path):
    """Refused when Snakemake plans the job, before it takes locks of its own: on its way out Snakemake deletes
    every lock in the directory, and the running job's would go with them."""
    wf = copy_workflow(tmp_path / "wf")
    seed, doomed = finished_run_with_leftovers(wf / "results" / "quick")
    lock = wf / ".snakemake" / "locks" / "0.output.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(f"{(seed / 'result.json').relative_to(wf)}\n")
    out = snakemake(wf, "cleanup", *QUICK, "--cores", "1", check=False, timeout=300)
    assert out.returncode != 0
    assert "cleanup refused: Snakemake's lock .snakemake/locks/0.output.lock names 1 file(s) under results/quick" \
        in out.stdout + out.stderr, (out.stdout + out.stderr)[-3000:]
    assert all(p.exists() for p in doomed) and lock.exists()


def test_the_workflows_clean_knows_each_runs_seeds_from_the_config(tmp_path):
    """`gradguess clean --config-json` (the rule's command): a run's seeds come from the plan, so a finished seed0
    keeps its checkpoint before seed1's directory exists; an unplanned digest's checkpoint goes."""
    import json

    from gradguess import config as gconfig, plan as gplan
    from workflow_helpers import REPO

    cfg = gconfig.load([REPO / "config.yaml", REPO / "presets" / "quick.yaml"], REPO / gconfig.SCHEMA)
    cfg = {**cfg, "results": str(tmp_path / "results")}
    the_plan = gplan.build(cfg)
    run = Path(the_plan.tree) / "runs" / "synthetic" / "d6-w32" / "wt" / "e3"
    digest = the_plan.runs[str(run)].digest()
    (run / "seed0").mkdir(parents=True)
    for name in ("weights.pt", "result.json", f"checkpoint-{digest}.pt", "checkpoint-abcdefabcd.pt"):
        (run / "seed0" / name).write_text("x")
    args = ["clean", "--tree", the_plan.tree, "--config-json", json.dumps(cfg), "--snakemake-dir",
            str(tmp_path / ".snakemake")]
    assert main(args) == 0
    assert sorted(p.name for p in (run / "seed0").iterdir()) == [f"checkpoint-{digest}.pt", "result.json",
                                                                 "weights.pt"]
