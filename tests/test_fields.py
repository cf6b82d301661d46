"""One field list: RunSpec's fields (and their metadata) drive the plan's columns, the config's run settings, the
schema's settings, batching and the run tables; a figure's run settings are config data; the JVP modes are defined
once; the torch-free side (plan, schedule, jobsize, cost, the model facts) imports no torch."""
import re
import subprocess
import sys
from dataclasses import fields, replace

import pytest
import yaml

from gradguess import batching, catalog, methods
from gradguess import plan as gplan
from gradguess.spec import SCHEDULES, Part, RunSpec, columns, defaults, per_replicate, settings
from test_plan import build, load
from workflow_helpers import REPO


def test_config_yaml_states_runspecs_defaults():
    """The defaults are RunSpec's; config.yaml's `training:` states the same values, every setting of a run."""
    training = yaml.safe_load((REPO / "config.yaml").read_text())["training"]
    assert training == defaults()
    assert set(defaults()) == set(settings()) and "seeds" not in settings() and "epochs" not in settings()


def test_the_schemas_run_settings_are_runspecs():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    defs = schema["$defs"]
    assert set(defs["settings"]["properties"]) - {"options"} == set(settings())
    assert set(schema["properties"]["training"]["required"]) == set(settings())
    assert defs["schedule"]["enum"] == list(SCHEDULES) and defs["optimizer"]["enum"] == list(catalog.OPTIMIZERS)
    assert defs["mode"]["enum"] == list(catalog.MODES)


def test_the_plan_file_has_a_column_for_every_field():
    rows = build(load("presets/quick.yaml")).rows()
    named = {f.name for f in fields(RunSpec)} | {"arch", "options", "digest", "kind", "directory", "figures"}
    assert set(rows[0]) == named  # schedule and warmup_epochs were missing
    vit = [r for r in rows if r["model"] == "vit_prompt"]
    assert vit and {(r["schedule"], r["warmup_epochs"]) for r in vit} == {("cosine", 1)}


def test_a_figures_run_settings_are_config_data():
    """Values once fixed in plan.py (Figure 9's cosine schedule, Figure 6's momentum 0) come from the figure's
    section; a setting given per data set is taken for the run's data set."""
    cfg = load("presets/quick.yaml")
    cfg["figure9"].update(schedule="constant", warmup_epochs=0)
    cfg["figure6"].update(momentum=0.5, weight_decay=0.25)
    plan = build(cfg)
    assert {plan.runs[d].schedule for d in plan.lists["figure9"]} == {"constant"}
    assert {(plan.runs[d].momentum, plan.runs[d].weight_decay) for d in plan.lists["figure6"]} == {(0.5, 0.25)}
    assert gplan.section_settings(cfg, "figure9", "synthetic")["weight_decay"] == 1e-4
    assert gplan.section_settings(cfg, "figure5.sv_power", "synthetic") == {
        "lr": 1e-3, "batch_size": 128, "weight_decay": 0.0, "monitor_every": 20}


def test_figure1s_measurement_settings_are_its_trajectorys_run_settings():
    """What the comparison records of Figure 1's trajectory is the run settings the plan trains it with: the
    trajectory section's settings fields, not a list of their own (a setting the section gains is recorded too)."""
    cfg = load("presets/quick.yaml")
    cfg["trajectory"]["momentum"] = 0.5  # bypassing the schema, which gives the trajectory three settings today
    plan = build(cfg)
    trajectory = plan.trajectories[plan.lists["trajectory"]]
    recorded = gplan.measurement_settings(cfg)["figure1"]
    assert trajectory.momentum == 0.5
    assert {k: recorded[k] for k in ("optimizer", "lr", "momentum", "batch_size")} == {
        k: getattr(trajectory, k) for k in ("optimizer", "lr", "momentum", "batch_size")}
    assert set(gplan.measurement_settings(load("presets/quick.yaml"))["figure1"]) == {
        "dataset", "depth", "width", "optimizer", "lr", "batch_size", "trajectory_epochs", "batches_per_epoch"}


def test_a_run_its_model_cannot_train_is_refused_when_planned():
    """Table 1's LocalMixer takes one JVP mode: a config asking W^T's runs for per_layer fails at plan time,
    naming the figure and the option, instead of on a cluster node."""
    cfg = load("presets/quick.yaml")
    cfg["methods"]["wt"] = {"options": {"mode": "per_layer"}}
    with pytest.raises(gplan.PlanError, match="table1 .*wt_local.*method.options.mode"):
        build(cfg)


def test_batched_replicates_differ_only_in_the_fields_marked_per_replicate():
    spec = RunSpec(model=Part("mlp", {"depth": 2, "width": 8}), method=Part("wt"), dataset="synthetic",
                   seeds=(0, 1))
    assert set(per_replicate()) == set(batching.PER_REPLICATE) == {"seeds", "lr", "weight_decay", "monitor_every"}
    other = replace(spec, seeds=(2,), lr=1e-3, weight_decay=0.1, monitor_every=3, method=Part("wt", {"mode": "joint"}))
    assert batching.why_not([spec, other]) is None
    assert "schedule" in batching.why_not([spec, replace(spec, schedule="cosine")])


def test_the_run_tables_columns_come_from_the_fields(tmp_path):
    import json

    from gradguess.report.runs import settings as run_settings

    spec = RunSpec(model=Part("mlp", {"depth": 2, "width": 8}), method=Part("wt"), dataset="synthetic", epochs=3)
    record = spec.to_dict()
    del record["augment"]  # an older run's config.json: the field's default stands in
    (tmp_path / "config.json").write_text(json.dumps({"spec": record, "seed": 0, "weight_decay": 0.01}))
    row = run_settings(tmp_path)
    assert list(columns().values()) == ["optimizer", "lr", "momentum", "batch_size", "weight_decay",
                                        "planned_epochs", "augment"]
    assert {c: row[c] for c in columns().values()} == {"optimizer": "adamw", "lr": 1e-4, "momentum": 0.0,
                                                       "batch_size": 512, "weight_decay": 0.01,
                                                       "planned_epochs": 3, "augment": False}


def test_the_jvp_modes_are_defined_once():
    assert methods.MODES is catalog.MODES and methods.DEFAULT_MODE == catalog.DEFAULT_MODE == "joint"
    src = REPO / "src" / "gradguess"
    again = [f"{p.relative_to(src)}:{n}" for p in src.rglob("*.py") if p.name != "catalog.py"
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"^MODES = |^\s*def .*\bmode=\"joint\"|\bmodes?: [^=]+= *\(?\"joint\"|default=\[\"joint\"\]", line)]
    assert not again, again
    for name in methods.names():  # every method's mode defaults to the one default
        import inspect
        mode = inspect.signature(methods.method_class(name).__init__).parameters.get("mode")
        assert mode is None or mode.default == catalog.DEFAULT_MODE, name


TORCH_FREE = """
import sys
sys.modules["torch"] = None  # importing torch now fails
from gradguess import batching, calibration, config, cost, jobsize, models, plan, schedule, spec, submissions
from gradguess.models import facts
cfg = config.load(["config.yaml", "presets/quick.yaml"])
p = plan.build(cfg)
assert set(facts.names()) >= {"mlp", "localmixer", "vit_prompt"}
print(sum(jobsize.spec_minutes(s) + jobsize.spec_mem_mb(s) for s in p.runs.values()) > 0)
print(cost.markdown(cost.build(p, calibration.default(True), {})).count("|") > 0)
"""


def test_the_parse_time_side_imports_no_torch():
    """The Snakefile's modules (the plan, the schedule, job sizes, the cost, every model's facts) run without torch."""
    out = subprocess.run([sys.executable, "-c", TORCH_FREE], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "True"]
