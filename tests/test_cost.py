"""What a configuration costs (gradguess.cost, `gradguess cost`) and the calibration it is computed from
(gradguess.calibration): sums, agreement with `gradguess plan --jobs`, scaling, extrapolation, errors."""
import json
import math
import re

import pytest
import yaml

from gradguess import calibration as cal
from gradguess import cli, cost, jobsize, submissions
from gradguess import config as gconfig
from gradguess import plan as gplan
from workflow_helpers import REPO

GROUPS = submissions.group_sizes(REPO / "profiles" / "default" / "config.yaml")


def load(*presets, **overrides):
    cfg = gconfig.load([REPO / "config.yaml", *(REPO / p for p in presets)], REPO / gconfig.SCHEMA)
    return gconfig.merge(cfg, overrides)


def build(cfg):
    return gplan.build(cfg, source_exists=lambda p: True)


@pytest.mark.parametrize("device", ["h200", "cpu"])
@pytest.mark.parametrize("batching", [False, True])
def test_totals_are_the_sums_of_the_rules(device, batching):
    c = cost.build(build(load()), cal.load(device), GROUPS, batching=batching)
    t = c.total()
    lines = c.rules + c.local
    assert t.jobs == sum(r.jobs for r in lines) and t.steps == sum(r.steps for r in lines)
    assert t.seconds == pytest.approx(sum(r.seconds for r in lines))
    assert t.disk == sum(r.disk for r in lines)
    assert t.submissions == sum(r.submissions for r in c.rules + c.groups)
    assert sum(t.basis.values()) == sum(r.jobs for r in c.rules)
    # every job is submitted once: alone, or in one group
    assert sum(r.jobs for r in c.rules) == sum(r.submissions for r in c.rules) + sum(g.jobs for g in c.groups)
    tsv = cost.tsv(c).splitlines()
    assert tsv[-1].split("\t")[:4] == ["total", "total", str(t.jobs), str(t.submissions)]


def test_the_training_submissions_are_those_gradguess_plan_jobs_counts(capsys):
    assert cli.main(["plan", "--jobs", "--configfile", str(REPO / "config.yaml")]) == 0
    printed = int(re.search(r"(\d+) training submissions", capsys.readouterr().out).group(1))
    c = cost.build(gplan.build(load()), cal.load("h200"), GROUPS, batching=True)  # config.yaml: batched on GPUs
    training = [r for r in c.rules if r.rule.startswith("train") or r.rule == "capture_trajectory"]
    grouped = [g for g in c.groups if g.rule == f"group {submissions.SHORT_GROUP}"]
    assert sum(r.submissions for r in training + grouped) == printed
    assert c.total().submissions > printed  # and the measurements' submissions on top


def test_doubling_the_epochs_doubles_the_steps_and_the_hours():
    def train_cost(epochs):
        cfg = load(figures=["table2"], table2={"epochs": epochs})
        c = cost.build(build(cfg), cal.load("h200"), GROUPS)
        rule = next(r for r in c.rules if r.rule == "train")
        return rule.steps, rule.seconds - rule.jobs * jobsize.STARTUP_SECONDS, rule.jobs

    steps, seconds, jobs = train_cost(500)
    steps2, seconds2, jobs2 = train_cost(1000)
    assert jobs2 == jobs and steps2 == 2 * steps
    assert 1.98 * seconds < seconds2 <= 2 * seconds  # each seed's final evaluation does not double


def test_an_unmeasured_shape_says_it_is_extrapolated_and_from_what():
    h200 = cal.load("h200")
    measured = h200.step("mlp", {"depth": 6, "width": 1024}, "cifar10", "wt", 512)
    assert measured.basis == "measured" and measured.seconds == pytest.approx(2.7e-3)
    small = h200.step("mlp", {"depth": 3, "width": 128}, "mnist", "wt", 512)
    assert small.basis == "extrapolated"
    assert "from d6-w1024 on cifar10, backprop, batch 512" in small.source and "2026-11-28" in small.source
    assert h200.overhead < small.seconds < measured.seconds
    # another model kind, never measured on this device: an assumption, and it says whose
    mixer = h200.step("localmixer", {"blocks": 4, "channels": 512, "patch": 4, "groups": 16}, "cifar10",
                      "wt+local", 128)
    assert mixer.basis == "assumed" and "localmixer" in mixer.source
    c = cost.build(build(load(figures=["table2"])), h200, GROUPS)
    assert any(est.basis == "extrapolated" for est in c.estimates.values())
    assert "extrapolated" in cost.markdown(c)


def test_batched_replicates_cost_what_the_calibration_says(tmp_path):
    cpu, h200 = cal.load("cpu"), cal.load("h200")
    shape = ("mlp", {"depth": 6, "width": 128}, "cifar10", "wt_sv_power", 128)
    one = h200.step(*shape)
    batched = h200.step(*shape, replicates=64)
    assert batched.basis == "assumed" and "assumed" in batched.source
    assert batched.seconds == pytest.approx(64 * one.seconds / h200.speedup[0])  # launch-bound: the assumed 8x
    big = ("mlp", {"depth": 6, "width": 1024}, "cifar10", "backprop", 512)  # measured: 2.5 ms, 1.5 ms of it launch
    three = h200.step(*big, replicates=3)
    floor = h200.floor("mlp")
    assert three.seconds == pytest.approx(floor + 3 * (h200.step(*big).seconds - floor))  # no more than the floor
    cfg = load(figures=["figure5"])
    plain, fused = (cost.build(build(cfg), h200, GROUPS, batching=b) for b in (False, True))
    assert fused.total().steps == plain.total().steps  # the same training, fewer and faster jobs
    assert fused.total().seconds < plain.total().seconds and fused.total().jobs < plain.total().jobs
    replicates = {r.rule: r.jobs for r in fused.rules}["train_replicates"]
    assert replicates == len([d for d in build(cfg).runs if "/replicates/" in d])  # a power's 64 seeds: one job
    # a measured batched step (here: no speedup) is used as measured
    data = json.loads(cal.DEVICES["cpu"].read_text())
    entry = next(e for e in data["entries"] if e["model"] == "mlp")
    data["entries"].append({**entry, "replicates": 4, "seconds": 4 * entry["seconds"]})
    path = tmp_path / "cpu.json"
    path.write_text(json.dumps(data))
    mine = cal.load(str(path))
    keyed = (entry["model"], entry["options"], entry["dataset"], entry["method"], entry["batch"])
    assert mine.step(*keyed, replicates=4).basis == "measured"
    assert mine.step(*keyed, replicates=4).seconds == pytest.approx(4 * mine.step(*keyed).seconds)
    assert cpu.speedup[0] == 1.0


def test_cluster_requests_come_from_the_same_calibration(tmp_path):
    spec = build(load()).runs["results/paper/runs/svhn/d6-w1024/wt/e1000"]  # unmonitored; svhn has cifar10's shape
    data = json.loads(cal.DEVICES["h200"].read_text())
    for e in data["entries"]:
        e["seconds"] *= 3
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(data))
    slow = cal.load(str(path))
    assert jobsize.spec_minutes(spec, True, calibration=slow) > 2 * jobsize.spec_minutes(spec, True)
    assert jobsize.spec_seconds(spec, True).basis == "measured"


@pytest.mark.parametrize("change, named", [
    (lambda d: d["entries"][1].update(seconds="fast"), "entries[1]"),
    (lambda d: d["entries"][2].pop("date"), "entries[2]: missing key 'date'"),
    (lambda d: d["entries"][0].update(method="wt:sideways"), "entries[0]: key 'method'"),
    (lambda d: d["entries"].append(dict(d["entries"][0])), "repeats entries[0]"),
    (lambda d: d.update(overhead={"seconds": 0.001}), "overhead: missing key 'source'"),
    (lambda d: d.update(format="v0"), "key 'format'"),
])
def test_a_malformed_calibration_names_its_file_and_key(tmp_path, capsys, change, named):
    data = json.loads(cal.DEVICES["h200"].read_text())
    change(data)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    with pytest.raises(cal.CalibrationError, match=re.escape(named)) as err:
        cal.load(str(path))
    assert str(path) in str(err.value)
    assert cli.main(["cost", "--configfile", str(REPO / "config.yaml"), "--device", str(path)]) == 2
    assert str(path) in capsys.readouterr().err
    (tmp_path / "not.json").write_text("{")
    with pytest.raises(cal.CalibrationError, match="not.json: not JSON"):
        cal.load(str(tmp_path / "not.json"))


def test_the_cost_table_prints_per_rule_in_both_formats(capsys):
    assert cli.main(["cost", "--configfile", str(REPO / "config.yaml"), "--device", "cpu", "--batching",
                     "--format", "tsv"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert rows[0][:4] == ["rule", "kind", "jobs", "submissions"] and rows[-1][0] == "total"
    assert {"train", "capture_trajectory", "measure_guesses", "group short_train"} <= {r[0] for r in rows}
    assert cli.main(["cost", "--configfile", str(REPO / "config.yaml"), "--steps"]) == 0
    out = capsys.readouterr().out
    assert "| **total** |" in out and "measured 2026-11-28, torch 2.11.0+cu130" in out


def test_calibrate_writes_a_loadable_file_in_seconds(tmp_path, capsys):
    tiny = {"figures": ["table2"], "data": {"sources": {"mnist": None}},
            "table2": {"datasets": ["synthetic"], "architectures": [{"depth": 2, "width": 16}], "epochs": 1,
                       "methods": ["backprop", "wt"]},
            "trajectory": {"dataset": "synthetic", "depth": 2, "width": 16, "epochs": 1}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    out = tmp_path / "mine.json"
    assert cli.main(["cost", "--calibrate", "--out", str(out), "--budget", "10", "--on", "cpu", "--configfile",
                     str(REPO / "config.yaml"), str(REPO / "presets" / "quick.yaml"), str(tmp_path / "tiny.yaml")]) == 0
    mine = cal.load(str(out))
    assert not mine.gpu and mine.overhead > 0
    keys = {e.key for e in mine.entries}
    assert {"d2-w16 on synthetic, backprop, batch 512", "d2-w16 on synthetic, wt, batch 512"} <= keys
    assert all(e.how.startswith("gradguess cost --calibrate") and e.torch and e.date for e in mine.entries)
    step = mine.step("mlp", {"depth": 2, "width": 16}, "synthetic", "wt", 512)
    assert step.basis == "measured" and math.isfinite(step.seconds)
    assert cli.main(["cost", "--configfile", str(REPO / "config.yaml"), str(REPO / "presets" / "quick.yaml"),
                     str(tmp_path / "tiny.yaml"), "--device", str(out)]) == 0
    assert "| **total** |" in capsys.readouterr().out


def test_the_cost_table_in_the_docs_is_written_by_the_command_between_its_markers(tmp_path):
    readme = tmp_path / "hpc.md"
    readme.write_text(f"before\n{cost.README_BEGIN}\nstale\n{cost.README_END}\nafter\n")
    assert cli.main(["cost", "--configfile", str(REPO / "config.yaml"), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "stale" not in text
    rows = [line for line in text.splitlines() if line.startswith("| NVIDIA H200") or line.startswith("| AMD")
            or line.startswith("| ") and "cores" in line]
    assert len(rows) == 4 and {r.split("|")[2].strip() for r in rows} == {"yes", "no"}
    ours = (REPO / "docs" / "hpc.md").read_text()
    table = [t.split(cost.README_BEGIN)[1].split(cost.README_END)[0].strip().splitlines()[1:] for t in (ours, text)]
    assert table[0] == table[1], "run: gradguess cost --configfile config.yaml --readme"  # docs/hpc.md's is current
    readme.write_text("no markers")
    assert cli.main(["cost", "--configfile", str(REPO / "config.yaml"), "--readme", str(readme)]) == 2
