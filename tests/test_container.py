"""The pipeline in a real container: the Debian image (envs/gradguess-debian.def) built by
scripts/build-image, its CLI and self-test, and the whole quick preset under `--sdm apptainer` (on the
image unpacked by `build-image --sandbox`: each job starts 6 s sooner than from the .sif), whose
artifacts must equal a run outside the container.

Runs where a container runtime is installed (.ci/run installs one; GRADGUESS_REQUIRE_APPTAINER=1
turns its absence into a failure). The image is built once and cached outside the repository
(~/.cache/gradguess/images, named by the recipe and the pins); a cold build takes minutes.
"""
import json
import os
import shutil
import subprocess

import pandas as pd
import pytest
import yaml

from workflow_helpers import QUICK, REPO, copy_workflow, snakemake

pytestmark = pytest.mark.pipeline

RUNTIME_DIRS = ("/opt/apptainer/bin",)


def runtime() -> str | None:
    path = os.pathsep.join([*RUNTIME_DIRS, os.environ.get("PATH", "")])
    return shutil.which("apptainer", path=path) or shutil.which("singularity", path=path)


@pytest.fixture(scope="session")
def image():
    found = runtime()
    if found is None:
        if os.environ.get("GRADGUESS_REQUIRE_APPTAINER") == "1":
            pytest.fail("GRADGUESS_REQUIRE_APPTAINER=1 but no apptainer or singularity is installed")
        pytest.skip("no container runtime (install one with ../shared/tools/apptainer/install.sh)")
    out = subprocess.run(["bash", str(REPO / "scripts" / "build-image")], capture_output=True, text=True,
                         timeout=2400, env={**os.environ, "APPTAINER": found})
    assert out.returncode == 0, out.stderr[-4000:]
    return found, out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def sandbox(image):
    """The cached image unpacked to a directory (cached beside it): jobs start in it as fast as outside,
    where every `exec` of the .sif decompresses torch afresh (docs/hpc.md#in-a-container)."""
    found, _ = image
    out = subprocess.run(["bash", str(REPO / "scripts" / "build-image"), "--sandbox"], capture_output=True,
                         text=True, timeout=1200, env={**os.environ, "APPTAINER": found})
    assert out.returncode == 0, out.stderr[-4000:]
    return out.stdout.strip().splitlines()[-1]


def test_the_image_runs_the_cli_and_passes_its_own_test(image):
    found, sif = image
    out = subprocess.run([found, "run", sif, "train", "--help"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "--spec" in out.stdout and "--checkpoint" in out.stdout
    test = subprocess.run([found, "test", sif], capture_output=True, text=True, timeout=300)
    assert test.returncode == 0, test.stdout + test.stderr
    assert "torch 2.14.1" in test.stdout and "CUDA build 13." in test.stdout


def test_quick_preset_in_the_container_equals_the_run_outside(image, sandbox, quick_run, tmp_path):
    """Every job of Table 2 and Figure 1 (23 of the preset's jobs: data, training, a trajectory, measurements,
    aggregation; the whole preset would add minutes and no other kind of job) inside the image (unpacked), data
    bound from data.sources; both equal the run outside bit for bit."""
    found, _ = image
    wf = copy_workflow(tmp_path / "wf")
    (wf / "container.yaml").write_text(yaml.safe_dump({"container": sandbox}))
    env = {"PATH": f"{os.path.dirname(found)}{os.pathsep}{os.environ['PATH']}"}
    targets = [f"paper_figures/quick/{name}" for name in ("table2.csv", "figure1_table.csv")]
    out = snakemake(wf, *targets, "--profile", "profiles/local", *QUICK, "container.yaml", "--sdm", "apptainer",
                    "--cores", "2", env=env, timeout=1200)
    log = out.stdout + out.stderr
    assert "Activating singularity image" in log or "apptainer" in log.lower()
    # every job ran inside the image: its interpreter is the image's venv, never this machine's
    provenances = list((wf / "results" / "quick").rglob("provenance.json"))
    assert provenances
    for p in provenances:
        record = json.loads(p.read_text())
        assert record["executable"].startswith("/opt/venv/") and record["container"], p
    for name in ("table2.csv", "figure1_table.csv"):
        inside = pd.read_csv(wf / "paper_figures" / "quick" / name)
        outside = pd.read_csv(quick_run / "paper_figures" / "quick" / name)
        pd.testing.assert_frame_equal(inside, outside, check_exact=True)
    for csv in sorted((quick_run / "results" / "quick" / "figure1").glob("epoch_*.csv")):
        pd.testing.assert_frame_equal(pd.read_csv(wf / "results" / "quick" / "figure1" / csv.name),
                                      pd.read_csv(csv), check_exact=True)
