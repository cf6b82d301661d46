# How runs become jobs (the plan's schedule under execution.max_job_hours: whole, per seed, or chains of chunks),
# what each job asks a cluster for (sized from its run's spec: gradguess/jobsize.py), and checks that stop a cluster
# run before anything is queued, rather than three failed attempts per job later.
from gradguess import batching as gbatching, schedule as gschedule, slurm, submissions


# ------------------------------------------------------------------ how runs become jobs
# Each run's jobs: 0, one job for all its seeds; n, a job per seed, a chain of n chunks of epochs (gradguess.schedule)
MAX_MINUTES = 60 * config["execution"]["max_job_hours"]
BATCHING = config.get("batching")
SCHEDULE = gschedule.schedule(PLAN, MAX_MINUTES, gpu=config["resources"]["train"].get("gpu", 1) > 0)
# how many jobs of a group share a submission: the workflow profile's group-components, its one place
GROUP_SIZES = submissions.group_sizes(submissions.workflow_profile(workflow.basedir))


def runs_matching(whole, seeds=None):
    """A wildcard constraint: the runs (relative to the tree) trained whole with these seeds, or split."""
    dirs = [d for d, n in SCHEDULE.items() if (n == 0) == whole and (seeds is None or list(PLAN.runs[d].seeds) == seeds)]
    return "|".join(re.escape(d.removeprefix(f"{TREE}/")) for d in sorted(dirs)) or "(?!)"


def chunk_file(wildcards, k):
    return f"{TREE}/{wildcards.run}/seed{wildcards.seed}/chunks/chunk{k}.pt"


def previous_chunk(wildcards):
    return chunk_file(wildcards, int(wildcards.k) - 1) if int(wildcards.k) > 1 else []


def last_chunk(wildcards):
    """A seed's last job resumes from the chunk before it; a seed already finished needs none (gplan.finished)."""
    chunks = SCHEDULE[f"{TREE}/{wildcards.run}"]
    if chunks < 2 or gschedule.finished(f"{TREE}/{wildcards.run}/seed{wildcards.seed}", spec_of(wildcards),
                                    int(wildcards.seed)):
        return []
    return chunk_file(wildcards, chunks - 1)


def resume_flag(input):
    return f" --resume-from {quoted(input.previous)}" if input.get("previous") else ""


def chunk_end(wildcards):
    return gschedule.chunk_ends(spec_of(wildcards).epochs, SCHEDULE[f"{TREE}/{wildcards.run}"])[int(wildcards.k) - 1]


# ------------------------------------------------------------------ what a job asks a cluster for
def job(kind, key):
    return config["resources"][kind].get(key, {"gpu": 1, "cpus": 1}.get(key, "auto"))


def gpu_request(kind):
    """A GPU job's GPUs; the GPU model comes from your profile's default-resources (gpu_model: a100) and reaches
    every GPU rule, and no other: a CPU-only kind (resources.<kind>.gpu: 0) clears it, or SLURM would be asked for
    --gpus=MODEL:0."""
    return {"gpu": job(kind, "gpu")} if job(kind, "gpu") > 0 else {"gpu": 0, "gpu_model": ""}


def _fixed(kind, key, attempt):
    fixed = job(kind, key)
    return None if fixed == "auto" else int(fixed * jobsize.margin(attempt) / jobsize.SAFETY)


def train_runtime(spec_fn, kind="train"):
    """Minutes for a job training every seed of a run (never above execution.max_job_hours)."""
    return lambda wildcards, attempt: min(MAX_MINUTES, _fixed(kind, "runtime", attempt) or gschedule.run_minutes(
        spec_fn(wildcards), job(kind, "gpu") > 0, attempt, settings=BATCHING))


def batch_seeds(wildcards):
    """Where a run's job trains its seeds as one batched model (gradguess.batching.seeds_mask: 1 on a GPU, 2 on
    the CPU, 3 both, 0 never). A resource, not a param: batching changes no result, so a new batching setting
    re-runs nothing."""
    return gbatching.seeds_mask(spec_of(wildcards), BATCHING)


def chunk_runtime(wildcards, attempt):
    """Minutes for one seed, or one chunk of one seed, of a run the plan split."""
    return min(MAX_MINUTES, _fixed("train", "runtime", attempt) or gschedule.chunk_minutes(
        spec_of(wildcards), max(1, SCHEDULE[f"{TREE}/{wildcards.run}"]), job("train", "gpu") > 0, attempt))


def train_mem(spec_fn, kind="train"):
    return lambda wildcards, attempt: _fixed(kind, "mem_mb", attempt) or jobsize.spec_mem_mb(
        spec_fn(wildcards), gpu=job(kind, "gpu") > 0, attempt=attempt)


def short_group(name, spec_fn):
    """A group name for jobs estimated shorter than resources.short_job_minutes (and short enough that a full
    group fits execution.max_job_hours, retries included), else none. Locally groups mean nothing; the workflow
    profile submits a group's jobs together (group-components), taking turns on one GPU."""
    gpu, size = job("train", "gpu") > 0, GROUP_SIZES.get(name, 1)
    limit = submissions.short_limit(config["resources"]["short_job_minutes"], size, MAX_MINUTES)
    return lambda wildcards: name if gschedule.run_minutes(spec_fn(wildcards), gpu, settings=BATCHING) < limit else None


def measure_runtime(wildcards, attempt):
    traj, f1 = PLAN.trajectories[PLAN.lists["trajectory"]], config["figure1"]
    return _fixed("cosine", "runtime", attempt) or jobsize.measure_minutes(
        traj.dataset, traj.model.options["depth"], traj.model.options["width"], f1["batches"], f1["batch_size"],
        jobsize.figure1_estimates(f1), gpu=job("cosine", "gpu") > 0, attempt=attempt)


def check_slurm_account():
    """Before a SLURM run queues anything: where a rule it submits names no account, ask the cluster whether it
    needs one (gradguess.slurm), rather than three failed attempts per job later."""
    plugin = workflow.executor_plugin
    if plugin is None or plugin.cli_prefix != "slurm":
        return

    def account(rule):
        value = rule.resources.get("slurm_account")
        try:
            return getattr(value, "value", value)  # a Resource, or a plain value
        except ValueError:
            return True  # an expression, evaluated per job: set

    if not all(account(r) for r in workflow.rules if not workflow.is_local(r)):
        slurm.check_account()


onstart:
    check_slurm_account()
