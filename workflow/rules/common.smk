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


def arch_name(depth, width, mixer=None):
    """The architecture's part of a run directory: d<depth>-w<width> for an MLP, mixer-b-c-p-g for a LocalMixer."""
    if mixer:
        return f"mixer-b{mixer['blocks']}-c{mixer['channels']}-p{mixer['patch']}-g{mixer['groups']}"
    return f"d{depth}-w{width}"


def run_dir(dataset, arch, method, epochs, kind="runs"):
    """kind: `runs` (the config's seeds) or `replicates` (Figure 5's many-seed runs, a rule of their own)."""
    return f"{TREE}/{kind}/{dataset}/{arch}/{method}/e{epochs}"


def seed_dirs(directory):
    seeds = RUNS[directory]["seeds"] if directory in RUNS else SEEDS
    return [f"{directory}/seed{s}" for s in seeds]


def run_settings(method, dataset, depth, width, epochs, seeds=SEEDS):
    """Everything that determines one training run: the defaults, then the method's overrides."""
    s = {k: v for k, v in config["training"].items()}
    s.update({k: v for k, v in config["methods"].get(method, {}).items()})
    s.update(dataset=dataset, depth=int(depth), width=int(width), epochs=int(epochs), method=method,
             seeds=[int(x) for x in seeds])
    s["options"] = dict(s.get("options", {}))
    return s


def named_settings(name, dataset, depth, width, epochs):
    """The settings of a method or of a variant (a method with overrides, under `variants`)."""
    if name not in config["variants"]:
        return run_settings(name, dataset, depth, width, epochs)
    variant = dict(config["variants"][name])
    s = run_settings(variant.pop("method"), dataset, depth, width, epochs)
    s["options"].update(variant.pop("options", {}))
    s.update(variant)
    return s


FIGURES_ON = set(config["figures"])
RUNS = {}  # run directory -> settings: every run some enabled figure asks for, each once


def _same_run(a, b):
    """Settings that train the same weights: a monitored run trains bit for bit like an unmonitored one."""
    return {k: v for k, v in a.items() if k != "monitor_every"} == {k: v for k, v in b.items() if k != "monitor_every"}


def request(name, dataset, depth, width, epochs, settings=None, kind="runs", mixer=None):
    """Register the run a figure asks for and return its directory. A run whose settings are its
    method's defaults is named by the method, whatever the figure calls it: one run, one directory.
    Two figures asking for one run, one of them monitored, share it, monitored as often as either asks."""
    s = dict(settings or named_settings(name, dataset, depth, width, epochs))
    if mixer:
        s.update(model="localmixer", **{f"mixer_{k}": v for k, v in mixer.items()})
    defaults = run_settings(s["method"], dataset, depth, width, epochs, seeds=s["seeds"])
    if mixer:
        defaults.update(model="localmixer", **{f"mixer_{k}": v for k, v in mixer.items()})
    if _same_run(s, defaults):
        name = s["method"]
    path = run_dir(dataset, arch_name(depth, width, mixer), name, epochs, kind)
    known = RUNS.setdefault(path, s)
    if not _same_run(known, s):
        raise ConfigError(f"two figures ask for {path} with different settings: {known} and {s}")
    intervals = [m for m in (known.get("monitor_every", 0), s.get("monitor_every", 0)) if m]
    known["monitor_every"] = min(intervals) if intervals else 0
    return path


TABLE2_DATASETS = _usable(config["table2"]["datasets"])


def table2_runs():
    t = config["table2"]
    return [request(m, d, a["depth"], a["width"], t["epochs"])
            for d in TABLE2_DATASETS for a in t["architectures"] for m in t["methods"]]


def figure4_runs():
    f = config["figure4"]
    if not _usable([f["dataset"]]):
        return {"middle": [], "right": []}
    return {panel: [request(n, f["dataset"], f["depth"], f["width"], f["epochs"]) for n in f[panel]]
            for panel in ("middle", "right")}


def figure6_runs():
    f = config["figure6"]
    if not _usable([f["dataset"]]):
        return []
    runs = []
    for optimizer in f["optimizers"]:
        for lr in f["lrs"]:
            for m in f["methods"]:
                s = run_settings(m, f["dataset"], f["depth"], f["width"], f["epochs"])
                s.update(optimizer=optimizer, lr=lr, momentum=0.0, weight_decay=None)
                runs.append(request(f"{m}-{optimizer}-lr{lr:g}", f["dataset"], f["depth"], f["width"], f["epochs"], s))
    return runs


def figure7_runs():
    f = config["figure7"]
    if not _usable([f["dataset"]]):
        return []
    return [request(n, f["dataset"], f["depth"], f["width"], f["epochs"]) for n in f["methods"]]


def figure5_runs():
    """top: the methods' runs, monitored; bottom: wt_sv_power per power, many replicates, monitored."""
    f, sv = config["figure5"], config["figure5"]["sv_power"]
    top = []
    if _usable([f["dataset"]]):
        for n in f["methods"]:
            s = named_settings(n, f["dataset"], f["depth"], f["width"], f["epochs"])
            s["monitor_every"] = f["monitor_every"]
            top.append(request(n, f["dataset"], f["depth"], f["width"], f["epochs"], s))
    bottom = []
    if _usable([sv["dataset"]]):
        for power in sv["powers"]:
            s = run_settings("wt_sv_power", sv["dataset"], sv["depth"], sv["width"], sv["epochs"],
                             seeds=range(sv["replicates"]))
            s.update(batch_size=sv["batch_size"], lr=sv["lr"], weight_decay=sv["weight_decay"],
                     monitor_every=sv["monitor_every"])
            s["options"]["power"] = power
            bottom.append(request(f"wt_sv_power-p{power:g}", sv["dataset"], sv["depth"], sv["width"], sv["epochs"],
                                  s, kind="replicates"))
    return {"top": top, "bottom": bottom}


TABLE1_ROWS = ("adam", "augment", "augment_long")


def table1_runs():
    """Table 1 on the LocalMixer: rows (a) Adam, (b) with augmentation, (c) augmentation and 10x the epochs
    for the guessed methods (backprop's cell in (c) is its (b) run). Figure 8: row (a)'s runs with and
    without local losses."""
    t = config["table1"]
    if not _usable([t["dataset"]]):
        return {row: [] for row in (*TABLE1_ROWS, "figure8")}
    runs = {}
    for row in TABLE1_ROWS:
        runs[row] = []
        for name in t["methods"] + (t["figure8"] if row == "adam" and "figure8" in FIGURES_ON else []):
            method = config["variants"][name]["method"] if name in config["variants"] else name
            epochs = t["epochs"]["augment" if row == "augment_long" and method == "backprop" else row]
            s = named_settings(name, t["dataset"], 1, 1, epochs)  # depth, width: unused by a LocalMixer
            s.update(optimizer=t["optimizer"], lr=t["lr"], weight_decay=t["weight_decay"], batch_size=t["batch_size"],
                     augment=row != "adam")
            runs[row].append(request(f"{name}-{'aug' if row != 'adam' else 'adam'}", t["dataset"], 1, 1, epochs, s,
                                     mixer=t["mixer"]))
    runs["figure8"] = [r for r in runs["adam"]]
    runs["adam"] = runs["adam"][:len(t["methods"])]
    return runs


def jacobian_run():
    j = config["figure7"]["jacobian"]
    return request("backprop", j["dataset"], j["depth"], j["width"], j["epochs"]) if _usable([j["dataset"]]) else None


TABLE2_RUNS = table2_runs() if FIGURES_ON & {"table2", "figure3", "figure11"} else []
FIGURE4_RUNS = figure4_runs() if "figure4" in FIGURES_ON else {"middle": [], "right": []}
FIGURE6_RUNS = figure6_runs() if "figure6" in FIGURES_ON else []
FIGURE7_RUNS = figure7_runs() if "figure7" in FIGURES_ON else []
JACOBIAN_RUN = jacobian_run() if "figure7" in FIGURES_ON else None
FIGURE5_RUNS = figure5_runs() if "figure5" in FIGURES_ON else {"top": [], "bottom": []}
TABLE1_RUNS = (table1_runs() if {"table1", "figure8"} & FIGURES_ON
               else {row: [] for row in (*TABLE1_ROWS, "figure8")})
# Figure 5's replicate runs all have this many seeds (their rule's outputs list them)
REPLICATES = list(range(config["figure5"]["sv_power"]["replicates"]))


def settings_of(wildcards, kind="runs"):
    path = run_dir(wildcards.dataset, wildcards.arch, wildcards.method, wildcards.epochs, kind)
    if path not in RUNS:
        raise ConfigError(f"{path} is not a run of this configuration (preset {PRESET})")
    return RUNS[path]


def replicate_settings_of(wildcards):
    return settings_of(wildcards, "replicates")


def reference_input(kind="runs"):
    """A cosine-matched run with `cosine: auto` takes W^T's mean cosine from Figure 1's measurements (as its
    table averages them; the measurements, not the table, so that redrawing Figure 1 retrains nothing)."""
    return lambda wildcards: (figure1_measurements()
                              if "auto" in settings_of(wildcards, kind)["options"].values() else [])


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
    if s.get("monitor_every"):
        args.append(f"--monitor-every {s['monitor_every']}")
    if s.get("model", "mlp") != "mlp":
        args += [f"--model {s['model']}", *(f"--mixer-{k} {s[f'mixer_{k}']}" for k in ("blocks", "channels", "patch", "groups"))]
    if s.get("augment"):
        args.append("--augment")
    if s.get("weight_decay") is not None:
        args.append(f"--weight-decay {s['weight_decay']}")
    args += [f"--method-option {k}={v}" for k, v in sorted(s["options"].items())]
    return " ".join(args)


# ------------------------------------------------------------------ the train rules' outputs and params
def run_outputs(pattern, seeds):
    return {name: expand(f"{pattern}/seed{{seed}}/{name}.{ext}", seed=seeds, allow_missing=True)
            for name, ext in (("result", "json"), ("metrics", "csv"), ("monitor", "csv"), ("weights", "pt"))}


def run_of(output):
    return os.path.dirname(os.path.dirname(output.result[0]))


def train_params(kind):
    settings = lambda wildcards: settings_of(wildcards, kind)
    # keys as strings: Snakemake's parser reads a line starting `checkpoint=` as its keyword
    return {
        "args": lambda wildcards: train_args(settings(wildcards)),
        "out": lambda wildcards, output: os.path.join(run_of(output), "seed{seed}"),
        "checkpoint": lambda wildcards, output: checkpoint_path(run_of(output), settings(wildcards)),
        "history": lambda wildcards, output: os.path.join(run_of(output), "history.log"),
        "reference": lambda wildcards, input: (f"--reference-table {input.reference} --reference-from-epoch "
                                               f"{config['figure1']['average_from_epoch']}" if input.reference else ""),
        "code": training_code(kind),
    }


def table2_run_dirs():
    return [d for run in TABLE2_RUNS for d in seed_dirs(run)]


# ------------------------------------------------------------------ the code each job depends on
# A param, so that Snakemake re-runs a job when the library code it imports changes (comments and
# docstrings excepted), and not when other code does; see gradguess/lineage.py.
def training_code(kind="runs"):
    return lambda wildcards: lineage.training_digest(settings_of(wildcards, kind)["method"])


def code_of(*modules, methods=()):
    return lineage.code_digest(*(f"gradguess.{m}" for m in modules), *lineage.method_modules(*methods))


# ------------------------------------------------------------------ the trajectory Figure 1 measures
TRAJ = config["trajectory"]
if not _usable([TRAJ["dataset"]]):
    raise ConfigError(f"config key trajectory.dataset: {TRAJ['dataset']} has no usable source "
                      f"(data.sources.{TRAJ['dataset']})")
FIG1_EPOCHS = list(range(0, TRAJ["epochs"] + 1, config["figure1"]["every"]))
if FIG1_EPOCHS[-1] != TRAJ["epochs"]:
    FIG1_EPOCHS.append(TRAJ["epochs"])

# Every backprop trajectory some figure measures (weights after every epoch): directory -> settings.
TRAJECTORIES = {}


def trajectory_dir(dataset, depth, width, epochs, seed):
    return f"{TREE}/trajectories/{dataset}/d{depth}-w{width}/e{epochs}/seed{seed}"


def request_trajectory(dataset, depth, width, epochs, seed, optimizer, lr, batch_size):
    s = run_settings("backprop", dataset, depth, width, epochs, seeds=[seed])
    s.update(optimizer=optimizer, lr=lr, batch_size=batch_size)
    path = trajectory_dir(dataset, depth, width, epochs, seed)
    if TRAJECTORIES.setdefault(path, s) != s:
        raise ConfigError(f"two figures ask for the trajectory {path} with different settings: "
                          f"{TRAJECTORIES[path]} and {s}")
    return path


def trajectory_of(wildcards):
    path = trajectory_dir(wildcards.dataset, wildcards.depth, wildcards.width, wildcards.epochs, wildcards.seed)
    if path not in TRAJECTORIES:
        raise ConfigError(f"{path} is not a trajectory of this configuration (preset {PRESET})")
    return TRAJECTORIES[path]


TRAJ_DIR = request_trajectory(TRAJ["dataset"], TRAJ["depth"], TRAJ["width"], TRAJ["epochs"], TRAJ["seed"],
                              TRAJ["optimizer"], TRAJ["lr"], TRAJ["batch_size"])


def trajectory_settings():
    return TRAJECTORIES[TRAJ_DIR]


# Figure 2 (right) and Figure 10: a trajectory per (depth, width)
FIG2 = config["figure2"]
FIG2_USABLE = bool({"figure2", "figure10"} & FIGURES_ON) and bool(_usable([FIG2["dataset"]]))
FIG2_LEFT_USABLE = "figure2" in FIGURES_ON and bool(_usable([FIG2["left"]["dataset"]]))


def subspace_trajectories(widths):
    return {(d, w): request_trajectory(FIG2["dataset"], d, w, FIG2["epochs"], FIG2["seed"], FIG2["optimizer"],
                                       FIG2["lr"], FIG2["batch_size"])
            for w in widths for d in FIG2["depths"]} if FIG2_USABLE else {}


FIGURE2_TRAJECTORIES = subspace_trajectories([FIG2["width"]]) if "figure2" in FIGURES_ON else {}
FIGURE10_TRAJECTORIES = subspace_trajectories(config["figure10"]["widths"]) if "figure10" in FIGURES_ON else {}
if FIG2_USABLE and FIG2_LEFT_USABLE:
    FIGURE2_LEFT = request_trajectory(FIG2["left"]["dataset"], FIG2["left"]["depth"], FIG2["left"]["width"],
                                      FIG2["epochs"], FIG2["seed"], FIG2["optimizer"], FIG2["lr"], FIG2["batch_size"])
else:
    FIGURE2_LEFT = None


def subspace_csv(trajectory):
    """Where a trajectory's subspace measurements go: figure2/<dataset>/d<D>-w<W>/e<E>/seed<s>.csv"""
    return trajectory.replace(f"{TREE}/trajectories/", f"{TREE}/figure2/subspace/") + ".csv"


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


def comparison_settings():
    """The measurements' settings the comparison compares with the paper's (runs carry their own)."""
    f1, f4, j = config["figure1"], config["figure4"], config["figure7"]["jacobian"]
    return {
        "figure1": {**{k: TRAJ[k] for k in ("dataset", "depth", "width", "optimizer", "lr", "batch_size")},
                    "trajectory_epochs": TRAJ["epochs"], "batches_per_epoch": f1["batches"]},
        "averaging": {**{k: TRAJ[k] for k in ("dataset", "depth", "width", "batch_size")},
                      "snapshot_epoch": f4["snapshot_epoch"], "paper_mode": f4["paper_mode"]},
        "spectra": {k: j[k] for k in ("dataset", "depth", "width")},
        "table1": {"dataset": config["table1"]["dataset"]},
    }


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
        if s.get("model", "mlp") == "localmixer":
            return jobsize.mixer_minutes(s["dataset"], s["epochs"], s["batch_size"], s["method"],
                                         gpu=job(kind, "gpu") > 0, attempt=attempt, replicates=len(s["seeds"]))
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
        if s.get("model", "mlp") == "localmixer":
            minutes = jobsize.mixer_minutes(s["dataset"], s["epochs"], s["batch_size"], s["method"],
                                            gpu=job("train", "gpu") > 0, replicates=len(s["seeds"]))
        else:
            minutes = jobsize.train_minutes(s["dataset"], s["depth"], s["width"], s["epochs"], s["batch_size"],
                                            s["method"], s["options"], gpu=job("train", "gpu") > 0,
                                            replicates=len(s["seeds"]))
        return name if minutes < config["resources"]["short_job_minutes"] else None
    return group


# ------------------------------------------------------------------ paper figures
def figure_files(name, kinds):
    return [f"{FIGURES}/{name}.{k}" for k in kinds]


# each enabled figure's files (paper_readme lists them; `all` asks for the README)
PAPER_FIGURES = {name: files for name, files in {
    "figure1": figure_files("figure1", ("png", "pdf")),
    "figure1_table": figure_files("figure1_table", ("csv", "md", "tex")),
    "table2": figure_files("table2", ("csv", "md", "tex")),
    "figure3": figure_files("figure3", ("png", "pdf")),
    "figure11": figure_files("figure11", ("png", "pdf")),
    "figure4": figure_files("figure4", ("png", "pdf", "csv")),
    "figure6": figure_files("figure6", ("png", "pdf", "csv")) + [f"{FIGURES}/figure6_curves.csv"],
    "figure7": figure_files("figure7", ("png", "pdf", "csv")),
    "figure5": figure_files("figure5", ("png", "pdf", "csv")),
    "figure2": figure_files("figure2", ("png", "pdf", "csv")) + [f"{FIGURES}/figure2_images.csv"],
    "figure10": figure_files("figure10", ("png", "pdf", "csv")),
    "table1": figure_files("table1", ("csv", "md", "tex")),
    "figure8": figure_files("figure8", ("png", "pdf", "csv")),
}.items() if name.removesuffix("_table") in FIGURES_ON and (FIG2_USABLE or name not in ("figure2", "figure10"))
    and (FIGURE2_LEFT or name != "figure2")}


def run_files(runs, name="result.json"):
    """The per-seed files of some runs: what a figure rule's input lists."""
    return [f"{d}/{name}" for run in runs for d in seed_dirs(run)]


def trajectory_snapshot(epoch):
    return os.path.join(TRAJ_DIR, "snapshots", f"epoch_{epoch:04d}.pt")


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
    return " ".join(sorted({settings_digest(s) for s in [*RUNS.values(), *TRAJECTORIES.values()]}))
