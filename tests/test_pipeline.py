"""The Snakemake pipeline end to end: lint, config validation, the quick preset, partial re-runs, resume, report.

The quick preset runs once, in a copy of the workflow under a temporary directory, and the
later tests reuse its results (as a user re-running after a change would).
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist"
WORKFLOW_FILES = ("Snakefile", "config.yaml", "workflow", "presets", "profiles", "envs")

pytestmark = pytest.mark.pipeline


def copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / name)
    (dest / "src").symlink_to(REPO / "src")
    # the quick preset's MNIST path is relative to the repository; point it at the real files
    local = {"data": {"sources": {"mnist": str(MNIST) if MNIST.is_dir() else None}}}
    (dest / "local.yaml").write_text(yaml.safe_dump(local))
    return dest


def snakemake(workdir: Path, *args, check=True, timeout=1200):
    cmd = [sys.executable, "-m", "snakemake", *args]
    out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-4000:]}\n{out.stderr[-8000:]}")
    return out


QUICK = ("--configfile", "presets/quick.yaml", "local.yaml")


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run: rule -> number of jobs."""
    counts = {}
    block = output.split("Job stats:", 1)[1] if "Job stats:" in output else ""
    for line in block.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    wf = copy_workflow(tmp_path_factory.mktemp("quick"))
    snakemake(wf, "--profile", "profiles/local", *QUICK, "--cores", "2")
    return wf


def test_lint_is_clean(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    for extra in ((), QUICK):
        out = snakemake(wf, "--lint", *extra)
        assert "Congratulations, your workflow is in a good condition!" in out.stdout + out.stderr


@pytest.mark.parametrize("override,named", [
    ({"table2": {"epocs": 3}}, "epocs"),
    ({"training": {"lr": -1.0}}, "lr"),
    ({"table2": {"methods": ["wt", "magic"]}}, "magic"),
    ({"data": {"skip_missing_sources": False, "sources": {"mnist": "/nowhere/mnist"}}}, "data.sources.mnist"),
])
def test_bad_config_fails_before_any_job_naming_the_key(tmp_path, override, named):
    wf = copy_workflow(tmp_path / "wf")
    (wf / "bad.yaml").write_text(yaml.safe_dump(override))
    out = snakemake(wf, "-n", "--configfile", "presets/quick.yaml", "bad.yaml", check=False)
    assert out.returncode != 0
    assert named in out.stdout + out.stderr
    assert not (wf / "results").exists()


def test_quick_preset_plans_every_rule(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    counts = job_counts(snakemake(wf, "-n", *QUICK).stdout)
    assert set(counts) == {"all", "prepare_data", "capture_trajectory", "measure_guesses", "figure1", "train",
                           "gather_runs", "table2", "figure3", "figure11", "paper_readme", "total"}
    datasets = 2 if MNIST.is_dir() else 1
    assert counts["train"] == datasets * 2 * 7 * 2  # datasets x architectures x methods x seeds
    assert counts["measure_guesses"] == 5           # epochs 0..4 of the trajectory


def test_full_scale_config_plans_the_paper(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    counts = job_counts(snakemake(wf, "-n").stdout)
    assert counts["train"] == 4 * 4 * 7 * 3  # Table 2: datasets x (depth, width) x methods x seeds
    assert counts["measure_guesses"] == 51   # Figure 1: every epoch of a 50-epoch trajectory, and the start
    assert counts["prepare_data"] == 4


def test_quick_run_makes_every_artifact_stamped_quick(quick_run):
    figures = quick_run / "paper_figures"
    for name in ("figure1.png", "figure1.pdf", "figure1_table.csv", "figure1_table.md", "figure1_table.tex",
                 "table2.csv", "table2.md", "table2.tex", "figure3.png", "figure3.pdf", "figure11.png",
                 "figure11.pdf", "README.md", "config.yaml"):
        assert (figures / name).stat().st_size > 0, name
    readme = (figures / "README.md").read_text()
    assert "Preset: `quick`" in readme and "not the paper's numbers" in readme
    assert yaml.safe_load((figures / "config.yaml").read_text())["preset"] == "quick"
    assert "preset: quick" in (figures / "table2.md").read_text()
    table = pd.read_csv(figures / "table2.csv")
    assert set(table["preset"]) == {"quick"}
    runs = pd.read_csv(quick_run / "results" / "tables" / "runs.csv")
    assert set(runs["preset"]) == {"quick"} and (runs["status"] == "completed").all()
    # backprop is the oracle: it beats directional descent on every dataset and architecture
    wide = table.pivot_table(index=["dataset", "depth", "width", "split"], columns="method", values="mean")
    assert (wide["backprop"] > wide["directional"]).all()
    for run_dir in runs["run_dir"]:
        run = quick_run / run_dir
        prov = json.loads((run / "provenance.json").read_text())
        assert prov["preset"] == "quick" and prov["code_version"] and "torch" in prov["packages"]
        assert json.loads((run / "config.json").read_text())["seed"] in (0, 1)
    measured = pd.concat(pd.read_csv(p) for p in (quick_run / "results" / "figure1").glob("*.csv"))
    assert set(measured["mode"].fillna("")) == {"", "joint", "per_layer"}
    assert sorted(measured["epoch"].unique()) == [0, 1, 2, 3, 4]
    assert all((quick_run / "logs").rglob("*.log"))


def test_nothing_to_do_after_a_finished_run(quick_run):
    out = snakemake(quick_run, "-n", *QUICK)
    assert "Nothing to be done" in out.stdout + out.stderr


def test_changing_one_methods_lr_reruns_exactly_its_runs_and_what_depends_on_them(quick_run):
    (quick_run / "wt-lr.yaml").write_text(yaml.safe_dump({"methods": {"wt": {"lr": 3.0e-3}}}))
    out = snakemake(quick_run, "-n", *QUICK, "wt-lr.yaml", "--printshellcmds")
    counts = job_counts(out.stdout)
    datasets = 2 if MNIST.is_dir() else 1
    assert counts.pop("train") == datasets * 2 * 2  # the wt runs: datasets x architectures x seeds
    assert counts == {"gather_runs": 1, "table2": 1, "figure3": 1, "figure11": 1, "paper_readme": 1, "all": 1,
                      "total": counts["total"]}
    trained = re.findall(r"gradguess train .*--method (\w+)", out.stdout)
    assert set(trained) == {"wt"} and "--lr 0.003" in out.stdout


def test_a_killed_training_job_resumes_from_its_checkpoint(quick_run):
    run = next((quick_run / "results" / "train").glob("*/d3-w32/wt/seed0"))
    (run / "result.json").unlink()  # as if the job had been killed after its last checkpoint
    checkpoints = list(run.glob("checkpoint-*.pt"))
    assert len(checkpoints) == 1
    target = str((run / "result.json").relative_to(quick_run))
    snakemake(quick_run, "--profile", "profiles/local", *QUICK, "--cores", "2", target)
    assert json.loads((run / "result.json").read_text())["status"] == "completed"
    log = (quick_run / "logs" / "train" / f"{run.relative_to(quick_run / 'results' / 'train')}.log").read_text()
    assert "resuming" in log
    assert checkpoints == list(run.glob("checkpoint-*.pt"))


def test_html_report_holds_every_figure_and_table(quick_run):
    snakemake(quick_run, *QUICK, "--report", "report.html")
    html = (quick_run / "report.html").read_text(errors="ignore")
    for name in ("figure1.png", "figure1_table.csv", "table2.csv", "figure3.png", "figure11.png"):
        assert name in html, name


def slurm_ready() -> bool:
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "idle" in out.stdout


def test_quick_preset_on_a_real_slurm_cluster(tmp_path):
    if not slurm_ready():
        if os.environ.get("GRADGUESS_REQUIRE_SLURM") == "1":
            pytest.fail("GRADGUESS_REQUIRE_SLURM=1 but no SLURM cluster answers `sinfo`")
        pytest.skip("no SLURM cluster (start one with ../shared/slurm/localslurm start)")
    wf = copy_workflow(tmp_path / "wf")
    # this cluster has no GPUs and no accounting database: ask for none, poll squeue
    out = snakemake(wf, "--profile", "profiles/slurm", *QUICK,
              "--set-resources", "train:gpu=0", "capture_trajectory:gpu=0", "measure_guesses:gpu=0",
              "--default-resources", "slurm_account=gradguess", "slurm_partition=debug",
              "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1",
              "--jobs", "4", timeout=2400)
    runs = pd.read_csv(wf / "results" / "tables" / "runs.csv")
    submitted = re.findall(r"submitted with SLURM jobid \d+ \(log: \S*rule_(\w+?)/", out.stdout + out.stderr)
    # every compute job went through sbatch; data and aggregation rules ran locally
    assert submitted.count("train") == len(runs)
    assert set(submitted) == {"train", "capture_trajectory", "measure_guesses"}
    assert (runs["status"] == "completed").all() and len(runs) >= 28
    assert (wf / "paper_figures" / "README.md").exists() and (wf / "paper_figures" / "figure1.png").exists()
