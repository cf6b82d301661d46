"""`snakemake --profile slurm` as a cluster user types it: the site profile installed by scripts/setup, the workflow
profile profiles/default/ that Snakemake adds by itself, and what reaches `sbatch` in every order docs/hpc.md shows.

No cluster: stand-in `sbatch`, `squeue`, `sacct`, `scontrol`, `sinfo`, `sacctmgr`, `sshare` and `apptainer` scripts
first on PATH record every call; `sbatch` refuses every job, so a run submits each ready job (and its retries) and
stops.
"""
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from workflow_helpers import QUICK, REPO, copy_workflow, snakemake

pytestmark = pytest.mark.pipeline

STANDIN = """#!/bin/sh
printf '%s %s\\n' "$(basename "$0")" "$*" >> "$STANDIN_LOG"
case "$(basename "$0")" in
  sbatch) echo "sbatch: error: stand-in sbatch, no cluster" >&2; exit 1 ;;
  sacctmgr|sshare) printf 'myaccount\\nother\\nacc\\n' ;;
  sinfo) echo "debug*" ;;
  apptainer|singularity) [ "$1" = --version ] && echo "apptainer version 1.3.4" ;;
esac
exit 0
"""
COMMANDS = ("sbatch", "squeue", "sacct", "scontrol", "sinfo", "sacctmgr", "sshare", "scancel", "apptainer")
# a group of short training jobs (two Table 2 runs and Figure 5's replicates) and a single trajectory job
TARGETS = ("results/quick/runs/synthetic/d6-w32/wt/e3/seed0/result.json",
           "results/quick/runs/synthetic/d6-w32/backprop/e3/seed0/result.json",
           "results/quick/replicates/synthetic/d6-w32/wt_sv_power-p0.5/e3/seed0/result.json",
           "results/quick/trajectories/synthetic/d6-w64/e2/seed0/result.json")
GPU_RULES = ("train", "train_replicates", "train_seed", "train_chunk", "capture_trajectory", "measure_guesses",
             "average_guesses", "measure_subspace", "class_images", "jacobian_spectra")


def test_the_site_profile_names_every_gpu_rule_of_the_workflow():
    """Every rule that asks for a GPU gets the model: the template lists each one, and only those."""
    rules = {m.group(1) for f in (REPO / "workflow" / "rules").glob("*.smk")
             for m in re.finditer(r"^rule (\w+):(?:(?!^rule ).)*?gpu_request", f.read_text(), re.M | re.S)}
    rules |= {"train_replicates"}  # `use rule train as train_replicates` inherits train's GPU
    assert rules == set(GPU_RULES)


def install_site_profile(xdg: Path) -> Path:
    """What a user does: scripts/setup installs the profile, the user names an account, partition and GPU model."""
    out = subprocess.run(["bash", str(REPO / "scripts" / "setup"), "--slurm-profile"], capture_output=True,
                         text=True, env={**os.environ, "XDG_CONFIG_HOME": str(xdg)}, timeout=60, check=True)
    profile = xdg / "snakemake" / "slurm" / "config.yaml"
    assert "installed" in out.stdout and profile.is_file(), out.stdout + out.stderr
    text = profile.read_text()
    # uncomment the account, partition and GPU model blocks and fill them in
    text = re.sub(r"^# (default-resources:)$", r"\1", text, flags=re.M)
    text = re.sub(r"^#   slurm_account: MYACCOUNT$", "  slurm_account: myaccount", text, flags=re.M)
    text = re.sub(r"^#   slurm_partition: gpu$", "  slurm_partition: gpu", text, flags=re.M)
    text = re.sub(r"^# (set-resources:)$", r"\1", text, flags=re.M)
    text = re.sub(r"^#   (\w+): \{gpu_model: a100\}$", r"  \1: {gpu_model: a100}", text, flags=re.M)
    profile.write_text(text)
    settings = yaml.safe_load(text)
    assert settings["default-resources"] == {"slurm_account": "myaccount", "slurm_partition": "gpu"}
    assert set(settings["set-resources"]) == set(GPU_RULES)
    return profile


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A workflow copy whose data is in place, stand-in SLURM commands, and a user's installed site profile."""
    base = tmp_path_factory.mktemp("profiles")
    wf = copy_workflow(base / "wf")
    data = wf / "results" / "quick" / "data" / "synthetic.pt"
    data.parent.mkdir(parents=True)
    data.write_bytes(b"")  # never read: every job is refused before it runs
    bin_dir = base / "bin"
    bin_dir.mkdir()
    for name in COMMANDS:
        (bin_dir / name).write_text(STANDIN)
        (bin_dir / name).chmod(0o755)
    (base / "image.sif").write_bytes(b"")
    install_site_profile(base / "xdg")
    return {"wf": wf, "base": base, "env": {"PATH": f"{bin_dir}:{os.environ['PATH']}",
                                            "XDG_CONFIG_HOME": str(base / "xdg")}}


def submissions(cluster, *args) -> list[str]:
    log = cluster["base"] / f"calls-{abs(hash(args))}.log"
    out = snakemake(cluster["wf"], *TARGETS, *args, *QUICK, "--slurm-init-seconds-before-status-checks", "1",
                    check=False, timeout=300, env={**cluster["env"], "STANDIN_LOG": str(log)})
    assert out.returncode != 0  # the stand-in refused every job
    calls = log.read_text().splitlines() if log.exists() else []
    sbatch = [c for c in calls if c.startswith("sbatch ")]
    assert sbatch, out.stdout[-3000:] + out.stderr[-5000:]
    return sbatch


def option(line: str, flag: str) -> list[str]:
    words = shlex.split(line.split(" --wrap=", 1)[0])
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w == flag] + \
        [w.split("=", 1)[1] for w in words if w.startswith(flag + "=")]


# docs/hpc.md's orders (#reproducing-the-paper-on-a-slurm-cluster, #in-a-container): (arguments, account, partition,
# GPU request)
ORDERS = {
    "site profile": (("--profile", "slurm"), "myaccount", "gpu", "a100:1"),
    "site profile, workflow profile named": (("--profile", "slurm", "--workflow-profile", "profiles/default"),
                                             "myaccount", "gpu", "a100:1"),
    "site profile, one run elsewhere": (("--profile", "slurm", "--default-resources", "slurm_account=other",
                                         "slurm_partition=long"), "other", "long", "a100:1"),
    "template, no setup": (("--profile", "profiles/slurm", "--default-resources", "slurm_account=acc",
                            "slurm_partition=gpu"), "acc", "gpu", "1"),
    "in the container": (("--profile", "slurm", "--sdm", "apptainer", "--apptainer-args=--nv", "--config",
                          "container={base}/image.sif"), "myaccount", "gpu", "a100:1"),
}


@pytest.mark.parametrize("order", ORDERS, ids=list(ORDERS))
def test_the_account_reaches_every_sbatch(cluster, order):
    args, account, partition, gpus = ORDERS[order]
    sbatch = submissions(cluster, *(a.format(base=cluster["base"]) for a in args))
    comments = [option(line, "--comment")[0] for line in sbatch]
    # a grouped submission of short training jobs, and the trajectory on its own (each tried 3 times: retries: 2
    # from profiles/default)
    assert any(c.startswith("rule_short_train") for c in comments), comments
    assert "rule_capture_trajectory_wildcards_synthetic_d6-w64_2_0" in comments
    assert len(sbatch) == 6, sbatch
    for line in sbatch:
        assert option(line, "-A") == [account], line
        assert option(line, "-p") == [partition], line
        # one GPU per submission, the group's three jobs included (the site profile's resources: {gpu: 1})
        assert option(line, "--gpus") == [gpus], line
        assert option(line, "--job-name")[0].startswith("gradguess_"), line  # slurm-jobname-prefix


def test_the_workflow_profile_holds_no_site_settings_and_keeps_finished_results():
    """Anything here would replace the user's own block of the same key (their account, GPU model or limit)."""
    workflow = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    site_keys = {"executor", "default-resources", "set-resources", "resources", "jobs", "cores", "latency-wait",
                 "max-jobs-per-timespan"}
    assert not site_keys & set(workflow) and not [k for k in workflow if k.startswith("slurm")]
    assert set(workflow["rerun-triggers"]) == {"mtime", "params", "input", "code"}  # not software-env
    assert workflow["group-components"] == {"short_train": 8, "measure_guesses": 17}
    assert workflow["set-resource-scopes"] == {"gpu": "local"}
    template = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    # the template names no account (a placeholder one would be submitted), and limits GPUs per submission
    assert template["executor"] == "slurm" and "default-resources" not in template
    assert template["resources"] == {"gpu": 1}
    # every GPU rule is listed for the GPU model (commented out until the user names theirs)
    text = (REPO / "profiles" / "slurm" / "config.yaml").read_text()
    assert all(f"#   {rule}: {{gpu_model: a100}}" in text for rule in GPU_RULES)
