# What a job asks a cluster for (sized from its run's spec: gradguess/jobsize.py), and checks that stop a
# cluster run before anything is queued, rather than three failed attempts per job later.
import shutil
import subprocess



# ------------------------------------------------------------------ what a job asks a cluster for
def job(kind, key):
    return config["resources"][kind].get(key, {"gpu": 1, "cpus": 1}.get(key, "auto"))


def _fixed(kind, key, attempt):
    fixed = job(kind, key)
    return None if fixed == "auto" else int(fixed * jobsize.margin(attempt) / jobsize.SAFETY)


def train_runtime(spec_fn, kind="train"):
    return lambda wildcards, attempt: _fixed(kind, "runtime", attempt) or jobsize.spec_minutes(
        spec_fn(wildcards), gpu=job(kind, "gpu") > 0, attempt=attempt)


def train_mem(spec_fn, kind="train"):
    return lambda wildcards, attempt: _fixed(kind, "mem_mb", attempt) or jobsize.spec_mem_mb(
        spec_fn(wildcards), gpu=job(kind, "gpu") > 0, attempt=attempt)


def short_group(name, spec_fn):
    """A group name for jobs estimated shorter than resources.short_job_minutes, else none. Locally groups mean
    nothing; the workflow profile submits a group's jobs together (group-components)."""
    return lambda wildcards: (name if jobsize.spec_minutes(spec_fn(wildcards), gpu=job("train", "gpu") > 0)
                              < config["resources"]["short_job_minutes"] else None)


def measure_runtime(wildcards, attempt):
    traj, f1 = PLAN.trajectories[PLAN.lists["trajectory"]], config["figure1"]
    estimates = sum(1 if m in ("directional", "cosine_matched_directional", "backprop") else len(f1["modes"])
                    for m in f1["methods"])
    return _fixed("cosine", "runtime", attempt) or jobsize.measure_minutes(
        traj.dataset, traj.model.options["depth"], traj.model.options["width"], f1["batches"], f1["batch_size"],
        estimates, gpu=job("cosine", "gpu") > 0, attempt=attempt)


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
