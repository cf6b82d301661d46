"""Cleaning up: a tree that does not exist is an error naming it, and `snakemake cleanup -n` lists what it would
delete without deleting it."""
import os

import pytest

from gradguess.cli import main
from gradguess.errors import GradguessError
from gradguess.housekeeping import clean, plan
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
    text = plan(tmp_path / "tree")
    assert "2 file(s) to delete" in text and "3.0 MB" in text
    assert all(str(p) in text for p in doomed) and "weights.pt" not in text
    assert all(p.exists() for p in doomed)
    assert plan(tmp_path / "tree", keep_digests=set()).count("checkpoint-0000000000.pt") == 1
    (tmp_path / "empty").mkdir()
    assert plan(tmp_path / "empty") == f"nothing to delete under {tmp_path / 'empty'}"


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
