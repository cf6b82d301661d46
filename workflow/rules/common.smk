# Helpers shared by the rule files: config validation, paths, and the settings of each run.
# Wiring only: what a run computes lives in the gradguess library.
import hashlib
import json
import shlex
import sys
from pathlib import Path

from snakemake.utils import validate


validate(config, workflow.source_path("../schemas/config.schema.yaml"))

PRESET = config["preset"]
DATA = config["data"]["root"]
SRC = str(Path(workflow.basedir) / "src")
CONDA_ENV = "../../envs/gradguess.yaml"

# Under --sdm conda/apptainer `python` is the environment's; otherwise the interpreter running
# Snakemake (the project's .venv), so no environment needs activating first.
_PYTHON = "python" if workflow.deployment_settings.deployment_method else shlex.quote(sys.executable)
GG = f"PYTHONPATH={shlex.quote(SRC)}${{PYTHONPATH:+:$PYTHONPATH}} {_PYTHON} -m gradguess"


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
            f"--lr {s['lr']}", f"--weight-decay {s['weight_decay']}", f"--momentum {s['momentum']}",
            f"--batch-size {s['batch_size']}", f"--epochs {s['epochs']}", f"--seed {s['seed']}",
            f"--checkpoint-every {s['checkpoint_every']}", f"--preset {shlex.quote(PRESET)}", "--progress log"]
    args += [f"--method-option {k}={v}" for k, v in sorted(s["options"].items())]
    return " ".join(args)


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


def job(kind, key):
    return config["resources"][kind].get(key, {"gpu": 1, "runtime": 60, "mem_mb": 8000, "cpus": 1}[key])
