"""The run specification and the plan, in Python (no Snakemake): every run and its directory, one run for two
figures, which runs a config change touches, and that the paper's config plans what the paper asks for."""
import json
import math
import re

import pytest
import yaml

from gradguess import config as gconfig
from gradguess import plan as gplan
from gradguess import schedule as gschedule
from gradguess.spec import Part, RunSpec, SpecError, arch_name
from workflow_helpers import REPO


def load(*presets, **overrides):
    cfg = gconfig.load([REPO / "config.yaml", *(REPO / p for p in presets)], REPO / gconfig.SCHEMA)
    return gconfig.merge(cfg, overrides)


def build(cfg):
    return gplan.build(cfg, source_exists=lambda p: True)


# ---- the run specification ----------------------------------------------------------------------------------

def test_a_spec_round_trips_through_json_and_validates_every_field():
    spec = RunSpec(model=Part("mlp", {"depth": 6, "width": 1024}), method=Part("wt", {"mode": "per_layer"}),
                   dataset="cifar10", epochs=1000, seeds=(0, 1, 2))
    assert RunSpec.from_json(spec.to_json()) == spec and spec.arch == "d6-w1024"
    assert spec.for_seed(1).seeds == (1,) and spec.for_seed(1).digest() == spec.digest()  # the seed is the directory
    assert spec.with_(lr=1e-3).digest() != spec.digest() and spec.with_(monitor_every=5).trains_like(spec)
    for bad, message in (({"dataset": "imagenet"}, "dataset: unknown 'imagenet'"),
                         ({"optimizer": "lbfgs"}, "optimizer: unknown 'lbfgs'"),
                         ({"model": {"name": "mlp", "options": {"depth": 6}}}, "lacks \\['width'\\]"),
                         ({"model": {"name": "resnet"}}, "model.name: unknown 'resnet'"),
                         ({"method": {"name": "magic"}}, "method.name: unknown 'magic'"),
                         ({"epochs": 0}, "epochs must be an integer >= 1"),
                         ({"seeds": [1, 1]}, "seeds must be distinct"),
                         ({"speed": 3}, "unknown run setting\\(s\\) speed")):
        with pytest.raises(SpecError, match=message):
            RunSpec.from_dict({**json.loads(spec.to_json()), **bad})


def test_architecture_names_are_defined_once():
    assert arch_name(Part("mlp", {"depth": 3, "width": 128})) == "d3-w128"
    assert arch_name(Part("localmixer", {"blocks": 4, "channels": 512, "patch": 4, "groups": 16})) == \
        "mixer-b4-c512-p4-g16"
    from gradguess.report.claims import PAPER_MIXER
    assert PAPER_MIXER == arch_name(Part("localmixer", {"blocks": 4, "channels": 512, "patch": 4, "groups": 16}))


# ---- the plan ------------------------------------------------------------------------------------------------

def test_the_paper_config_plans_the_papers_runs():
    plan = build(load())
    table2 = plan.runs_of("table2")
    assert len(table2) == 4 * 4 * 7  # data sets x architectures x methods, each all three seeds
    spec = plan.runs["results/paper/runs/cifar10/d6-w1024/wt/e1000"]
    assert (spec.epochs, spec.batch_size, spec.lr, spec.optimizer, spec.seeds) == (1000, 512, 1e-4, "adamw", (0, 1, 2))
    assert plan.runs["results/paper/runs/cifar10/d6-w1024/self_sharpening/e1000"].optimizer == "stable_adamw"
    sv = plan.runs_of("figure5", "bottom")
    assert len(sv) == 8 and all(plan.runs[r].seeds == tuple(range(64)) for r in sv)
    assert plan.runs[sv[0]].batch_size == 128 and plan.runs[sv[0]].weight_decay == 0.0
    mixer = plan.runs_of("table1", "augment_long")
    assert {plan.runs[r].epochs for r in mixer} == {500, 5000}  # backprop is not trained longer
    # ... but its cell is a run of its own, not row (b)'s (the paper prints 77.6 there against (b)'s 76.4)
    rerun = next(r for r in mixer if plan.runs[r].method.name == "backprop")
    again = next(r for r in plan.runs_of("table1", "augment") if plan.runs[r].method.name == "backprop")
    assert rerun != again and plan.runs[rerun].seeds == (3, 4, 5) and plan.runs[again].seeds == (0, 1, 2)
    assert plan.runs[rerun].with_(seeds=(0, 1, 2)) == plan.runs[again]  # row (b)'s setting otherwise
    assert all(plan.runs[r].augment for r in mixer) and not any(plan.runs[r].augment for r in plan.runs_of("table1",
                                                                                                           "adam"))
    assert plan.lists["trajectory"] == "results/paper/trajectories/cifar10/d6-w1024/e50/seed0"
    assert len(plan.lists["figure1_epochs"]) == 51


def test_a_run_two_figures_ask_for_is_one_run_monitored_as_often_as_either_asks():
    plan = build(load())
    shared = "results/paper/runs/cifar10/d6-w1024/wt/e1000"
    assert {"table2", "figure5", "figure4", "figure7"} <= plan.users[shared]
    assert plan.runs[shared].monitor_every == 10  # Figure 5 monitors; Table 2's run is the same run
    assert sum(r == shared for r in plan.runs_of("table2") + plan.runs_of("figure5", "top")) == 2
    # a variant whose settings are its method's defaults is the method's run
    assert "results/paper/runs/cifar10/d6-w1024/downstream/e1000" in plan.runs_of("figure7")


def test_one_setting_two_figures_ask_for_is_one_run():
    cfg = load()
    cfg["variants"]["downstream2"] = {"method": "downstream", "options": {"layers": 2}}
    cfg["figure7"]["methods"], cfg["figure4"]["middle"] = ["downstream2"], ["downstream2"]
    plan = build(cfg)  # Figures 4 and 7 share their dataset, architecture and epochs
    shared = "results/paper/runs/cifar10/d6-w1024/downstream2/e1000"
    assert plan.runs_of("figure4", "middle") == plan.runs_of("figure7") == [shared]
    assert {"figure4", "figure7"} <= plan.users[shared]
    cfg["methods"]["wt"] = {"lr": 1e-3}
    cfg["figure7"]["methods"], cfg["figure4"]["middle"] = ["wt"], ["wt"]
    plan = build(cfg)  # a method's own lr is its default: one run, named by the method
    wt = "results/paper/runs/cifar10/d6-w1024/wt/e1000"
    assert plan.runs_of("figure4", "middle") == plan.runs_of("figure7") == [wt] and plan.runs[wt].lr == 1e-3
    cfg2 = load()
    cfg2["figure6"].update(depth=6, width=1024, epochs=1000, methods=["wt"], lrs=[1e-4], optimizers=["adamw"])
    plan = build(cfg2)  # Figure 6's wt at the default lr/optimizer is Table 2's run, named by its method
    assert plan.runs_of("figure6") == ["results/paper/runs/cifar10/d6-w1024/wt/e1000"]


def _lrs_alike_to_six_digits(cfg):
    cfg["figure6"].update(lrs=[1.2345671e-3, 1.2345674e-3], methods=["wt"], optimizers=["sgd"])  # both lr0.00123457


def _table1_rows_at_the_defaults(cfg):
    """Rows (a) and (b) at the training defaults and equally long: both named by the method, augmented or not
    (Figure 8's W^T without local losses is row (a)'s W^T)."""
    cfg["training"].update({k: cfg["table1"][k] for k in ("optimizer", "lr", "weight_decay", "batch_size")})
    cfg["table1"].update(methods=["wt"], epochs={"adam": 500, "augment": 500, "augment_long": 5000})


def _figure2_trains_figure1s_trajectory_otherwise(cfg):
    cfg["figure2"].update(epochs=cfg["trajectory"]["epochs"], lr=1e-3)  # its 6x1024 is Figure 1's trajectory


def _trajectory_without_data(cfg):
    cfg["data"].update(sources={**cfg["data"]["sources"], "cifar10": "/nowhere/cifar10"}, skip_missing_sources=True)


@pytest.mark.parametrize("change,message", [
    (_lrs_alike_to_six_digits, "config key figure6 asks for results/paper/runs/cifar10/d3-w128/wt-sgd-lr0.00123457/"
                               "e1000 with two different settings"),
    (_table1_rows_at_the_defaults, "config keys figure8 and table1 ask for results/paper/runs/cifar10/"
                                   "mixer-b4-c512-p4-g16/wt/e500 with two different settings"),
    (_figure2_trains_figure1s_trajectory_otherwise, "config keys trajectory and figure2 ask for the trajectory "
                                                    "results/paper/trajectories/cifar10/d6-w1024/e50/seed0"),
    (_trajectory_without_data, "config key trajectory.dataset: cifar10 has no usable source (data.sources.cifar10"),
], ids=["one name, two lrs", "one name, with and without augmentation", "one trajectory, two lrs", "no data"])
def test_a_config_the_plan_cannot_make_is_refused_naming_its_key(change, message):
    """Valid configs (the schema passes them) whose runs cannot be planned: a run directory named alike for two
    settings, one trajectory at two settings, Figure 1's trajectory on a data set that is skipped."""
    cfg = load()
    change(cfg)
    gconfig.validate(cfg, REPO / gconfig.SCHEMA)
    with pytest.raises(gplan.PlanError, match=re.escape(message)):
        gplan.build(cfg, source_exists=lambda p: not p.startswith("/nowhere"))


def test_which_runs_a_setting_change_touches():
    base = build(load())
    lr = load()
    lr["methods"]["wt"] = {"lr": 3e-4}
    touched = gplan.diff(base, build(lr))
    assert touched["changed"] and all("/wt/" in d for d in touched["changed"]) and not touched["removed"]
    # Figure 6's W^T at lr 1e-4 was the method's default run; now it is a run of its own
    assert touched["added"] == ["results/paper/runs/cifar10/d3-w128/wt-adamw-lr0.0001/e1000"]
    epochs = load()
    epochs["table2"]["epochs"] = 10
    touched = gplan.diff(base, build(epochs))
    assert any("/e10" in d for d in touched["added"]) and not touched["changed"]
    resources = load()
    resources["resources"]["train"]["cpus"] = 16
    assert gplan.diff(base, build(resources)) == {"added": [], "removed": [], "changed": []}


def test_a_missing_data_source_is_named_or_skipped():
    cfg = load()
    cfg["data"]["sources"]["mnist"] = "/nowhere/mnist"
    with pytest.raises(gplan.PlanError, match="data.sources.mnist: directory /nowhere/mnist does not exist"):
        gplan.build(cfg)
    cfg["data"]["skip_missing_sources"] = True
    plan = gplan.build(cfg, source_exists=lambda p: p != "/nowhere/mnist")
    assert not any("/mnist/" in r for r in plan.runs) and "skipping dataset mnist" in plan.warnings[0]


def test_the_plan_file_spells_out_every_run(tmp_path):
    plan = build(load("presets/quick.yaml"))
    gplan.write_tsv(plan, tmp_path / "plan.tsv")
    lines = (tmp_path / "plan.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    assert {"directory", "method", "options", "lr", "epochs", "seeds", "digest", "figures"} <= set(header)
    assert len(lines) == 1 + len(plan.runs) + len(plan.trajectories)
    from gradguess.cli import main
    assert main(["plan", "--configfile", str(REPO / "config.yaml"), str(REPO / "presets" / "quick.yaml"),
                 "--out", str(tmp_path / "cli.tsv"), "--specs", str(tmp_path / "specs")]) == 0
    assert (tmp_path / "cli.tsv").read_text() == (tmp_path / "plan.tsv").read_text()
    one = next((tmp_path / "specs").rglob("*.json"))
    RunSpec.from_json(one.read_text())  # a spec `gradguess train --spec` takes


def test_a_bad_config_key_is_named():
    with pytest.raises(gconfig.ConfigError, match="config key methods.wt.options.mode"):
        cfg = yaml.safe_load((REPO / "config.yaml").read_text())
        cfg["methods"]["wt"] = {"options": {"mode": "perlayer"}}
        gconfig.validate(cfg, REPO / gconfig.SCHEMA)


@pytest.mark.parametrize("override,key", [
    ({"training": {"lr": -1.0}}, "config key training.lr"),
    ({"table2": {"methods": ["wt", "magic"]}}, "config key table2.methods.1: 'magic'"),
    ({"methods": {"downstream": {"options": {"depth": 2}}}}, "config key methods.downstream.options"),
    ({"resources": {"train": {"runtime": "soon"}}}, "config key resources.train.runtime"),
])
def test_every_bad_key_is_named(override, key):
    cfg = gconfig.merge(yaml.safe_load((REPO / "config.yaml").read_text()), override)
    with pytest.raises(gconfig.ConfigError, match=key.replace(".", "\\.").replace("[", "\\[")):
        gconfig.validate(cfg, REPO / gconfig.SCHEMA)


def test_a_figure_reuses_the_runs_another_figure_already_has():
    """One run, one directory: Figure 7's runs on 6x1024 CIFAR-10 are Table 2's, bar the new variants."""
    alone = build({**load(), "figures": ["table2"]})
    both = build({**load(), "figures": ["table2", "figure7"]})
    assert set(alone.runs) <= set(both.runs) and len(alone.runs) == 4 * 4 * 7
    assert set(both.runs) - set(alone.runs) == {"results/paper/runs/cifar10/d6-w1024/downstream2/e1000",
                                                "results/paper/runs/cifar10/d6-w1024/downstream3/e1000",
                                                "results/paper/runs/cifar10/d6-w256/backprop/e10"}


def test_the_laptop_preset_plans_the_papers_settings_on_real_data():
    plan = build(load("presets/laptop.yaml"))
    assert plan.lists["trajectory"] == "results/laptop/trajectories/cifar10/d6-w1024/e3/seed0"
    assert "results/laptop/trajectories/cifar10/d3-w1024/e5/seed0" in plan.trajectories
    assert plan.lists["jacobian"] == "results/laptop/runs/cifar10/d6-w256/backprop/e10"
    for arch in ("d3-w128", "d6-w128"):
        for method in ("directional", "wt", "backprop"):
            spec = plan.runs[f"results/laptop/runs/mnist/{arch}/{method}/e5"]
            assert spec.lr == 1e-4 and spec.batch_size == 512  # the paper's
    # no panel of runs that would stay at chance at the paper's lr on a laptop
    assert not plan.runs_of("figure4", "middle") and not plan.runs_of("figure7") and "figure5" not in plan.figures


def test_the_full_config_plans_every_figures_runs():
    plan = build(load())
    counts = {name: len(plan.runs_of(name)) for name in ("table2", "figure6", "figure7")}
    assert counts == {"table2": 112, "figure6": 3 * 4 * 7, "figure7": 8}
    # Table 1: 4 methods x 3 rows (row (c)'s backprop a run of its own), Figure 8: 3 more
    assert len(plan.runs) == 112 + 5 + (3 * 4 * 7 - 7) + 2 + 1 + 12 + 3 + 8  # every run once
    assert len(plan.trajectories) == 11  # Figure 1's, 3 depths x 3 widths, Figure 2 left (MNIST)


def test_the_paper_config_plans_no_job_above_the_time_limit_even_on_its_last_retry():
    cfg = load()
    plan = build(cfg)
    limit = 60 * cfg["execution"]["max_job_hours"]
    schedule = gschedule.schedule(plan, limit, gpu=True)
    split = {d: n for d, n in schedule.items() if n}
    # Table 1's 5000-epoch LocalMixer runs (about 22 days for three seeds) are split by seed, then into chunks
    assert {d.rsplit("/", 2)[1] for d, n in split.items() if n >= 3} == {"ren_et_al-aug", "mixing_local-aug",
                                                                            "wt_local-aug"}
    for attempt in (1, 2, 3):
        for d, n in schedule.items():
            spec = plan.runs[d]
            minutes = gschedule.run_minutes(spec, True, attempt) if n == 0 else gschedule.chunk_minutes(spec, n, True,
                                                                                                 attempt)
            assert minutes <= limit, (d, n, attempt, minutes)
    ends = gschedule.chunk_ends(5000, split["results/paper/runs/cifar10/mixer-b4-c512-p4-g16/wt_local-aug/e5000"])
    assert ends[-1] == 5000 and all(b > a for a, b in zip(ends, ends[1:]))


def test_chunks_cover_every_epoch_once():
    for epochs, chunks in ((3, 3), (10, 3), (5000, 15), (7, 1)):
        ends = gschedule.chunk_ends(epochs, chunks)
        assert len(ends) == chunks and ends[-1] == epochs and sorted(set(ends)) == ends


def test_the_cosine_schedule_is_jia_et_als_warmup_then_half_cosine():
    from gradguess.spec import lr_factor

    factors = [lr_factor("cosine", e, 100, 10) for e in range(100)]
    assert factors[0] == 0.0 and factors[5] == pytest.approx(0.5) and factors[10] == pytest.approx(1.0)
    assert factors[55] == pytest.approx(0.5) and factors[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 89 / 90)))
    assert all(b <= a for a, b in zip(factors[10:], factors[11:]))  # decays after the warmup
    assert {lr_factor("constant", e, 100, 0) for e in range(100)} == {1.0}
    with pytest.raises(SpecError, match="warmup_epochs"):
        RunSpec(model=Part("mlp", {"depth": 2, "width": 4}), method=Part("wt"), dataset="synthetic",
                warmup_epochs=3).validate()


def test_a_seed_is_finished_only_at_its_own_specification_and_training_code(tmp_path):
    """A finished seed needs no chunks (the pipeline then plans no job for it whatever the job limit); one
    trained at another setting, by other code, or not to its end is not finished."""
    from gradguess import lineage

    spec = RunSpec(model=Part("mlp", {"depth": 2, "width": 8}), method=Part("wt"), dataset="synthetic", epochs=3,
                   seeds=(0, 1))
    seed_dir = tmp_path / "seed1"
    seed_dir.mkdir()
    assert not gschedule.finished(seed_dir, spec, 1)
    (seed_dir / "config.json").write_text(json.dumps({"spec": spec.for_seed(1).to_dict()}))
    digest = lineage.training_digest("wt", "mlp")
    (seed_dir / "provenance.json").write_text(json.dumps({"code_digest": digest}))
    assert not gschedule.finished(seed_dir, spec, 1)  # no result.json: stopped before its end
    (seed_dir / "result.json").write_text("{}")
    assert gschedule.finished(seed_dir, spec, 1)
    assert not gschedule.finished(seed_dir, spec, 0)
    assert not gschedule.finished(seed_dir, spec.with_(lr=1e-3), 1)
    (seed_dir / "provenance.json").write_text(json.dumps({"code_digest": "other"}))
    assert not gschedule.finished(seed_dir, spec, 1)
    (seed_dir / "config.json").write_text("{not json")
    assert not gschedule.finished(seed_dir, spec, 1)
    # an option planned as "auto" is whatever the job resolved it to
    auto = spec.with_(method=Part("cosine_matched_directional", {"cosine": "auto"}))
    resolved = auto.for_seed(1).to_dict()
    resolved["method"]["options"]["cosine"] = 0.061
    (seed_dir / "config.json").write_text(json.dumps({"spec": resolved}))
    (seed_dir / "provenance.json").write_text(json.dumps(
        {"code_digest": lineage.training_digest("cosine_matched_directional", "mlp")}))
    assert gschedule.finished(seed_dir, auto, 1)
    assert not gschedule.finished(seed_dir, auto.with_(lr=1e-3), 1)


# ---- Figure 9: prompt tuning --------------------------------------------------------------------------------

def prompt_config(**figure9):
    cfg = load()
    cfg["figure9"].update(figure9)
    for d in ("cub200", "stanford_cars", "stanford_dogs"):
        cfg["data"]["sources"][d] = f"/data/{d}"
    return cfg


def test_figure9_is_skipped_with_a_reason_without_weights_or_data():
    plan = build(load())  # config.yaml: no weights file named, no source for the three sets
    assert plan.lists["figure9"] == [] and "figure9" not in gplan.artifacts(plan)
    assert any("figure9.weights" in w for w in plan.warnings)
    cfg = prompt_config(weights="/w/ViT-B_16.npz")
    cfg["data"]["sources"]["stanford_dogs"] = None
    plan = build(cfg)
    assert any("data.sources.stanford_dogs" in w for w in plan.warnings)
    assert {plan.runs[r].dataset for r in plan.lists["figure9"]} == {"cub200", "stanford_cars"}


def test_figure9_plans_jia_et_als_recipe_for_every_method_and_lr():
    plan = build(prompt_config(weights="/w/ViT-B_16.npz"))
    runs = [plan.runs[r] for r in plan.lists["figure9"]]
    assert len(runs) == 3 * 3 * 4  # data sets x methods x lrs
    cub = [s for s in runs if s.dataset == "cub200" and s.method.name == "wt"]
    assert sorted(s.lr for s in cub) == [1e-4, 1e-3, 1e-2, 0.1]
    s = cub[0]
    assert (s.optimizer, s.momentum, s.batch_size, s.epochs, s.schedule, s.warmup_epochs, s.weight_decay) == \
        ("sgd", 0.9, 128, 100, "cosine", 10, 0.01)
    assert s.model.name == "vit_prompt" and s.arch == "vit-p16-w768-b12-h12-n5"
    assert s.model.options["weights"] == plan.lists["vit_weights"] == \
        "results/paper/weights/vit-p16-w768-b12-h12-n5.safetensors"  # the converted copy, made by a rule
    assert plan.lists["vit_image"] == [3, 224, 224]
    schedule = gschedule.schedule(plan, 60 * 24, gpu=True)  # a 24-hour partition: long runs go in chunks
    for d in plan.lists["figure9"]:
        n = schedule[d]
        minutes = gschedule.run_minutes(plan.runs[d], True, 3) if n == 0 else gschedule.chunk_minutes(plan.runs[d], n,
                                                                                                  True, 3)
        assert minutes <= 60 * 24, (d, n, minutes)


def test_figure9_refuses_data_sets_of_two_image_sizes_and_a_missing_weight_decay():
    with pytest.raises(gplan.PlanError, match="figure9.datasets"):
        build(prompt_config(weights="random", datasets=["cub200", "synthetic"],
                            weight_decay={"cub200": 0.01, "synthetic": 0.0}))
    with pytest.raises(gplan.PlanError, match="figure9.weight_decay: no value for data set stanford_dogs"):
        build(prompt_config(weights="random", weight_decay={"cub200": 0.01, "stanford_cars": 0.0}))


def test_batching_lets_a_long_many_seed_run_stay_one_job_and_sizes_it_batched():
    from gradguess import calibration as cal

    plan = build(load())
    run = next(d for d in plan.runs if "/replicates/" in d)  # Figure 5: 64 seeds of a 3x128 MLP
    spec, gpu = plan.runs[run], True
    off = {"devices": {"gpu": False}}
    assert gschedule.batched(spec, None, gpu) and not gschedule.batched(spec, off, gpu)
    assert not gschedule.batched(spec, None, False)  # the CPU: off by default
    batched, alone = gschedule.run_minutes(spec, gpu, settings={}), gschedule.run_minutes(spec, gpu, settings=off)
    speedup = cal.default(True).step("mlp", spec.model.options, spec.dataset, "backprop", spec.batch_size,
                                     len(spec.seeds))
    assert speedup.seconds > 0 and batched < alone
    assert gschedule.schedule(plan, 60 * 24)[run] == 0


def test_short_jobs_of_every_train_rule_share_a_group_submission():
    """train_replicates is `use rule train` (train.smk): it inherits the short group, so the submission count
    counts its short jobs grouped too; a long job and a rule outside the group stay alone."""
    from gradguess import submissions

    def row(rule, minutes):
        return {"rule": rule, "run": rule, "seeds": "", "chunk": "", "epochs": "", "minutes": minutes,
                "mem_mb": 1000, "gpus": 1}

    rows = [row("train", 5), row("train_replicates", 5), row("train_replicates", 500), row("train_chunk", 5)]
    out = submissions.submissions(rows, short_minutes=30, group_size=8, max_minutes=1440)
    grouped = [r for r in out if r["rule"].startswith("group")]
    assert len(grouped) == 1 and grouped[0]["jobs"] == 2
    assert sorted((r["rule"], r["minutes"]) for r in out if not r["rule"].startswith("group")) == [
        ("train_chunk", 5), ("train_replicates", 500)]
