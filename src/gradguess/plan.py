"""The experiment plan: a validated config in; every training run and trajectory (its full specification and its
directory) and every figure's runs out. Torch-free: the Snakefile wires its rules from a Plan, `gradguess plan`
prints one, and `results/<preset>/plan.tsv` records it for a user to read before submitting anything.

A run is named by what the figures ask for: <tree>/runs/<dataset>/<arch>/<name>/e<epochs>. Its name is its method's
when its settings are that method's defaults, else the variant's or figure's name for it; a run two figures ask for
is one run with one directory (one of them monitored: monitored, as often as either asks). Figure 5's many-seed
runs live under replicates/, trajectories (weights after every epoch) under trajectories/.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from gradguess.catalog import SHAPES
from gradguess.models import facts
from gradguess.spec import Part, RunSpec, SpecError, arch_name, settings

TABLE1_ROWS = ("adam", "augment", "augment_long")


class PlanError(ValueError):
    """The configuration asks for something the plan cannot make; the message names the config key."""


@dataclass
class Plan:
    config: dict
    preset: str
    tree: str
    figures_dir: str
    data_root: str
    figures: set[str]
    runs: dict[str, RunSpec] = field(default_factory=dict)          # directory -> spec (runs/, replicates/)
    trajectories: dict[str, RunSpec] = field(default_factory=dict)  # directory (one seed) -> spec
    users: dict[str, set[str]] = field(default_factory=dict)        # directory -> the figures that read it
    lists: dict[str, object] = field(default_factory=dict)          # each figure's run (or trajectory) directories
    warnings: list[str] = field(default_factory=list)

    # ---- what the figures ask for
    def request(self, figure: str, name: str, spec: RunSpec, kind: str = "runs") -> str:
        """Register a run and return its directory. A spec equal to its method's defaults is named by the method."""
        _validate(figure, name, spec)
        if spec.trains_like(self.defaults(spec)):
            name = spec.method.name
        path = f"{self.tree}/{kind}/{spec.dataset}/{spec.arch}/{name}/e{spec.epochs}"
        known = self.runs.get(path)
        if known is not None and not known.trains_like(spec):
            keys = sorted(self.users[path] | {figure})
            who = f"config key {keys[0]} asks" if len(keys) == 1 else f"config keys {' and '.join(keys)} ask"
            raise PlanError(f"{who} for {path} with two different settings, {known.to_json()} and "
                            f"{spec.to_json()}: one directory holds one run")
        if known is not None:
            intervals = [m for m in (known.monitor_every, spec.monitor_every) if m]
            spec = replace(known, monitor_every=min(intervals) if intervals else 0)
        self.runs[path] = spec
        self.users.setdefault(path, set()).add(figure)
        return path

    def trajectory(self, figure: str, section: str, dataset: str, depth: int, width: int, epochs: int,
                   seed: int) -> str:
        """A backprop run whose weights after every epoch are kept, with the run settings of config key `section`."""
        spec = self.spec("backprop", dataset, mlp(depth, width), epochs, [seed], section)
        _validate(figure, "trajectory", spec)
        path = f"{self.tree}/trajectories/{dataset}/{spec.arch}/e{epochs}/seed{seed}"
        if self.trajectories.setdefault(path, spec) != spec:
            raise PlanError(f"config keys trajectory and figure2 ask for the trajectory {path} with different "
                            f"settings: {self.trajectories[path].to_json()} and {spec.to_json()}")
        self.users.setdefault(path, set()).add(figure)
        return path

    # ---- run settings: training defaults, then the method's, a variant's, the figure's section's, then the cell's
    def spec(self, name: str, dataset: str, model: Part, epochs: int, seeds=None, section: str | None = None,
             options: dict | None = None, **cell) -> RunSpec:
        """The run of a method or a variant (a method with overrides, under `variants`), with the run settings of
        config key `section` (a figure's: dotted, e.g. figure5.sv_power) and then this cell's (an lr of a grid);
        `options` add to the method's."""
        c = self.config
        variant = dict(c["variants"].get(name, {}))
        method = variant.pop("method", name)
        given, opts = {}, {}
        for layer in (c["training"], c["methods"].get(method, {}), variant):
            layer = dict(layer)
            opts.update(layer.pop("options", {}))
            given.update(layer)
        if section is not None:
            given.update(section_settings(c, section, dataset))
        given.update(cell)
        return RunSpec(model=model, method=Part(method, {**opts, **(options or {})}), dataset=dataset,
                       epochs=int(epochs), seeds=tuple(int(x) for x in (c["seeds"] if seeds is None else seeds)),
                       **given)

    def defaults(self, spec: RunSpec) -> RunSpec:
        return replace(self.spec(spec.method.name, spec.dataset, spec.model, spec.epochs, spec.seeds),
                       augment=spec.augment)

    # ---- reading it
    def runs_of(self, name: str, part: str | None = None) -> list[str]:
        value = self.lists.get(name, [])
        return list(value.get(part, []) if isinstance(value, dict) else value)

    def needs_reference(self, path: str) -> bool:
        """A cosine-matched run whose cosine is 'auto' takes it from Figure 1's measurements."""
        return "auto" in self.runs[path].method.options.values()

    def rows(self) -> list[dict]:
        """One row per run and trajectory, its whole specification spelled out (plan.tsv): a column per RunSpec
        field, the model's as its name and architecture, the method's as its name and options."""
        out = []
        for kind, table in (("run", self.runs), ("trajectory", self.trajectories)):
            for path, spec in sorted(table.items()):
                fields = {**spec.to_dict(), "model": spec.model.name, "method": spec.method.name,
                          "seeds": " ".join(map(str, spec.seeds))}
                parts = {"model": {"arch": spec.arch},
                         "method": {"options": ",".join(f"{k}={v}" for k, v in sorted(spec.method.options.items()))}}
                row = {"kind": kind, "directory": path, "figures": " ".join(sorted(self.users.get(path, ()))),
                       "dataset": spec.dataset}  # first, as in the directory
                for name, value in fields.items():
                    row.update({name: value, **parts.get(name, {})})
                out.append({**row, "digest": spec.digest()})
        return out


def _validate(figure: str, name: str, spec: RunSpec) -> None:
    try:
        spec.validate()
    except SpecError as exc:
        raise PlanError(f"{figure} asks for a run ({name}) its model or method cannot train: {exc}") from None


def section_settings(config: dict, section: str, dataset: str) -> dict:
    """The run settings (RunSpec's settings fields) config key `section` gives, for a run on `dataset`: a setting
    given as a mapping is given per data set (figure9.weight_decay)."""
    values = config
    for key in section.split("."):
        values = values[key]
    out = {}
    for name in settings():
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, dict):
            if dataset not in value:
                raise PlanError(f"config key {section}.{name}: no value for data set {dataset}")
            value = value[dataset]
        out[name] = value
    return out


def mlp(depth, width) -> Part:
    return Part("mlp", {"depth": int(depth), "width": int(width)})


def mixer(sizes: dict) -> Part:
    return Part("localmixer", {k: int(sizes[k]) for k in facts.get("localmixer").required})


# ---- the figures, each asking for its runs -----------------------------------------------------------------

def _table2(plan: Plan, usable):
    t = plan.config["table2"]
    plan.lists["table2"] = [plan.request("table2", m, plan.spec(m, d, mlp(a["depth"], a["width"]), t["epochs"],
                                                                section="table2"))
                            for d in usable(t["datasets"]) for a in t["architectures"] for m in t["methods"]]


def _figure4(plan: Plan, usable):
    f = plan.config["figure4"]
    model = mlp(f["depth"], f["width"])
    plan.lists["figure4"] = {panel: [plan.request("figure4", n, plan.spec(n, f["dataset"], model, f["epochs"],
                                                                          section="figure4")) for n in f[panel]]
                             for panel in ("middle", "right")} if usable([f["dataset"]]) else {}


def _figure6(plan: Plan, usable):
    f = plan.config["figure6"]
    runs = []
    if usable([f["dataset"]]):
        for optimizer in f["optimizers"]:
            for lr in f["lrs"]:
                for m in f["methods"]:
                    spec = plan.spec(m, f["dataset"], mlp(f["depth"], f["width"]), f["epochs"], section="figure6",
                                     optimizer=optimizer, lr=lr)
                    runs.append(plan.request("figure6", f"{m}-{optimizer}-lr{lr:g}", spec))
    plan.lists["figure6"] = runs


def _figure7(plan: Plan, usable):
    f, j = plan.config["figure7"], plan.config["figure7"]["jacobian"]
    plan.lists["figure7"] = [plan.request("figure7", n, plan.spec(n, f["dataset"], mlp(f["depth"], f["width"]),
                                                                  f["epochs"], section="figure7"))
                             for n in f["methods"]] if usable([f["dataset"]]) else []
    plan.lists["jacobian"] = plan.request("figure7", "backprop", plan.spec(
        "backprop", j["dataset"], mlp(j["depth"], j["width"]), j["epochs"], section="figure7.jacobian")) \
        if usable([j["dataset"]]) else None


def _figure5(plan: Plan, usable):
    f, sv = plan.config["figure5"], plan.config["figure5"]["sv_power"]
    top, bottom = [], []
    if usable([f["dataset"]]):
        for n in f["methods"]:
            spec = plan.spec(n, f["dataset"], mlp(f["depth"], f["width"]), f["epochs"], section="figure5")
            top.append(plan.request("figure5", n, spec))
    if usable([sv["dataset"]]):
        for power in sv["powers"]:
            spec = plan.spec("wt_sv_power", sv["dataset"], mlp(sv["depth"], sv["width"]), sv["epochs"],
                             range(sv["replicates"]), section="figure5.sv_power", options={"power": power})
            bottom.append(plan.request("figure5", f"wt_sv_power-p{power:g}", spec, kind="replicates"))
    plan.lists["figure5"] = {"top": top, "bottom": bottom}


def _table1(plan: Plan, usable):
    """Rows: Adam; augmentation; augmentation with the guessed methods 10x as long. Backprop is not trained longer
    ("all the non-backprop methods train for 10x longer"), yet the paper prints another number for it there: its cell
    is a run of its own, the 500-epoch setting with the next seeds (so it cannot be row (b)'s run). Figure 8: the
    Adam row's runs with and without local losses."""
    t = plan.config["table1"]
    runs = {row: [] for row in (*TABLE1_ROWS, "figure8")}
    if usable([t["dataset"]]):
        for row in TABLE1_ROWS:
            extra = t["figure8"] if row == "adam" and "figure8" in plan.figures else []
            for name in t["methods"] + extra:
                method = plan.config["variants"][name]["method"] if name in plan.config["variants"] else name
                rerun = row == "augment_long" and method == "backprop"
                epochs = t["epochs"]["augment" if rerun else row]
                spec = plan.spec(name, t["dataset"], mixer(t["mixer"]), epochs, section="table1",
                                 augment=row != "adam")
                if rerun:
                    spec = replace(spec, seeds=tuple(max(spec.seeds) + 1 + s - min(spec.seeds) for s in spec.seeds))
                label = {"adam": "adam", "augment": "aug"}.get(row, "aug-rerun" if rerun else "aug")
                figure = "figure8" if name in extra else "table1"
                runs[row].append(plan.request(figure, f"{name}-{label}", spec))
        runs["figure8"] = list(runs["adam"])
        runs["adam"] = runs["adam"][:len(t["methods"])]
    plan.lists["table1"] = runs


PROMPT_SETS = ("cub200", "stanford_cars", "stanford_dogs")  # no download exists: a source directory or nothing


def vit_weights_file(plan: Plan) -> str:
    """Where the prepare_weights rule writes the backbone every Figure 9 run loads (one per architecture)."""
    f = plan.config["figure9"]
    random = "-random" if f["weights"] == "random" else ""
    return f"{plan.tree}/weights/{arch_name(Part('vit_prompt', f['vit']))}{random}.safetensors"


def _figure9(plan: Plan, usable):
    """Every method at every lr of the grid on each data set; the figure shows each method's best (by train
    accuracy). Skipped, with a warning, without the weights file or a data set's source (neither downloads)."""
    f, sources = plan.config["figure9"], plan.config["data"]["sources"]
    plan.lists["figure9"], plan.lists["vit_weights"] = [], None
    if f["weights"] is None:
        plan.warnings.append("skipping Figure 9: figure9.weights names no ViT-B/16 weights file "
                             "(docs/data.md#prompt-tuning-figure-9 says where to get one)")
        return
    unset = [d for d in f["datasets"] if d in PROMPT_SETS and not sources.get(d)]
    for d in unset:
        plan.warnings.append(f"skipping Figure 9's {d}: data.sources.{d} is not set (it cannot be downloaded: "
                             "docs/data.md#data-sources)")
    datasets = usable([d for d in f["datasets"] if d not in unset])
    if not datasets:
        return
    shapes = {SHAPES[d] for d in datasets}
    if len(shapes) > 1:
        raise PlanError(f"config key figure9.datasets: {datasets} have different image sizes {sorted(shapes)}; one "
                        "backbone's position embeddings fit one size")
    plan.lists["vit_weights"], plan.lists["vit_image"] = vit_weights_file(plan), list(shapes.pop())
    model = Part("vit_prompt", {**f["vit"], "weights": plan.lists["vit_weights"]})  # the schema names its sizes
    for d in datasets:
        for m in f["methods"]:
            for lr in f["lrs"]:
                spec = plan.spec(m, d, model, f["epochs"], f["seeds"], section="figure9", lr=lr)
                plan.lists["figure9"].append(plan.request("figure9", f"{m}-lr{lr:g}", spec))


def _trajectories(plan: Plan, usable):
    c = plan.config
    traj = c["trajectory"]
    if not usable([traj["dataset"]]):
        raise PlanError(f"config key trajectory.dataset: {traj['dataset']} has no usable source "
                        f"(data.sources.{traj['dataset']})")
    plan.lists["trajectory"] = plan.trajectory("figure1", "trajectory", traj["dataset"], traj["depth"], traj["width"],
                                               traj["epochs"], traj["seed"])
    every = c["figure1"]["every"]
    epochs = list(range(0, traj["epochs"] + 1, every))
    plan.lists["figure1_epochs"] = epochs if epochs[-1] == traj["epochs"] else epochs + [traj["epochs"]]
    f2 = c["figure2"]
    usable2 = bool({"figure2", "figure10"} & plan.figures) and bool(usable([f2["dataset"]]))
    left = "figure2" in plan.figures and bool(usable([f2["left"]["dataset"]]))

    def subspace(figure, widths):
        return {f"{d}x{w}": plan.trajectory(figure, "figure2", f2["dataset"], d, w, f2["epochs"], f2["seed"])
                for w in widths for d in f2["depths"]} if usable2 else {}
    plan.lists["figure2"] = subspace("figure2", [f2["width"]]) if "figure2" in plan.figures else {}
    plan.lists["figure10"] = subspace("figure10", c["figure10"]["widths"]) if "figure10" in plan.figures else {}
    plan.lists["figure2_left"] = plan.trajectory(
        "figure2", "figure2", f2["left"]["dataset"], f2["left"]["depth"], f2["left"]["width"], f2["epochs"],
        f2["seed"]) if usable2 and left else None


FIGURES: dict[str, tuple[Callable, set[str]]] = {  # what plans each figure's runs, and the figures that need them
    "table2": (_table2, {"table2", "figure3", "figure11"}), "figure4": (_figure4, {"figure4"}),
    "figure6": (_figure6, {"figure6"}), "figure7": (_figure7, {"figure7"}), "figure5": (_figure5, {"figure5"}),
    "table1": (_table1, {"table1", "figure8"}), "figure9": (_figure9, {"figure9"}),
}


def build(config: dict, source_exists: Callable[[str], bool] = lambda p: Path(p).is_dir()) -> Plan:
    """The plan of a validated config (config.yaml plus any --configfile presets)."""
    config = copy.deepcopy(config)
    preset = config["preset"]
    tree = f"{config['results']}/{preset}"
    plan = Plan(config, preset, tree, f"paper_figures/{preset}", config["data"]["root"] or f"{tree}/data",
                set(config["figures"]))
    usable = _usable(config, plan.warnings, source_exists)
    for name, (make, needed_by) in FIGURES.items():
        if needed_by & plan.figures:
            make(plan, usable)
    _trajectories(plan, usable)
    return plan


def _usable(config, warnings: list[str], source_exists):
    def usable(datasets):
        kept = []
        for d in datasets:
            source = config["data"]["sources"].get(d)
            if d == "synthetic" or source is None or source_exists(source):
                kept.append(d)
            elif config["data"]["skip_missing_sources"]:
                warnings.append(f"skipping dataset {d}: its source directory {source} (data.sources.{d}) does not "
                                "exist")
            else:
                raise PlanError(f"config key data.sources.{d}: directory {source} does not exist")
        return kept
    return usable


def write_tsv(plan: Plan, path) -> None:
    from gradguess import io

    rows = plan.rows()
    io.write_csv(path, rows, list(rows[0]) if rows else ["kind", "directory"], delimiter="\t")


def diff(old: Plan, new: Plan) -> dict[str, list[str]]:
    """Which runs a change of config touches: added, removed, and changed (the same directory, another spec)."""
    both = {**old.runs, **old.trajectories}, {**new.runs, **new.trajectories}
    return {"added": sorted(set(both[1]) - set(both[0])), "removed": sorted(set(both[0]) - set(both[1])),
            "changed": sorted(p for p in set(both[0]) & set(both[1]) if both[0][p] != both[1][p])}


def measurement_settings(config: dict) -> dict:
    """The settings of the measurements the comparison compares with the paper's (runs carry their own)."""
    traj, f1, f4, j = config["trajectory"], config["figure1"], config["figure4"], config["figure7"]["jacobian"]
    return {
        "figure1": {**{k: traj[k] for k in ("dataset", "depth", "width")},
                    **section_settings(config, "trajectory", traj["dataset"]),  # as Plan.trajectory trains it
                    "trajectory_epochs": traj["epochs"], "batches_per_epoch": f1["batches"]},
        "averaging": {**{k: traj[k] for k in ("dataset", "depth", "width", "batch_size")},
                      "snapshot_epoch": f4["snapshot_epoch"], "paper_mode": f4["paper_mode"]},
        "spectra": {k: j[k] for k in ("dataset", "depth", "width")},
        "table1": {"dataset": config["table1"]["dataset"]},
    }


def artifacts(plan: Plan) -> dict[str, list[str]]:
    """Each enabled figure's and table's files under paper_figures/<preset>/ (named in report/artifacts.py; a
    subspace figure only where its trajectories could be planned)."""
    from gradguess.report.artifacts import ARTIFACTS

    out = {}
    for name, artifact in ARTIFACTS.items():
        if name not in plan.figures:
            continue  # not asked for (the comparison is no figure: it compares them)
        if name in ("figure2", "figure10") and not plan.lists.get(name):
            continue
        if name == "figure2" and not plan.lists.get("figure2_left"):
            continue
        if name == "figure9" and not plan.lists.get("figure9"):
            continue  # skipped: no weights or no data (a plan warning says which)
        out[name] = [f"{plan.figures_dir}/{f}" for f in artifact.files.values()]
    return out
