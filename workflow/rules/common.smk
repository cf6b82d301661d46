# Helpers shared by every .smk file (config validation, paths, the settings of each run).
# Wiring only; what a run computes lives in the gradguess library.
import hashlib
import json
import os
import shlex
import sys
from pathlib import Path

from snakemake.utils import validate


validate(config, workflow.source_path("../schemas/config.schema.yaml"))

PRESET = config["preset"]
DATA = config["data"]["root"]
SRC = str(Path(workflow.basedir) / "src")
CONDA_ENV = "../../envs/gradguess.yaml"

# Jobs run `python -m gradguess` from this checkout's src/. Under --sdm conda/apptainer that
# `python` is the environment's; otherwise put the interpreter running Snakemake (the project's
# .venv) first on PATH, so that no environment needs activating. Jobs inherit this environment,
# and a SLURM job step parses this file again, so the same holds there.
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])))
if not workflow.deployment_settings.deployment_method:
    os.environ.update(PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


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
            raise ValueError(f"data.sources.{d}: directory {config['data']['sources'][d]} does not exist")
    return kept


TABLE2_DATASETS = _usable(config["table2"]["datasets"])
TRAJ = config["trajectory"]
if not _usable([TRAJ["dataset"]]):
    raise ValueError(f"trajectory.dataset {TRAJ['dataset']} has no usable source (data.sources.{TRAJ['dataset']})")
TRAJ_DIR = f"results/trajectory/{TRAJ['dataset']}/d{TRAJ['depth']}-w{TRAJ['width']}"
FIG1_EPOCHS = list(range(0, TRAJ["epochs"] + 1, config["figure1"]["every"]))
if FIG1_EPOCHS[-1] != TRAJ["epochs"]:
    FIG1_EPOCHS.append(TRAJ["epochs"])


def data_file(dataset):
    return f"{DATA}/{dataset}.pt"


def source_flag(wildcards):
    source = config["data"]["sources"].get(wildcards.dataset)
    return f"--source {shlex.quote(str(Path(source).resolve()))}" if source else ""


def run_settings(method, dataset, depth, width, seed, epochs):
    """Everything that determines one training run: the defaults, then the method's overrides."""
    s = {k: v for k, v in config["training"].items()}
    s.update(config["methods"].get(method, {}))
    s.update(dataset=dataset, depth=int(depth), width=int(width), seed=int(seed), epochs=int(epochs), method=method)
    s.setdefault("options", {})
    return s


def checkpoint_path(run_dir, settings):
    """Beside the run's outputs, never one of them, so a resubmitted job resumes; named by the
    settings that a resume must agree on, so a changed setting starts afresh instead of resuming."""
    keyed = {k: v for k, v in settings.items() if k not in ("epochs", "checkpoint_every")}
    digest = hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:10]
    return f"{run_dir}/checkpoint-{digest}.pt"


def train_args(s):
    args = [f"--dataset {s['dataset']}", f"--data-root {shlex.quote(DATA)}", f"--method {s['method']}",
            f"--depth {s['depth']}", f"--width {s['width']}", f"--optimizer {s['optimizer']}",
            f"--lr {s['lr']}", f"--momentum {s['momentum']}",
            f"--batch-size {s['batch_size']}", f"--epochs {s['epochs']}", f"--seed {s['seed']}",
            f"--checkpoint-every {s['checkpoint_every']}", f"--preset {shlex.quote(PRESET)}", "--progress log"]
    if s.get("weight_decay") is not None:
        args.append(f"--weight-decay {s['weight_decay']}")
    args += [f"--method-option {k}={v}" for k, v in sorted(s["options"].items())]
    return " ".join(args)


def trajectory_settings():
    s = run_settings("backprop", TRAJ["dataset"], TRAJ["depth"], TRAJ["width"], TRAJ["seed"], TRAJ["epochs"])
    s.update(optimizer=TRAJ["optimizer"], lr=TRAJ["lr"], batch_size=TRAJ["batch_size"], checkpoint_every=1)
    return s


def table2_settings(wildcards):
    return run_settings(wildcards.method, wildcards.dataset, wildcards.depth, wildcards.width, wildcards.seed,
                        config["table2"]["epochs"])


def table2_run_dirs():
    t = config["table2"]
    return [f"results/train/{d}/d{a['depth']}-w{a['width']}/{m}/seed{s}"
            for d in TABLE2_DATASETS for a in t["architectures"] for m in t["methods"] for s in t["seeds"]]


def figure1_measurements():
    return [f"results/figure1/epoch_{e:04d}.csv" for e in FIG1_EPOCHS]


PAPER_FIGURES = {
    "figure1": ["paper_figures/figure1.png", "paper_figures/figure1.pdf"],
    "figure1_table": [f"paper_figures/figure1_table.{s}" for s in ("csv", "md", "tex")],
    "table2": [f"paper_figures/table2.{s}" for s in ("csv", "md", "tex")],
    "figure3": ["paper_figures/figure3.png", "paper_figures/figure3.pdf"],
    "figure11": ["paper_figures/figure11.png", "paper_figures/figure11.pdf"],
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


def job(kind, key):
    return config["resources"][kind].get(key, {"gpu": 1, "runtime": 60, "mem_mb": 8000, "cpus": 1}[key])
