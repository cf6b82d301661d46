"""What the workflow asks a SLURM cluster before queueing anything (gradguess.slurm), with stand-in `scontrol` and
`sacctmgr` on PATH that record their calls; and the group sizes cluster.smk reads from the workflow profile."""
import os
import sys
import time
from pathlib import Path

import pytest

from gradguess import slurm, submissions
from gradguess.config import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    """Writes stand-in SLURM commands: cluster(scontrol=OUTPUT, sacctmgr=OUTPUT, ...); exit status with `:N`."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def make(**commands):
        for name, spec in commands.items():
            text, _, status = spec.partition(":")
            script = bin_dir / name
            script.write_text(f"#!/bin/sh\necho \"{name} $*\" >> {calls}\nprintf '%s' '{text}'\nexit {status or 0}\n")
            script.chmod(0o755)
        return calls
    return make


ENFORCED = "AccountingStorageEnforce = associations,limits\nAccountingStorageType = accounting_storage/slurmdbd\n"


def test_an_enforcing_cluster_without_a_default_account_is_refused_naming_the_setting(cluster):
    calls = cluster(scontrol=ENFORCED, sacctmgr="")
    with pytest.raises(ConfigError, match="AccountingStorageEnforce=associations,limits") as err:
        slurm.check_account("alice")
    assert "slurm_account" in str(err.value) and "alice" in str(err.value)
    assert calls.read_text().splitlines() == ["scontrol show config",
                                              "sacctmgr -n -P show user alice format=DefaultAccount"]


def test_a_failing_sacctmgr_counts_as_no_default_account(cluster):
    cluster(scontrol=ENFORCED, sacctmgr="myaccount:1")
    with pytest.raises(ConfigError, match="slurm_account"):
        slurm.check_account("alice")


def test_a_default_account_or_no_enforcement_needs_none(cluster):
    calls = cluster(scontrol=ENFORCED, sacctmgr="myaccount\n")
    slurm.check_account("alice")
    assert slurm.default_account("alice") == "myaccount"
    calls.unlink()
    cluster(scontrol="AccountingStorageEnforce = none\n")
    slurm.check_account("alice")
    assert calls.read_text().splitlines() == ["scontrol show config"]  # sacctmgr is not even asked


def test_without_slurm_nothing_is_enforced(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert slurm.accounting_enforced() == ""
    slurm.check_account("alice")


def test_an_scontrol_that_hangs_is_not_waited_for(cluster, tmp_path):
    cluster(scontrol="")
    (tmp_path / "bin" / "scontrol").write_text(  # one process, so that the timeout's kill ends it
        f"#!{sys.executable}\nimport time\ntime.sleep(3)\nprint('AccountingStorageEnforce = associations')\n")
    started = time.monotonic()
    assert slurm.accounting_enforced(timeout=0.5) == ""
    assert time.monotonic() - started < 2.5


def test_the_group_sizes_cluster_smk_reads_are_the_workflow_profiles():
    sizes = submissions.group_sizes(submissions.workflow_profile(REPO))
    assert sizes == {"short_train": 8, "measure_guesses": 17}
    assert submissions.profile_of([REPO / "config.yaml"]) == submissions.workflow_profile(REPO)
