# Checks that stop a cluster run before anything is queued, rather than three failed attempts per job later.
import shutil
import subprocess


def _slurm(*cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout if out.returncode == 0 else ""


def check_slurm_account():
    """An account is needed where SLURM enforces associations; say so once, naming the flag to add."""
    plugin = workflow.executor_plugin
    if plugin is None or plugin.cli_prefix != "slurm":
        return
    def account(rule):
        value = rule.resources.get("slurm_account")
        try:
            return getattr(value, "value", value)  # a Resource, or a plain value
        except ValueError:
            return True  # an expression, evaluated per job: set

    if all(account(r) for r in workflow.rules if not workflow.is_local(r)):
        return
    enforce = next((line.split("=", 1)[1].strip() for line in _slurm("scontrol", "show", "config").splitlines()
                    if line.startswith("AccountingStorageEnforce")), "")
    if not any(word in enforce for word in ("associations", "limits", "qos", "safe")):
        return  # no accounting enforced: sbatch needs no account
    user = os.environ.get("USER", "")
    default = _slurm("sacctmgr", "-n", "-P", "show", "user", user, "format=DefaultAccount").strip()
    if default:
        return  # the plugin finds this one itself
    raise ConfigError(
        f"this SLURM cluster requires an account (AccountingStorageEnforce={enforce}) and none is set, nor does "
        f"{user or 'this user'} have a default one: add --default-resources slurm_account=YOUR_ACCOUNT (with "
        "slurm_partition=... too: --default-resources on the command line replaces the profile's whole block)")


onstart:
    check_slurm_account()
