"""Which code a result depends on (lineage), what a job asks a cluster for (jobsize), and cleanup."""
import os
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

import gradguess.methods as M
from gradguess import housekeeping, jobsize, lineage

SRC = Path(lineage.__file__).resolve().parent.parent


@pytest.fixture
def src(tmp_path):
    dest = tmp_path / "src"
    shutil.copytree(SRC / "gradguess", dest / "gradguess", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def digest(src, method="wt"):
    lineage._parse.cache_clear()
    lineage.code_digest.cache_clear()
    return lineage.training_digest(method, src=src)


def test_every_method_lives_in_a_module_of_its_name():
    for name in M.names():
        assert M.method_class(name).__module__ == f"gradguess.methods.{name}"


def test_a_training_run_depends_on_the_trainer_and_its_method_only():
    modules = set(lineage.closure("gradguess.train", *lineage.method_modules("wt")))
    assert {"gradguess.train", "gradguess.methods.wt", "gradguess.methods.engine", "gradguess.models.mlp",
            "gradguess.optim", "gradguess.data.loading"} <= modules
    # another model's file, or the importers of other data sets, are not a training run's code
    assert not {"gradguess.models.mixer", "gradguess.models.vit_prompt", "gradguess.data.cub"} & modules
    assert not any(m.startswith(("gradguess.report", "gradguess.cli", "gradguess.analyses")) for m in modules)
    assert "gradguess.methods.directional" not in modules


def test_comments_and_docstrings_do_not_change_the_digest_code_does(src):
    wt = src / "gradguess" / "methods" / "wt.py"
    before = digest(src)
    other = digest(src, "directional")
    wt.write_text(wt.read_text().replace('"""W^T (§3.2', '"""W^T, in other words (§3.2') + "\n# note\n")
    assert digest(src) == before
    wt.write_text(wt.read_text().replace("guess * mask", "guess * mask * 2"))
    assert digest(src) != before
    assert digest(src, "directional") == other  # another method's runs keep theirs
    assert digest(src, "wt_sv_power") != lineage.training_digest("wt_sv_power")  # a subclass of W^T follows it


def test_shared_code_changes_every_runs_digest(src):
    before = {m: digest(src, m) for m in ("wt", "directional")}
    optim = src / "gradguess" / "optim.py"
    optim.write_text(optim.read_text().replace("1 - b2 ** self.steps", "1 - b2 ** (self.steps)") + "\nX = 1\n")
    assert all(digest(src, m) != d for m, d in before.items())


def test_adding_a_method_to_the_registry_reruns_nothing(src):
    before = digest(src)
    registry = src / "gradguess" / "methods" / "__init__.py"
    registry.write_text(registry.read_text().replace('"wt_sv_power": "WTSVPower",',
                                                     '"wt_sv_power": "WTSVPower",\n    "new": "New",'))
    assert digest(src) == before


def test_job_requests_grow_with_the_job_and_with_each_retry():
    from gradguess.spec import Part, RunSpec

    base = RunSpec(Part("mlp", {"depth": 6, "width": 1024}), Part("wt"), "cifar10", epochs=1000, batch_size=512,
                   seeds=(0,))
    first = jobsize.spec_minutes(base)
    assert jobsize.spec_minutes(base, attempt=2) > first
    assert jobsize.spec_minutes(base.with_(epochs=2000)) > first
    assert jobsize.spec_minutes(base.with_(seeds=(0, 1, 2))) > 2 * first - 10
    assert jobsize.spec_minutes(base.with_(model=Part("mlp", {"depth": 6, "width": 128}))) < first
    assert jobsize.spec_minutes(base, gpu=False) > 10 * first
    assert jobsize.train_mem_mb("cifar10", 6, 1024, 512, attempt=3) > jobsize.train_mem_mb("cifar10", 6, 1024, 512)
    # the paper's largest run, calibrated on an H200 (2.7 ms a step): minutes, not a day
    assert 10 <= first <= 60
    assert jobsize.mlp_params("cifar10", 6, 1024) == 7_355_402


def test_cleanup_keeps_results_and_resumable_checkpoints(tmp_path):
    finished, unfinished = tmp_path / "a" / "seed0", tmp_path / "b" / "seed0"
    for d in (finished, unfinished):
        d.mkdir(parents=True)
        (d / "metrics.csv").write_text("x")
    (finished / "result.json").write_text("{}")
    (finished / "weights.pt").write_bytes(b"w")
    (finished / "checkpoint-aaaaaaaaaa.pt").write_bytes(b"c" * 10)
    (unfinished / "checkpoint-bbbbbbbbbb.pt").write_bytes(b"c")
    (unfinished / "checkpoint-cccccccccc.pt").write_bytes(b"c")
    fresh, stale = unfinished / ".metrics.csv.1.tmp", unfinished / ".metrics.csv.2.tmp"
    fresh.write_text("writing")
    stale.write_text("killed")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    state = tmp_path / ".snakemake"  # this test's own: no Snakemake runs here
    listed = housekeeping.clean(tmp_path, keep_digests={"bbbbbbbbbb"}, dry_run=True, state=state)
    assert {p.name for p, _ in listed} == {"checkpoint-aaaaaaaaaa.pt", "checkpoint-cccccccccc.pt", stale.name}
    assert (finished / "checkpoint-aaaaaaaaaa.pt").exists()  # a dry run deletes nothing
    housekeeping.clean(tmp_path, keep_digests={"bbbbbbbbbb"}, state=state)
    left = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert left == {"a/seed0/metrics.csv", "a/seed0/result.json", "a/seed0/weights.pt", "b/seed0/metrics.csv",
                    "b/seed0/checkpoint-bbbbbbbbbb.pt", f"b/seed0/{fresh.name}"}


JOBS = ("train", "cosine", "averaging", "jacobian", "subspace", "class-images", "report figure4", "report figure7",
        "report figure1", "report table2", "report comparison", "report figure3", "report figure9")
# the science each job runs, and where it lives (the report's artifacts: one job, each figure its own module)
SCIENCE = {"report figure4": "report/figure4.py", "report figure7": "report/figure7.py",
           "report figure3": "report/figure3.py", "report figure9": "report/figure9.py",
           "jacobian": "analyses/jacobian.py", "averaging": "analyses/averaging.py",
           "report comparison": "report/claims/figure4.py", "subspace": "analyses/subspace.py"}


def job_digests(src):
    lineage._parse.cache_clear()
    lineage.code_digest.cache_clear()
    return {job: lineage.training_digest("wt", src=src) if job == "train" else
            lineage.job_digest(job, *lineage.method_modules("wt") if job in ("cosine", "averaging") else (), src=src)
            for job in JOBS}


@pytest.mark.parametrize("job", sorted(SCIENCE))
def test_editing_a_jobs_science_replans_exactly_the_jobs_that_run_it(src, job):
    before = job_digests(src)
    path = src / "gradguess" / SCIENCE[job]
    path.write_text(path.read_text() + "\n\nCHANGED = True\n")
    after = job_digests(src)
    changed = {j for j in JOBS if after[j] != before[j]}
    assert job in changed
    if job == "jacobian":
        assert changed == {"jacobian"}  # Figure 7's data: its job alone, not the figure or training
    if job.startswith("report figure"):
        assert changed == {job}


def test_editing_wiring_or_help_replans_nothing(src):
    before = job_digests(src)
    for rel in ("jobs/report/artifact.py", "jobs/jacobian.py", "jobs/train.py", "jobs/cosine.py"):
        path = src / "gradguess" / rel
        text = path.read_text()
        assert 'help="' in text or '"help": "' in text
        path.write_text(text.replace('help="', 'help="(reworded) ').replace('HELP = "', 'HELP = "(reworded) ')
                        .replace('"help": "', '"help": "(reworded) '))
    artifact = src / "gradguess" / "jobs" / "report" / "artifact.py"  # a new figure's flags: wiring too
    new = '    "figure12": ("Figure 12", {"--runs": RUNS}),\n    "figure9": ('
    artifact.write_text(artifact.read_text().replace('    "figure9": (', new))
    cli = src / "gradguess" / "cli.py"
    cli.write_text(cli.read_text() + "\n# a comment\nGROUPS['extra'] = 'help'\n")
    assert job_digests(src) == before


# ------------------------------------------------------------------ one digest for training (issue 28, item 1)
def test_training_code_is_what_training_executes_not_the_job_that_starts_it(src):
    """The train rules' code param and the checkpoint's digest are one: the trainer, the loop, the method and model
    named, the data loading; not the analyses resolving an 'auto' option, not the importers, not the CLI."""
    modules = set(lineage.closure(*lineage.training_modules("wt", "mlp")))
    assert {"gradguess.train", "gradguess.batched", "gradguess.methods.wt", "gradguess.models.mlp",
            "gradguess.data.loading"} <= modules
    assert not any(m.startswith(("gradguess.analyses", "gradguess.jobs.", "gradguess.report")) for m in modules)
    assert not {"gradguess.data.preparing", "gradguess.data.cub", "gradguess.data.mnist"} & modules
    with pytest.raises(ValueError, match="training_digest"):
        lineage.job_digest("train")  # a second digest of training is no longer to be had


def test_code_training_does_not_run_changes_no_training_digest(src):
    methods = ("wt", "cosine_matched_directional", "backprop")
    before = {m: digest(src, m) for m in methods}
    # the analysis resolving cosine 'auto', a data set's importer, preparation, the train job's command line
    for rel in ("analyses/guesses.py", "data/cub.py", "data/preparing.py", "jobs/train.py"):
        path = src / "gradguess" / rel
        path.write_text(path.read_text() + "\n\nCHANGED = True\n")
    assert {m: digest(src, m) for m in methods} == before
    loading = src / "gradguess" / "data" / "loading.py"  # the data loading a run executes is its code
    loading.write_text(loading.read_text() + "\n\nCHANGED = True\n")
    assert all(digest(src, m) != before[m] for m in methods)


def prepare_digests(src):
    lineage._parse.cache_clear()
    lineage.code_digest.cache_clear()
    return {d: lineage.job_digest("data prepare", *lineage.data_modules(d), src=src)
            for d in ("synthetic", "mnist", "cifar10", "cub200")}


@pytest.mark.parametrize("rel,changed", [("data/cub.py", {"cub200"}), ("data/cifar.py", {"cifar10"}),
                                         ("data/core.py", {"synthetic", "mnist", "cifar10", "cub200"}),
                                         ("data/preparing.py", {"synthetic", "mnist", "cifar10", "cub200"})])
def test_editing_one_importer_re_prepares_its_data_set_only(src, rel, changed):
    """A data set's file is every training run's input: re-preparing it for another set's importer would retrain."""
    before = prepare_digests(src)
    path = src / "gradguess" / rel
    path.write_text(path.read_text() + "\n\nCHANGED = True\n")
    after = prepare_digests(src)
    assert {d for d in before if after[d] != before[d]} == changed


# ---- the same, as Snakemake plans it: the quick preset's DAG recorded as finished without running a job
TRAINING_RULES = ("train", "train_replicates", "train_seed", "train_chunk", "capture_trajectory")
# the quick preset's cosine-matched run takes its cosine from Figure 1's measurements ('auto'), so it follows them
# (test_pipeline checks that); here it has the paper's fixed cosine, so that only code decides what trains
FIXED = {"variants": {"cosine_matched": {"options": {"cosine": 0.03}}}}


def planned_jobs(out) -> list[tuple[str, str]]:
    """(rule, the job's text: its reason and shell command) of each job a dry run plans."""
    parts = re.split(r"^\s*(?:local)?rule (\w+):$", out.stdout, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


@pytest.fixture(scope="module")
def finished_tree(tmp_path_factory):
    """A workflow copy whose whole quick DAG Snakemake takes for finished: every output an empty file, each job's
    params and code recorded by --touch. A dry run then plans what an edit invalidates, and only that."""
    from workflow_helpers import QUICK, copy_workflow, snakemake

    wf = copy_workflow(tmp_path_factory.mktemp("finished"))
    (wf / "fixed.yaml").write_text(yaml.safe_dump(FIXED))
    args = (*QUICK, "fixed.yaml")
    for line in snakemake(wf, "-n", *args).stdout.splitlines():
        if line.strip().startswith("output: "):
            for path in line.split(":", 1)[1].split(","):
                (wf / path.strip()).parent.mkdir(parents=True, exist_ok=True)
                (wf / path.strip()).write_text("")
    snakemake(wf, "--touch", "--forceall", "--cores", "1", *args)
    assert planned_jobs(snakemake(wf, "-n", *args)) == []
    return wf, args


def dry_run_after_editing(finished_tree, tmp_path, rel, old=None, new=None):
    from workflow_helpers import snakemake

    wf, args = finished_tree
    copy = tmp_path / "wf"
    shutil.copytree(wf, copy, symlinks=True)
    path = copy / "src" / "gradguess" / rel
    text = path.read_text()
    assert old is None or old in text
    path.write_text(text.replace(old, new) if old else text + "\n\nCHANGED = True\n")
    return planned_jobs(snakemake(copy, "-n", *args))


@pytest.mark.pipeline
@pytest.mark.parametrize("rel", ["analyses/guesses.py", "data/cub.py"])
def test_editing_code_no_run_trains_with_plans_no_training_job(finished_tree, tmp_path, rel):
    jobs = dry_run_after_editing(finished_tree, tmp_path, rel)
    assert not [rule for rule, _ in jobs if rule in TRAINING_RULES]
    if rel == "data/cub.py":
        assert jobs == []  # no data set of the quick preset is CUB's: nothing at all re-runs
    else:
        assert {rule for rule, _ in jobs} >= {"measure_guesses", "figure1"}  # Figure 1's measurements use it


@pytest.mark.pipeline
def test_editing_wt_replans_the_wt_runs_only(finished_tree, tmp_path):
    jobs = dry_run_after_editing(finished_tree, tmp_path, "methods/wt.py", "guess * mask", "guess * mask * 1.0")
    trained = [text for rule, text in jobs if rule in TRAINING_RULES]
    methods = {m for text in trained for m in re.findall(r'"method": \{"name": "(\w+)"', text)}
    assert methods == {"wt", "wt_sv_power"}  # W^T and its subclass; no other method's runs, no trajectory
    assert all("Params have changed" in text for text in trained)
