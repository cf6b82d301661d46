"""A finished preset stays finished: moving it into the container, or changing what jobs ask a cluster for, plans
nothing (profiles/default's rerun triggers leave the software environment out); and what the finished preset
shows a reader: its README states the preset's own settings, the HTML report opens with the workflow and links
every figure's PDF and data.

Dry runs and the report (rendered once a session, here) on the session's finished quick run (conftest.py's
`quick_run`), which they do not change."""
import os
import re

import pytest
import yaml

from workflow_helpers import snakemake

pytestmark = pytest.mark.pipeline


def nothing_to_do(out) -> bool:
    return "Nothing to be done" in out.stdout + out.stderr


def planned(out) -> int:
    found = re.search(r"^total\s+(\d+)$", out.stdout, flags=re.M)
    return int(found.group(1)) if found else 0


@pytest.fixture
def apptainer(tmp_path):
    """A stand-in `apptainer` (a dry run only asks its version) and an image file to name."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "apptainer"
    tool.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "apptainer version 1.3.4"\nexit 0\n')
    tool.chmod(0o755)
    image = tmp_path / "gradguess.sif"
    image.write_bytes(b"")
    return {"env": {"PATH": f"{bin_dir}:{os.environ['PATH']}"}, "image": str(image)}


def test_moving_a_finished_preset_into_the_container_plans_nothing(quick_run, apptainer):
    quick = ("--configfile", "presets/quick.yaml", "local.yaml")
    assert nothing_to_do(snakemake(quick_run, "-n", *quick, "--config", f"container={apptainer['image']}"))
    into = ("-n", *quick, "--sdm", "apptainer", "--config", f"container={apptainer['image']}")
    assert nothing_to_do(snakemake(quick_run, *into, env=apptainer["env"]))
    # the control: with Snakemake's default triggers (software-env among them) every job would run again
    every = snakemake(quick_run, *into, "--rerun-triggers", "mtime", "params", "input", "code", "software-env",
                      env=apptainer["env"])
    assert planned(every) > 50 and "train" in every.stdout


def test_what_jobs_ask_a_cluster_for_reruns_nothing(quick_run, tmp_path):
    """resources alone, for every kind of job: the paper_figures README included. The changed copy of local.yaml
    keeps its name (the README lists config files by name), in another directory."""
    local = yaml.safe_load((quick_run / "local.yaml").read_text())
    local["resources"] = {"train": {"gpu": 0, "cpus": 3, "runtime": 400, "mem_mb": 1234},
                          "trajectory": {"gpu": 2, "cpus": 8}, "cosine": {"gpu": 0, "cpus": 5, "runtime": 7},
                          "short_job_minutes": 1}
    (tmp_path / "local.yaml").write_text(yaml.safe_dump(local))
    out = snakemake(quick_run, "-n", "--configfile", "presets/quick.yaml", str(tmp_path / "local.yaml"))
    assert nothing_to_do(out), out.stdout[-3000:]


def test_the_presets_readme_states_its_own_settings(quick_run):
    readme = (quick_run / "paper_figures" / "quick" / "README.md").read_text()
    quick = yaml.safe_load((quick_run / "presets" / "quick.yaml").read_text())
    t = quick["trajectory"]
    assert f"backprop trajectory of a {t['depth']}x{t['width']} MLP on {t['dataset']} ({t['epochs']} epochs)" in readme
    assert "6x1024" not in readme  # the paper's trajectory, which the quick preset does not train
    arch = quick["table2"]["architectures"][0]
    assert f"at {arch['depth']}x{arch['width']}, {quick['table2']['epochs']} epochs" in readme
    assert "--profile slurm on a cluster" in readme


def test_the_html_report_opens_with_the_workflow_and_links_every_pdf_and_csv(quick_run, tmp_path):
    report = tmp_path / "report.html"
    snakemake(quick_run, "--configfile", "presets/quick.yaml", "local.yaml", "--report", str(report), timeout=600)
    html = report.read_text(errors="ignore")
    assert "How to Guess a Gradient" in html and "Start with" in html  # workflow/report/workflow.rst
    figures = sorted(p.name for p in (quick_run / "paper_figures" / "quick").iterdir()
                     if p.suffix in (".pdf", ".csv"))
    assert "comparison.csv" in figures and "figure1.pdf" in figures and "figure4.csv" in figures
    # an item of the report (named in the rules' lists of outputs whether it is one or not)
    missing = [name for name in figures if f'"filename": "{name}"' not in html]
    assert not missing, missing
    pngs = [p.name for p in (quick_run / "paper_figures" / "quick").glob("*.png")]
    assert "figure1.png" in pngs and not [name for name in pngs if name not in html]  # and every figure shown
