# Wiring only: the config checked, the plan built (gradguess.plan: every run, trajectory and figure's runs), the
# jobs' environment, and the small helpers the rule files use. What a run computes lives in the library.
import json
import os
import re
import shlex
import sys
from pathlib import Path

SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)  # the library's torch-free modules, from this checkout
from gradguess import config as gconfig, jobsize, lineage, plan as gplan, schedule as gschedule  # noqa: E402
from gradguess.catalog import DATASETS  # noqa: E402
from gradguess.report import artifacts as gartifacts  # noqa: E402
from gradguess.config import ConfigError  # noqa: E402

CONDA_ENV = "../../envs/gradguess.yaml"

gconfig.validate(config, workflow.source_path("../schemas/config.schema.yaml"))
try:
    PLAN = gplan.build(config)
except gplan.PlanError as exc:
    raise ConfigError(str(exc)) from None
for _warning in PLAN.warnings:
    print(f"gradguess: {_warning}", file=sys.stderr)
PRESET, TREE, FIGURES, DATA = PLAN.preset, PLAN.tree, PLAN.figures_dir, PLAN.data_root
FIGURES_ON = PLAN.figures
# the seed lists a whole run's job trains (gschedule.whole_seeds): a run of other seeds trains a job per seed
SEEDS, REPLICATES = (list(seeds) for seeds in gschedule.whole_seeds(config))


# ------------------------------------------------------------------ the jobs' environment
# Jobs run `python -m gradguess` from this checkout's src/. Under --sdm conda/apptainer that `python` is the
# environment's; otherwise the interpreter running Snakemake goes first on PATH. Settings that cannot change a
# result (the preset's name stamped on artifacts, how often a run checkpoints) travel the same way, never as
# params: Snakemake re-runs a job whose params change.
def _prepend(name, *paths):
    os.environ[name] = os.pathsep.join(dict.fromkeys(p for p in [*paths, *os.environ.get(name, "").split(os.pathsep)] if p))


_prepend("PYTHONPATH", SRC)
if not workflow.deployment_settings.deployment_method:
    _prepend("PATH", str(Path(sys.executable).parent))
os.environ.update(GRADGUESS_PRESET=PRESET, GRADGUESS_CHECKPOINT_MINUTES=str(config["execution"]["checkpoint_minutes"]))
# Containers see only the working directory unless told: bind every data source (and a data root outside it)
_binds = [str(Path(s).resolve()) for s in config["data"]["sources"].values() if s and Path(s).is_dir()]
_weights = config["figure9"]["weights"]
if _weights and _weights != "random" and Path(_weights).is_file():  # the user's backbone weights (Figure 9)
    _binds.append(str(Path(_weights).resolve().parent))
if not Path(DATA).resolve().is_relative_to(Path.cwd().resolve()):
    _binds.append(str(Path(DATA).resolve()))
for _var in ("APPTAINER_BIND", "SINGULARITY_BIND"):
    os.environ[_var] = ",".join(dict.fromkeys(filter(None, [*os.environ.get(_var, "").split(","), *_binds])))


def data_file(dataset):
    return f"{DATA}/{dataset}.pt"


def quoted(paths):
    """Paths for a shell command built in Python (`{x:q}` quotes only the rule's own placeholders)."""
    return " ".join(shlex.quote(str(p)) for p in ([paths] if isinstance(paths, (str, Path)) else paths))


def source_flag(wildcards):
    source = config["data"]["sources"].get(wildcards.dataset)
    return f"--source {quoted(Path(source).resolve())}" if source else ""


# ------------------------------------------------------------------ runs: the plan's, one directory each
def spec_of(wildcards):
    path = f"{TREE}/{wildcards.run}"
    if path not in PLAN.runs:
        raise ConfigError(f"{path} is not a run of this configuration (preset {PRESET})")
    return PLAN.runs[path]


def trajectory_spec(wildcards):
    path = f"{TREE}/trajectories/{wildcards.dataset}/{wildcards.arch}/e{wildcards.epochs}/seed{wildcards.seed}"
    if path not in PLAN.trajectories:
        raise ConfigError(f"{path} is not a trajectory of this configuration (preset {PRESET})")
    return PLAN.trajectories[path]


def run_outputs(pattern, seeds):
    return {name: expand(f"{pattern}/seed{{seed}}/{name}.{ext}", seed=seeds, allow_missing=True)
            for name, ext in (("result", "json"), ("metrics", "csv"), ("monitor", "csv"), ("weights", "pt"))}


def train_params():
    run = lambda wildcards: f"{TREE}/{wildcards.run}"
    # keys as strings: Snakemake's parser reads a line starting `checkpoint=` as its keyword
    return {
        "spec": lambda wildcards: spec_of(wildcards).to_json(),
        "data_root": DATA,
        "out": lambda wildcards: f"{run(wildcards)}/seed{{seed}}",
        "checkpoint": lambda wildcards: f"{run(wildcards)}/seed{{seed}}/checkpoint-{spec_of(wildcards).digest()}.pt",
        "history": lambda wildcards: f"{run(wildcards)}/history.log",
        "reference": lambda wildcards, input: (f"--reference-table {quoted(input.reference)} --reference-from-epoch "
                                               f"{config['figure1']['average_from_epoch']}" if input.get("reference")
                                               else ""),
        "code": lambda wildcards: train_code(spec_of(wildcards)),
    }


def model_inputs(wildcards):
    """A model's files: a prompted ViT's backbone weights (prepare_weights)."""
    weights = spec_of(wildcards).model.options.get("weights")
    return [weights] if weights else []


def reference_input(wildcards):
    """A cosine-matched run with `cosine: auto` takes W^T's mean cosine from Figure 1's measurements."""
    return figure1_measurements() if "auto" in spec_of(wildcards).method.options.values() else []


# one command line for all of train.smk; its `job` param says which seed, which chunk, where it resumes
TRAIN_SHELL = ("OMP_NUM_THREADS={threads} python -m gradguess train --spec {params.spec:q} --data-root"
               " {params.data_root:q} --progress log {params.job} --batch-seeds-on {resources.batch_seeds}"
               " --out {params.out:q} --checkpoint"
               " {params.checkpoint:q} {params.reference} 2>&1 | tee -a {params.history:q} > {log:q}")


def run_files(runs, name="result.json"):
    """The per-seed files of some runs: what a figure rule's input lists."""
    return [f"{d}/seed{s}/{name}" for d in runs for s in PLAN.runs[d].seeds]


def figure1_measurements():
    return [f"{TREE}/figure1/epoch_{e:04d}.csv" for e in PLAN.lists["figure1_epochs"]]


def trajectory_snapshot(epoch):
    return os.path.join(PLAN.lists["trajectory"], "snapshots", f"epoch_{epoch:04d}.pt")


def subspace_csv(trajectory):
    """Where a trajectory's subspace measurements go: figure2/subspace/<dataset>/d<D>-w<W>/e<E>/seed<s>.csv"""
    return trajectory.replace(f"{TREE}/trajectories/", f"{TREE}/figure2/subspace/") + ".csv"


# ------------------------------------------------------------------ the code each job depends on
def job_code(command, methods=(), datasets=()):
    """A param, so that Snakemake re-runs a job when the library code its job imports changes (comments and
    docstrings, flags and help excepted), and the methods and data sets' importers it loads by name; see
    gradguess/lineage.py."""
    return lineage.job_digest(command, *lineage.method_modules(*(m.partition(":")[0] for m in methods)),
                              *lineage.data_modules(*datasets))


def train_code(spec):
    """A training job's: what training executes (lineage.training_digest), the digest its checkpoints carry."""
    return lineage.training_digest(spec.method.name, spec.model.name)


# ------------------------------------------------------------------ paper figures and small helpers
# each enabled figure's files (paper_readme lists them; the comparison reads their CSVs)
PAPER_FIGURES = gplan.artifacts(PLAN)


def artifact_outputs(name):
    """A report rule's outputs: its artifact's files, named in gradguess/report/artifacts.py (the report job writes
    the same), each one the HTML report shows with its caption and category."""
    artifact = gartifacts.ARTIFACTS[name]
    return {key: report(str(path), caption=f"../report/{artifact.caption(key, name)}.rst", category=artifact.category)
            if artifact.shown(key) else str(path) for key, path in gartifacts.paths(name, FIGURES).items()}


def artifact_dir(wildcards, output):
    """A params function: the directory a report rule's artifact goes to (its outputs')."""
    return os.path.dirname(output[0])


def dirname_of(name, where="output"):
    return lambda wildcards, input, output: os.path.dirname((input if where == "input" else output)[name])


def preset_name(wildcards):
    # a function, not the string: the linter takes the preset "paper" for a prefix of "paper_figures/"
    return PRESET


def history_of(name):
    """A params function: a log beside the named output that every attempt appends to."""
    return lambda wildcards, output: os.path.join(os.path.dirname(output[name]), "history.log")


def setting_json(*keys, source=None):
    source = source if source is not None else config["trajectory"]
    return json.dumps({k: source[k] for k in keys})


def configfiles():
    """The --configfile arguments, relative to the working directory (no machine's absolute paths)."""
    cwd = Path.cwd().resolve()
    return [str(Path(c).resolve().relative_to(cwd)) if Path(c).resolve().is_relative_to(cwd) else Path(c).name
            for c in workflow.configfiles]


def result_config():
    """The config minus how jobs ran (execution, resources, container): what the artifacts depend on."""
    return {k: v for k, v in config.items() if k not in ("execution", "resources", "container")}
