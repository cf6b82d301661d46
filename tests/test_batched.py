"""Replicate batching: a replicate of a batched job ends as the same run alone (weights, metrics, result, monitor),
whatever its method, optimizer, lr or method options; a diverging replicate leaves the others alone; resume works
across batched and lone runs; incompatible runs are refused or fall back; the plan's groups (gradguess.batching)."""
import csv
import json
import logging

import pytest
import torch

from gradguess import batched as batched_mod
from gradguess import batching, data
from gradguess.batched import Entry, train_batched, train_many
from gradguess.batching import BatchingError
from gradguess.cli import main
from gradguess.optim import make_optimizer
from gradguess.spec import Part, RunSpec
from gradguess.stacked_optim import StackedOptimizer
from gradguess.train import Runtime, train
from interrupts import kill_on_call


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp("data")
    data.prepare("synthetic", path, max_train=2500, max_test=500)  # small: batches of 1000, 1000 and 500
    return path


def rt(root, **kw):
    return Runtime(data_root=str(root), device="cpu", progress=False, **{"checkpoint_minutes": 0, **kw})


def spec(method="wt", options=None, seed=0, lr=1e-2, **kw):
    # SGD with momentum by default: rounding differences stay rounding differences. Adam's update divides by the
    # gradient's own scale, which can blow a rounding difference in a near-zero gradient up to a step of ~lr
    # (test_adam_family_replicates_match_their_runs_alone_over_a_few_steps)
    return RunSpec(model=Part("mlp", {"depth": 3, "width": 16}), method=Part(method, options or {}),
                   dataset="synthetic", **{"epochs": 2, "batch_size": 1000, "lr": lr, "seeds": (seed,),
                                           "optimizer": "sgd", "momentum": 0.9, **kw})


def weights(run):
    return torch.load(run / "weights.pt", weights_only=True)["state"]


def table(path):
    with open(path) as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def assert_same_run(alone_dir, batched_dir, atol=1e-5):
    """Weights, metrics, monitor and result of a replicate as of the run alone, up to float rounding."""
    a, b = weights(alone_dir), weights(batched_dir)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=atol, msg=lambda m: f"{k}: {m}")
    for name in ("metrics.csv", "monitor.csv"):
        rows_a, rows_b = table(alone_dir / name), table(batched_dir / name)
        assert len(rows_a) == len(rows_b)
        for ra, rb in zip(rows_a, rows_b):
            ra.pop("seconds", None), rb.pop("seconds", None)
            assert rb == pytest.approx(ra, rel=1e-4, abs=1e-4, nan_ok=True)
    ra, rb = (json.loads((d / "result.json").read_text()) for d in (alone_dir, batched_dir))
    assert ra["status"] == rb["status"] and ra["steps"] == rb["steps"]
    for k in ("train_loss", "train_acc", "test_loss", "test_acc"):
        assert rb.get(k) == pytest.approx(ra.get(k), rel=1e-4, abs=1e-4)
    assert json.loads((batched_dir / "config.json").read_text()) == json.loads((alone_dir / "config.json").read_text())


def run_both(root, tmp_path, specs, runtime=None):
    runtime = runtime or rt(root)
    results = train_batched([Entry(s, s.seeds[0], str(tmp_path / f"b{i}")) for i, s in enumerate(specs)], runtime)
    for i, s in enumerate(specs):
        train(s, s.seeds[0], tmp_path / f"a{i}", runtime)
    return results


CASES = {  # each: replicates differing in seed, lr, weight decay and method options, as a batched job allows
    "backprop": [dict(seed=0), dict(seed=1, lr=3e-2)],
    "directional": [dict(seed=0), dict(seed=1, lr=3e-2)],
    "activation_perturbation": [dict(seed=0), dict(seed=1, lr=3e-2, weight_decay=1e-3)],
    "activation_mixing": [dict(seed=0), dict(seed=1, lr=3e-2), dict(seed=2, lr=1e-4, options={"normalize": False})],
    "wt": [dict(seed=0), dict(seed=1, lr=3e-2), dict(seed=2, options={"mode": "per_layer"})],
    "wt_sv_power": [dict(seed=0, options={"power": 2.0}, monitor_every=2), dict(seed=1, options={"power": 0.5}),
                    dict(seed=2, options={"power": 2.0}, lr=3e-2)],
    "downstream": [dict(seed=0, options={"layers": 2}), dict(seed=1, lr=3e-2, options={"layers": 2})],
    "self_sharpening": [dict(seed=0), dict(seed=1, lr=3e-2)],
    "cosine_matched_directional": [dict(seed=0, options={"cosine": 0.5}), dict(seed=1, options={"cosine": 0.1})],
}


@pytest.mark.parametrize("method", list(CASES))
def test_a_replicate_ends_as_the_same_run_alone(root, tmp_path, method):
    specs = [spec(method, **case) for case in CASES[method]]
    results = run_both(root, tmp_path, specs)
    assert [r["status"] for r in results] == ["completed"] * len(specs)
    for i in range(len(specs)):
        assert_same_run(tmp_path / f"a{i}", tmp_path / f"b{i}")
    # the replicates really differ (their own seeds, lrs and options), so equal weights are not a coincidence
    assert not torch.equal(weights(tmp_path / "b0")["layers.0.weight"], weights(tmp_path / "b1")["layers.0.weight"])


@pytest.mark.parametrize("optimizer", ["adamw", "stable_adamw"])
def test_adam_family_replicates_match_their_runs_alone_over_a_few_steps(root, tmp_path, optimizer):
    specs = [spec("self_sharpening" if optimizer == "stable_adamw" else "wt", seed=s, lr=lr, optimizer=optimizer,
                  weight_decay=wd, epochs=1) for s, lr, wd in ((0, 1e-3, None), (1, 3e-3, 0.0))]
    run_both(root, tmp_path, specs)
    for i in range(2):
        assert_same_run(tmp_path / f"a{i}", tmp_path / f"b{i}")


@pytest.mark.parametrize("kind,momentum", [("adamw", 0.0), ("sgd", 0.0), ("sgd", 0.9), ("stable_adamw", 0.0)])
def test_stacked_optimizer_updates_each_slice_as_its_own_optimizer(kind, momentum):
    torch.manual_seed(0)
    lrs, decays, shapes = [1e-3, 3e-2, 1e-4], [None, 0.0, 0.05], [(5, 7), (5,)]
    alone = [[torch.randn(s) for s in shapes] for _ in lrs]
    stacked = [torch.stack([p[i] for p in alone]) for i in range(len(shapes))]
    singles = [make_optimizer(kind, ps, lr, momentum=momentum, weight_decay=wd) for ps, lr, wd in zip(alone, lrs, decays)]
    together = StackedOptimizer(kind, stacked, lrs, decays, momentum)
    for step in range(4):
        together.set_factor(1 - 0.2 * step)  # a schedule's factor, as the trainer sets it each epoch
        grads = [torch.randn(len(lrs), *s) for s in shapes]
        for r, (opt, ps) in enumerate(zip(singles, alone)):
            opt.lr = lrs[r] * (1 - 0.2 * step)
            for i, p in enumerate(ps):
                p.grad = grads[i][r].clone()
            opt.step()
        together.step(grads)
    for r, ps in enumerate(alone):  # on the CPU, bit for bit
        assert all(torch.equal(stacked[i][r], p) for i, p in enumerate(ps))
        state = together.state_of(r)
        assert state["steps"] == singles[r].steps and state["buffers"].keys() == singles[r].buffers.keys()
        assert all(torch.equal(a, b) for k in state["buffers"] for a, b in zip(state["buffers"][k], singles[r].buffers[k]))


def test_a_diverging_replicate_leaves_the_others_alone(root, tmp_path):
    # lr 1e30 makes NaNs within the first epoch; W^T with SV power then fails in its SVD of non-finite weights,
    # which would crash the run alone: in a batch only that replicate ends, as diverged
    specs = [spec("wt_sv_power", {"power": 2.0}, seed=0), spec("wt_sv_power", {"power": 2.0}, seed=1, lr=1e30),
             spec("wt_sv_power", {"power": 1.0}, seed=2, lr=1e30)]
    results = train_batched([Entry(s, s.seeds[0], str(tmp_path / f"b{i}")) for i, s in enumerate(specs)], rt(root))
    assert [r["status"] for r in results[1:]] == ["diverged", "diverged"] and results[1]["diverged_epoch"] == 1
    assert results[0]["status"] == "completed"
    # two sets of options (two vmapped estimates a step); the healthy replicate is the run alone
    train(specs[0], 0, tmp_path / "a0", rt(root))
    assert_same_run(tmp_path / "a0", tmp_path / "b0")
    with pytest.raises(torch.linalg.LinAlgError):  # what the SVD does to the run alone
        train(specs[1], 1, tmp_path / "a1", rt(root))
    rows = table(tmp_path / "b1" / "metrics.csv")
    assert len(rows) == 1 and rows[0]["test_loss"] != rows[0]["test_loss"]  # NaN: a diverged epoch is not tested
    assert not (tmp_path / "b1" / "checkpoint.pt").exists() and (tmp_path / "b1" / "weights.pt").exists()


def test_the_replicates_left_after_a_divergence_keep_the_epochs_learning_rate(root, tmp_path):
    """The batch rebuilt without a diverged replicate trains on at the schedule's factor of that epoch (here the
    warmup's 0.5, where the lr 1e30 replicate diverges), not at the base lr a fresh optimizer starts from."""
    kw = {"schedule": "cosine", "warmup_epochs": 2, "epochs": 3}
    specs = [spec("wt_sv_power", {"power": 2.0}, seed=0, **kw), spec("wt_sv_power", {"power": 2.0}, seed=1,
                                                                      lr=1e30, **kw)]
    results = train_batched([Entry(s, s.seeds[0], str(tmp_path / f"b{i}")) for i, s in enumerate(specs)], rt(root))
    assert results[1]["status"] == "diverged" and results[1]["diverged_epoch"] == 2  # epoch 1's lr is 0
    train(specs[0], 0, tmp_path / "a0", rt(root))
    assert_same_run(tmp_path / "a0", tmp_path / "b0")


def test_a_killed_batched_job_resumes_to_the_same_weights_alone_or_batched(root, tmp_path, monkeypatch, caplog):
    specs = [spec("activation_mixing", seed=s, lr=lr, epochs=3) for s, lr in ((0, 1e-2), (1, 3e-2))]
    full = train_batched([Entry(s, s.seeds[0], str(tmp_path / f"full{i}")) for i, s in enumerate(specs)], rt(root))
    real = kill_on_call(monkeypatch, batched_mod.Batch, "evaluate", 2)  # in epoch 2: epoch 1's checkpoints are on disk
    entries = [Entry(s, s.seeds[0], str(tmp_path / f"cut{i}")) for i, s in enumerate(specs)]
    with pytest.raises(KeyboardInterrupt):
        train_batched(entries, rt(root))
    monkeypatch.setattr(batched_mod.Batch, "evaluate", real)
    for i in range(2):
        assert torch.load(tmp_path / f"cut{i}" / "checkpoint.pt", weights_only=True)["epoch"] == 1
    # replicate 1 resumes alone (the lone trainer reads a batched checkpoint); replicate 0 resumes batched with a
    # fresh run of another seed, which trains apart until epoch 2, where they meet
    with caplog.at_level(logging.INFO, logger="gradguess.train"):
        train(specs[1], 1, tmp_path / "cut1", rt(root))
        fresh = spec("activation_mixing", seed=5, epochs=3)  # lr 1e-2, as replicate 0
        results = train_batched([entries[0], Entry(fresh, 5, str(tmp_path / "fresh"))], rt(root))
    assert caplog.text.count("resuming") == 2
    assert results[0]["steps"] == full[0]["steps"] and results[1]["steps"] == full[0]["steps"]
    a = weights(tmp_path / "full0")
    assert all(torch.equal(a[k], weights(tmp_path / "cut0")[k]) for k in a)  # batched resume: bit for bit
    assert_same_run(tmp_path / "full1", tmp_path / "cut1")                  # resumed alone: up to rounding
    train(fresh, 5, tmp_path / "fresh_alone", rt(root))
    assert_same_run(tmp_path / "fresh_alone", tmp_path / "fresh")
    assert not list(tmp_path.glob("*/checkpoint.pt"))


def test_incompatible_runs_are_refused_and_a_job_falls_back_to_one_by_one(root, tmp_path, caplog):
    a, b = spec("wt", seed=0, epochs=1), spec("wt", seed=1, batch_size=500, epochs=1)
    with pytest.raises(BatchingError, match="differ in batch_size"):
        train_batched([Entry(a, 0, str(tmp_path / "x")), Entry(b, 1, str(tmp_path / "y"))], rt(root))
    mixer = RunSpec(model=Part("localmixer", {"blocks": 1, "channels": 8, "patch": 8, "groups": 2}),
                    method=Part("wt"), dataset="synthetic")
    assert "model 'localmixer' does not batch" in batching.why_not([mixer])
    c = spec("wt", seed=2, lr=3e-2, epochs=1)
    with caplog.at_level(logging.INFO, logger="gradguess"):
        results = train_many([Entry(s, s.seeds[0], str(tmp_path / f"r{i}")) for i, s in enumerate((a, b, c))],
                             rt(root))
    assert "training 2 runs as one batched model" in caplog.text
    assert f"training {tmp_path / 'r1'} alone: no other run of this job batches with it" in caplog.text
    assert [r["status"] for r in results] == ["completed"] * 3
    assert not list(tmp_path.glob("r*/checkpoint.pt"))  # kept while the job ran, gone once it is done


def test_the_command_line_trains_several_runs_as_one_batched_model(root, tmp_path, caplog):
    a, b = spec("wt", seed=0, epochs=1), spec("wt", seed=1, lr=3e-2, epochs=1)
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps([{"spec": s.to_dict(), "seed": s.seeds[0], "out": str(tmp_path / f"f{i}")}
                                 for i, s in enumerate((a, b))]))
    with caplog.at_level(logging.INFO):
        assert main(["train", "--batch", str(batch), "--data-root", str(root), "--device", "cpu"]) == 0
        assert main(["train", "--spec", a.to_json(), "--out", str(tmp_path / "p0"), "--spec", b.to_json(), "--out",
                     str(tmp_path / "p1"), "--data-root", str(root), "--device", "cpu", "--batched", "no"]) == 0
    assert caplog.text.count("training 2 runs as one batched model") == 1 and "batching is off" in caplog.text
    for i in range(2):
        assert_same_run(tmp_path / f"p{i}", tmp_path / f"f{i}")
    assert main(["train", "--spec", a.to_json(), "--out", "x", "--spec", b.to_json(), "--data-root", str(root)]) == 2


def test_runs_that_differ_only_in_per_replicate_settings_share_a_batching_key():
    runs = {f"r/wt-lr{lr}": spec("wt", lr=lr, seeds=(0, 1, 2)) for lr in (1e-3, 1e-4)}
    runs["r/wt-b100"] = spec("wt", batch_size=100, seeds=(0, 1))                        # another key
    runs["r/sv-p2"] = spec("wt_sv_power", {"power": 2.0}, seeds=(0, 1))
    runs["r/sv-p3"] = spec("wt_sv_power", {"power": 3.0}, seeds=(0,), monitor_every=5)  # options and monitor may differ
    runs["r/mixer"] = RunSpec(model=Part("localmixer", {"blocks": 1, "channels": 8, "patch": 8, "groups": 2}),
                              method=Part("wt"), dataset="synthetic", seeds=(0, 1))     # never batches
    keys = {d: batching.key(s) for d, s in runs.items()}
    assert keys["r/wt-lr0.001"] == keys["r/wt-lr0.0001"] != keys["r/wt-b100"]
    assert keys["r/sv-p2"] == keys["r/sv-p3"] != keys["r/wt-lr0.001"]
    assert keys["r/mixer"] is None and "localmixer" in batching.why_not([runs["r/mixer"]])
    assert batching.why_not([runs["r/sv-p2"], runs["r/sv-p3"]]) is None
    assert "batch_size" in batching.why_not([runs["r/wt-lr0.001"], runs["r/wt-b100"]])
    config = {"max_replicates": 4}
    assert not batching.seeds_batch(runs["r/wt-lr0.001"], config, "cpu")  # off on the CPU by default
    assert batching.seeds_batch(runs["r/wt-lr0.001"], config, "gpu")
    assert not batching.seeds_batch(runs["r/wt-lr0.001"], {"max_replicates": 2}, "gpu")  # 3 seeds, at most 2
    with pytest.raises(BatchingError, match="max_replicates"):
        batching.settings({"max_replicates": 0})


def test_a_failing_torch_compile_falls_back_to_the_eager_estimate(root, tmp_path, monkeypatch, caplog):
    def broken(fn, **kwargs):
        def fails(*args):
            raise RuntimeError("no compiler here")
        return fails

    specs = [spec("wt", seed=s, epochs=1) for s in (0, 1)]
    train_batched([Entry(s, s.seeds[0], str(tmp_path / f"eager{i}")) for i, s in enumerate(specs)], rt(root))
    monkeypatch.setattr(torch, "compile", broken)
    with caplog.at_level(logging.WARNING, logger="gradguess.train"):
        results = train_batched([Entry(s, s.seeds[0], str(tmp_path / f"c{i}")) for i, s in enumerate(specs)],
                                rt(root, compile="reduce-overhead"))
    assert "torch.compile failed (RuntimeError: no compiler here): the batched estimate runs eagerly" in caplog.text
    assert [r["status"] for r in results] == ["completed"] * 2
    for i in range(2):
        a, b = weights(tmp_path / f"eager{i}"), weights(tmp_path / f"c{i}")
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_workflow_batches_a_runs_seeds_where_its_config_says_and_the_job_obeys_its_device(root, tmp_path, caplog):
    two = spec("wt", seeds=(0, 1), epochs=1)
    assert batching.seeds_mask(two, None) == 1  # default: on a GPU only
    assert batching.seeds_mask(two, {"devices": {"cpu": True}}) == 3
    assert batching.seeds_mask(two, {"devices": {"gpu": False}}) == 0
    assert batching.seeds_mask(two, {"max_replicates": 1}) == 0  # more seeds than a batched job holds
    assert batching.seeds_mask(spec("wt"), None) == 0  # one seed: nothing to batch
    assert batching.seeds_mask(two.with_(method=Part("wt", {"memory": "low"})), None) == 0
    args = ["train", "--spec", two.to_json(), "--data-root", str(root), "--device", "cpu"]
    with caplog.at_level(logging.INFO):
        assert main([*args, "--out", str(tmp_path / "gpu-only/seed{seed}"), "--batch-seeds-on", "1"]) == 0
        assert "training 2 runs as one batched model" not in caplog.text  # a GPU-only mask on the CPU
        assert main([*args, "--out", str(tmp_path / "cpu/seed{seed}"), "--batch-seeds-on", "2"]) == 0
    assert caplog.text.count("training 2 runs as one batched model") == 1
    for seed in (0, 1):
        assert_same_run(tmp_path / f"gpu-only/seed{seed}", tmp_path / f"cpu/seed{seed}")


def test_an_estimate_that_fails_eagerly_too_is_the_steps_error_not_the_compilers(monkeypatch, caplog):
    def step_error(*args):
        raise ValueError("non-finite weights")

    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: fn)
    compiled = batched_mod.Compiled(step_error, "default")
    with caplog.at_level(logging.WARNING, logger="gradguess.train"), pytest.raises(ValueError, match="non-finite"):
        compiled()
    assert "torch.compile failed" not in caplog.text and compiled.fn is not None  # still compiled next time
