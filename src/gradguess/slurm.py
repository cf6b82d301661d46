"""What a SLURM cluster says about itself, asked before anything is queued (cluster.smk's onstart): whether it
enforces accounting, so that sbatch needs an account, and this user's default account. Without SLURM (no
`scontrol`, a command that fails or hangs) the answer is "nothing enforced": the check stops no one by mistake.
Torch-free: the Snakefile calls it.
"""
from __future__ import annotations

import os
import subprocess

from gradguess.config import ConfigError

# the AccountingStorageEnforce words under which sbatch refuses a job without an account
ENFORCING = ("associations", "limits", "qos", "safe")


def query(*cmd: str, timeout: float = 20) -> str:
    """A SLURM command's standard output, or "" where it is not installed, fails or does not answer in time."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout if out.returncode == 0 else ""


def accounting_enforced(timeout: float = 20) -> str:
    """`scontrol show config`'s AccountingStorageEnforce ("associations,limits"), "" where none is said."""
    return next((line.split("=", 1)[1].strip() for line in query("scontrol", "show", "config", timeout=timeout)
                 .splitlines() if line.startswith("AccountingStorageEnforce")), "")


def default_account(user: str, timeout: float = 20) -> str:
    """The account sbatch uses for `user` when a job names none (sacctmgr's DefaultAccount), "" if none."""
    return query("sacctmgr", "-n", "-P", "show", "user", user, "format=DefaultAccount", timeout=timeout).strip()


def check_account(user: str | None = None, timeout: float = 20) -> None:
    """Refuse, naming the setting to add, to start a run whose jobs name no account where this cluster requires
    one (it enforces accounting) and the user has no default account either (the executor would use that one)."""
    enforce = accounting_enforced(timeout)
    if not any(word in enforce for word in ENFORCING):
        return  # no accounting enforced: sbatch needs no account
    user = os.environ.get("USER", "") if user is None else user
    if default_account(user, timeout):
        return
    raise ConfigError(
        f"this SLURM cluster requires an account (AccountingStorageEnforce={enforce}) and none is set, nor does "
        f"{user or 'this user'} have a default one: set slurm_account under default-resources in your slurm "
        "profile (~/.config/snakemake/slurm/config.yaml, which `bash scripts/setup` installs; see "
        "docs/hpc.md#reproducing-the-paper-on-a-slurm-cluster). On the command line, --default-resources replaces "
        "that profile's whole block: repeat its partition and GPU model there too")
