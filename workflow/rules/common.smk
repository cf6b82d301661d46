# Helpers shared by every .smk file: config validation, where each preset's artifacts live, the
# settings of every run, the code each job depends on, and what each job asks a cluster for.
# Wiring only; what a run computes lives in the gradguess library.
import hashlib
import json
import os
import shlex
import sys
from pathlib import Path

import jsonschema
import yaml

SRC = str(Path(workflow.basedir) / "src")
# the library's torch-free helpers (lineage, jobsize, catalog), from this checkout
sys.path.insert(0, SRC)
from gradguess import jobsize, lineage  # noqa: E402
from gradguess.catalog import DATASETS  # noqa: E402

CONDA_ENV = "../../envs/gradguess.yaml"


class ConfigError(Exception):
    pass


def check_config(config):
    """Validate against the schema, naming the first bad key as a dotted path (methods.wt.options.mode)."""
    schema = yaml.safe_load(Path(workflow.source_path("../schemas/config.schema.yaml")).read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        lines = []
        for e in errors[:5]:
            key = ".".join(str(p) for p in e.absolute_path) or "(top level)"
            lines.append(f"  config key {key}: {e.message}")
        raise ConfigError("invalid configuration (config.yaml and --configfile presets):\n" + "\n".join(lines))


check_config(config)

# ------------------------------------------------------------------ where a preset's artifacts live
PRESET = config["preset"]
TREE = f"{config['results']}/{PRESET}"            # runs, measurements, gathered tables, benchmarks
FIGURES = f"paper_figures/{PRESET}"                # the paper's tables and figures
DATA = config["data"]["root"] or f"{TREE}/data"


# ------------------------------------------------------------------ the jobs' environment
# Jobs run `python -m gradguess` from this checkout's src/. Under --sdm conda/apptainer that
# `python` is the environment's; otherwise put the interpreter running Snakemake (the project's
# .venv) first on PATH, so that no environment needs activating. Jobs inherit this environment,
# and a SLURM job step parses this file again, so the same holds there.
# Settings that cannot change a result (the preset's name stamped on artifacts, how often a run
# checkpoints) travel the same way, never as params: Snakemake re-runs a job whose params change.
def _prepend(name, *paths):
    os.environ[name] = os.pathsep.join(dict.fromkeys(p for p in [*paths, *os.environ.get(name, "").split(os.pathsep)] if p))


_prepend("PYTHONPATH", SRC)
if not workflow.deployment_settings.deployment_method:
    _prepend("PATH", str(Path(sys.executable).parent))
os.environ.update(GRADGUESS_PRESET=PRESET, GRADGUESS_CHECKPOINT_MINUTES=str(config["execution"]["checkpoint_minutes"]))


def _source_exists(dataset):
    source = config["data"]["sources"].get(dataset)
    return source is None or Path(source).is_dir()


def _usable(datasets):
    kept = []
    for d in datasets:
        if d == "synthetic" or _source_exists(d):
            kept.append(d)
        elif config["data"]["skip_missing_sources"]:
            print(f"gradguess: skipping dataset {d}: its source directory "
                  f"{config['data']['sources'][d]} (data.sources.{d}) does not exist", file=sys.stderr)
        else:
            raise ConfigError(f"config key data.sources.{d}: directory {config['data']['sources'][d]} does not exist")
    return kept


# Containers see only the working directory unless told: bind every data source (and a data root
# outside it) through the variables Apptainer and Singularity read, so `--sdm apptainer` needs no
# extra --apptainer-args for data.
_binds = [str(Path(s).resolve()) for s in config["data"]["sources"].values() if s and Path(s).is_dir()]
if not Path(DATA).resolve().is_relative_to(Path.cwd().resolve()):
    _binds.append(str(Path(DATA).resolve()))
for _var in ("APPTAINER_BIND", "SINGULARITY_BIND"):
    os.environ[_var] = ",".join(dict.fromkeys(filter(None, [*os.environ.get(_var, "").split(","), *_binds])))


def data_file(dataset):
    return f"{DATA}/{dataset}.pt"


def source_flag(wildcards):
    source = config["data"]["sources"].get(wildcards.dataset)
    return f"--source {shlex.quote(str(Path(source).resolve()))}" if source else ""


# ------------------------------------------------------------------ runs: one directory per settings
# A run is named by what figures ask for (dataset, architecture, method, epochs); everything else
# about it (optimizer, lr, method options) comes from `training` and `methods` and is a param, so
# changing it re-runs the run in place. Every figure that needs a run asks for the same directory.
# One job trains a run for every seed, each seed in its own directory seed<k>/.
SEEDS = [int(s) for s in config["seeds"]]


def run_dir(dataset, depth, width, method, epochs):
    return f"{TREE}/runs/{dataset}/d{depth}-w{width}/{method}/e{epochs}"


def seed_dirs(directory):
    return [f"{directory}/seed{s}" for s in SEEDS]


def run_settings(method, dataset, depth, width, epochs, seeds=SEEDS):
    """Everything that determines one training run: the defaults, then the method's overrides."""
    s = {k: v for k, v in config["training"].items()}
    s.update({k: v for k, v in config["methods"].get(method, {}).items()})
    s.update(dataset=dataset, depth=int(depth), width=int(width), epochs=int(epochs), method=method,
             seeds=[int(x) for x in seeds])
    s["options"] = dict(s.get("options", {}))
    return s


TABLE2_DATASETS = _usable(config["table2"]["datasets"])


def table2_runs():
    t = config["table2"]
    return {run_dir(d, a["depth"], a["width"], m, t["epochs"]): run_settings(m, d, a["depth"], a["width"], t["epochs"])
            for d in TABLE2_DATASETS for a in t["architectures"] for m in t["methods"]}


RUNS = table2_runs()


def settings_of(wildcards):
    path = run_dir(wildcards.dataset, wildcards.depth, wildcards.width, wildcards.method, wildcards.epochs)
    if path not in RUNS:
        raise ConfigError(f"{path} is not a run of this configuration (preset {PRESET})")
    return RUNS[path]


def settings_digest(settings):
    """Names a run's checkpoints: everything that determines the run but its seed (the seed is the directory)."""
    keyed = {k: v for k, v in settings.items() if k not in ("seeds", "seed")}
    return hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:10]


def checkpoint_path(directory, settings):
    """Beside a seed's outputs, never one of them, so a resubmitted job resumes; named by the run's
    settings, so a changed setting starts afresh instead of resuming."""
    return f"{directory}/seed{{seed}}/checkpoint-{settings_digest(settings)}.pt"


def train_args(s):
    args = [f"--dataset {s['dataset']}", f"--data-root {shlex.quote(DATA)}", f"--method {s['method']}",
            f"--depth {s['depth']}", f"--width {s['width']}", f"--optimizer {s['optimizer']}",
            f"--lr {s['lr']}", f"--momentum {s['momentum']}", f"--batch-size {s['batch_size']}",
            f"--epochs {s['epochs']}", "--seed " + " ".join(map(str, s["seeds"])), "--progress log"]
    if s.get("weight_decay") is not None:
        args.append(f"--weight-decay {s['weight_decay']}")
    args += [f"--method-option {k}={v}" for k, v in sorted(s["options"].items())]
    return " ".join(args)


def table2_run_dirs():
    return [d for run in table2_runs() for d in seed_dirs(run)]


# ------------------------------------------------------------------ the code each job depends on
# A param, so that Snakemake re-runs a job when the library code it imports changes (comments and
# docstrings excepted), and not when other code does; see gradguess/lineage.py.
def training_code(wildcards):
    return lineage.training_digest(settings_of(wildcards)["method"])


def code_of(*modules, methods=()):
    return lineage.code_digest(*(f"gradguess.{m}" for m in modules), *lineage.method_modules(*methods))


# ------------------------------------------------------------------ the trajectory Figure 1 measures
TRAJ = config["trajectory"]
if not _usable([TRAJ["dataset"]]):
    raise ConfigError(f"config key trajectory.dataset: {TRAJ['dataset']} has no usable source "
                      f"(data.sources.{TRAJ['dataset']})")
TRAJ_DIR = f"{TREE}/trajectories/{TRAJ['dataset']}/d{TRAJ['depth']}-w{TRAJ['width']}/e{TRAJ['epochs']}/seed{TRAJ['seed']}"
FIG1_EPOCHS = list(range(0, TRAJ["epochs"] + 1, config["figure1"]["every"]))
if FIG1_EPOCHS[-1] != TRAJ["epochs"]:
    FIG1_EPOCHS.append(TRAJ["epochs"])


def trajectory_settings():
    s = run_settings("backprop", TRAJ["dataset"], TRAJ["depth"], TRAJ["width"], TRAJ["epochs"], seeds=[TRAJ["seed"]])
    s.update(optimizer=TRAJ["optimizer"], lr=TRAJ["lr"], batch_size=TRAJ["batch_size"])
    return s


def measure_estimates():
    """How many estimates one measurement job computes per batch (methods × modes where they apply)."""
    modes = len(config["figure1"]["modes"])
    return sum(1 if m in ("directional", "cosine_matched_directional", "backprop") else modes
               for m in config["figure1"]["methods"])


def measure_runtime(wildcards, attempt):
    fixed = job("cosine", "runtime")
    if fixed != "auto":
        return int(fixed * jobsize.margin(attempt) / jobsize.SAFETY)
    return jobsize.measure_minutes(TRAJ["dataset"], TRAJ["depth"], TRAJ["width"], config["figure1"]["batches"],
                                   config["figure1"]["batch_size"], measure_estimates(), gpu=job("cosine", "gpu") > 0,
                                   attempt=attempt)


def figure1_measurements():
    return [f"{TREE}/figure1/epoch_{e:04d}.csv" for e in FIG1_EPOCHS]


# ------------------------------------------------------------------ what a job asks a cluster for
def job(kind, key):
    return config["resources"][kind].get(key, {"gpu": 1, "cpus": 1}.get(key, "auto"))


def train_runtime(settings, kind="train"):
    """runtime (minutes) of a training job: from config, or sized from the run (more on each retry)."""
    def runtime(wildcards, attempt):
        s = settings(wildcards) if callable(settings) else settings
        fixed = job(kind, "runtime")
        if fixed != "auto":
            return int(fixed * jobsize.margin(attempt) / jobsize.SAFETY)
        return jobsize.train_minutes(s["dataset"], s["depth"], s["width"], s["epochs"], s["batch_size"],
                                     s["method"], s["options"], gpu=job(kind, "gpu") > 0, attempt=attempt,
                                     replicates=len(s["seeds"]))
    return runtime


def train_mem(settings, kind="train"):
    def mem_mb(wildcards, attempt):
        s = settings(wildcards) if callable(settings) else settings
        fixed = job(kind, "mem_mb")
        if fixed != "auto":
            return int(fixed * jobsize.margin(attempt) / jobsize.SAFETY)
        return jobsize.train_mem_mb(s["dataset"], s["depth"], s["width"], s["batch_size"],
                                    gpu=job(kind, "gpu") > 0, attempt=attempt)
    return mem_mb


def short_group(name, settings):
    """A group name for jobs estimated shorter than resources.short_job_minutes, else none. Locally
    groups mean nothing; profiles/slurm submits a group's jobs together (group-components)."""
    def group(wildcards):
        s = settings(wildcards) if callable(settings) else settings
        minutes = jobsize.train_minutes(s["dataset"], s["depth"], s["width"], s["epochs"], s["batch_size"],
                                        s["method"], s["options"], gpu=job("train", "gpu") > 0,
                                        replicates=len(s["seeds"]))
        return name if minutes < config["resources"]["short_job_minutes"] else None
    return group


# ------------------------------------------------------------------ paper figures
PAPER_FIGURES = {
    "figure1": [f"{FIGURES}/figure1.png", f"{FIGURES}/figure1.pdf"],
    "figure1_table": [f"{FIGURES}/figure1_table.{s}" for s in ("csv", "md", "tex")],
    "table2": [f"{FIGURES}/table2.{s}" for s in ("csv", "md", "tex")],
    "figure3": [f"{FIGURES}/figure3.png", f"{FIGURES}/figure3.pdf"],
    "figure11": [f"{FIGURES}/figure11.png", f"{FIGURES}/figure11.pdf"],
}


def prefix_of(name):
    """A params function: the named output's path without its suffix (artifacts come in several formats)."""
    return lambda wildcards, output: os.path.splitext(output[name])[0]


def dirname_of(name, where="output"):
    """A params function: the directory of the named input or output file."""
    return lambda wildcards, input, output: os.path.dirname((input if where == "input" else output)[name])


def preset_name(wildcards):
    # a function, not the string: the linter takes the preset "paper" for a prefix of "paper_figures/"
    return PRESET


def history_of(name):
    """A params function: a log beside the named output that every attempt appends to (Snakemake
    deletes a job's `log:` before each attempt, so that one holds the last attempt only)."""
    return lambda wildcards, output: os.path.join(os.path.dirname(output[name]), "history.log")


# ------------------------------------------------------------------ paper_readme and cleanup
def configfiles():
    """The --configfile arguments, relative to the working directory (no machine's absolute paths)."""
    cwd = Path.cwd().resolve()
    out = []
    for c in workflow.configfiles:
        p = Path(c).resolve()
        out.append(str(p.relative_to(cwd)) if p.is_relative_to(cwd) else p.name)
    return out


def result_config():
    """The config minus how jobs ran (execution, resources): what the artifacts depend on."""
    return {k: v for k, v in config.items() if k not in ("execution", "resources")}


def current_checkpoint_digests():
    """The checkpoints this config would resume from: one per configured run and the trajectory."""
    return " ".join(sorted({settings_digest(s) for s in [*RUNS.values(), trajectory_settings()]}))
