"""Training: resume, atomic artifacts, divergence, optimizers, and that the methods rank as the paper says."""
import csv
import json
import math
import re

import pytest
import torch

from dataclasses import dataclass, replace

from gradguess import data, train as train_mod
from gradguess.cli import main
from gradguess.optim import make_optimizer
from gradguess.errors import CheckpointError
from gradguess.spec import Part, RunSpec
from gradguess.train import Runtime
from interrupts import kill_on_call


@dataclass
class Cfg:
    """A run of one seed: its spec, seed and runtime (what gradguess train gets from --spec and its flags)."""
    spec: RunSpec
    runtime: Runtime
    seed: int = 0

    @property
    def batch_size(self):
        return self.spec.batch_size


def train(cfg: Cfg, out, progress=False, **kw):
    return train_mod.train(cfg.spec, cfg.seed, out, replace(cfg.runtime, progress=progress), **kw)


def spec_json(**kw) -> str:
    base = dict(model={"name": "mlp", "options": {"depth": 3, "width": 32}}, method={"name": "wt"},
                dataset="synthetic", epochs=1)
    return RunSpec.from_dict({**base, **kw}).to_json()


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    data.prepare("synthetic", root)
    return root


def small(data_root, method="wt", width=32, preset=None, **kw):
    spec = RunSpec(model=Part("mlp", {"depth": 3, "width": width}), method=Part(method), dataset="synthetic",
                   **{"lr": 1e-3, "batch_size": 500, "epochs": 3, **kw})
    return Cfg(spec, Runtime(data_root=str(data_root), device="cpu", preset=preset, checkpoint_minutes=0))


def weights(path):
    """A weights file's tensors (it also names its model: models.load rebuilds it)."""
    return torch.load(path, weights_only=True)["state"]


def interrupt_in_epoch(n, cfg, out, monkeypatch):
    """Run until epoch `n`'s evaluation and kill it there, as a scheduler would (after epoch n-1's checkpoint)."""
    real = kill_on_call(monkeypatch, train_mod, "evaluate", n)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, out, progress=False)
    monkeypatch.setattr(train_mod, "evaluate", real)


def test_an_interrupted_run_resumes_to_bit_identical_weights(data_root, tmp_path, monkeypatch, caplog):
    cfg = small(data_root)
    full = train(cfg, tmp_path / "full", progress=False)
    assert not (tmp_path / "full" / "checkpoint.pt").exists()  # a finished run keeps no checkpoint

    interrupt_in_epoch(2, cfg, tmp_path / "cut", monkeypatch)
    assert not (tmp_path / "cut" / "result.json").exists()  # an unfinished run has no result
    assert torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["epoch"] == 1
    with caplog.at_level("INFO", logger="gradguess.train"):
        resumed = train(cfg, tmp_path / "cut", progress=False)
    assert "resuming" in caplog.text

    a, b = weights(tmp_path / "full" / "weights.pt"), weights(tmp_path / "cut" / "weights.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["train_acc"] == full["train_acc"] and resumed["steps"] == full["steps"]
    rows = lambda d: [l.split(",")[:6] for l in (tmp_path / d / "metrics.csv").read_text().splitlines()]
    assert rows("full") == rows("cut")
    assert not (tmp_path / "cut" / "checkpoint.pt").exists()


def test_a_finished_run_started_again_trains_from_scratch(data_root, tmp_path, caplog):
    """A forced re-run (or one whose code changed) must not reload the final state and rewrite old numbers."""
    cfg = small(data_root, epochs=2)
    first = train(cfg, tmp_path / "run", progress=False)
    (tmp_path / "run" / "result.json").unlink()  # what Snakemake does to a job's outputs before running it
    with caplog.at_level("INFO", logger="gradguess.train"):
        again = train(cfg, tmp_path / "run", progress=False)
    assert "from scratch" in caplog.text and "resuming" not in caplog.text
    assert again["steps"] == first["steps"] and again["wall_seconds"] > 0


def test_a_checkpoint_written_by_other_code_is_not_resumed(data_root, tmp_path, monkeypatch, caplog):
    cfg = small(data_root)
    interrupt_in_epoch(2, cfg, tmp_path / "run", monkeypatch)
    monkeypatch.setattr(train_mod.lineage, "training_digest", lambda method, model: "0123456789ab")
    with caplog.at_level("INFO", logger="gradguess.train"):
        train(cfg, tmp_path / "run", progress=False)
    assert "written by other code" in caplog.text and "resuming" not in caplog.text


def test_checkpoint_from_other_settings_is_refused(data_root, tmp_path, monkeypatch):
    interrupt_in_epoch(2, small(data_root), tmp_path / "run", monkeypatch)
    with pytest.raises(CheckpointError, match="another run specification .differs in method"):
        train(small(data_root, method="backprop"), tmp_path / "run", progress=False)


def test_run_directory_records_config_seed_and_provenance(data_root, tmp_path):
    train(small(data_root, epochs=1, preset="quick"), tmp_path / "run", progress=False)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    prov = json.loads((tmp_path / "run" / "provenance.json").read_text())
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert config["spec"]["method"]["name"] == "wt" and config["seed"] == 0 and config["spec"]["seeds"] == [0]
    assert RunSpec.from_dict(config["spec"]) == small(data_root, epochs=1).spec  # the spec, serialised once
    assert prov["seed"] == 0 and prov["preset"] == "quick" and prov["packages"]["torch"].startswith("2.14.1")
    assert prov["code_version"]
    assert result["status"] == "completed" and result["preset"] == "quick"
    assert not list((tmp_path / "run").glob("*.tmp"))


def test_corrupt_checkpoint_is_named_and_kept(data_root, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="checkpoint.pt is corrupt"):
        train(small(data_root), run, progress=False)
    code = main(["train", "--spec", spec_json(), "--data-root", str(data_root), "--out", str(run),
                 "--device", "cpu"])
    assert code == 2
    assert "checkpoint.pt is corrupt" in capsys.readouterr().err
    assert (run / "checkpoint.pt").read_bytes() == b"not a checkpoint at all"


def test_divergence_is_recorded_and_exits_zero(data_root, tmp_path):
    code = main(["-q", "train", "--spec", spec_json(method={"name": "backprop"}, optimizer="sgd", lr=1e12, epochs=3),
                 "--data-root", str(data_root), "--out", str(tmp_path / "run"), "--device", "cpu"])
    assert code == 0
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "diverged" and result["diverged_epoch"] == 1


def bar_counts(err: str) -> list[tuple[int, int, str]]:
    """Each frame tqdm drew (a frame starts with a carriage return): (steps done, total, the rest of the line)."""
    frames = [f.strip() for f in err.replace("\n", "\r").split("\r") if f.strip()]
    parsed = [re.match(r"wt d3-w32 synthetic:\s+\d+%\|.*\| (\d+)/(\d+) \[(.*)\]$", f) for f in frames]
    assert frames and all(parsed), frames
    return [(int(m.group(1)), int(m.group(2)), m.group(3)) for m in parsed]


def test_the_progress_bar_counts_every_step_and_shows_each_epochs_accuracy(data_root, tmp_path, capsys):
    result = train(small(data_root, epochs=2), tmp_path / "run", progress=True)
    frames = bar_counts(capsys.readouterr().err)
    steps = result["steps"]
    assert steps == 2 * math.ceil(10_000 / 500) and {total for _, total, _ in frames} == {steps}
    done = [n for n, _, _ in frames]
    assert done[0] == 0 and done[-1] == steps and done == sorted(done)
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    for row in rows:  # after each epoch its accuracies, at that epoch's last step
        shown = [rest for n, _, rest in frames if n == int(row["step"])]
        assert any(f"train_acc={float(row['train_acc']):.3f}" in r and f"test_acc={float(row['test_acc']):.3f}" in r
                   for r in shown), (row, shown)


def test_a_resumed_runs_bar_starts_at_the_steps_already_done(data_root, tmp_path, monkeypatch, capsys):
    cfg = small(data_root, epochs=2)
    interrupt_in_epoch(2, cfg, tmp_path / "run", monkeypatch)  # epoch 1's checkpoint kept
    capsys.readouterr()
    result = train(cfg, tmp_path / "run", progress=True)
    frames = bar_counts(capsys.readouterr().err)
    assert frames[0][:2] == (result["steps"] // 2, result["steps"]) and frames[-1][:2] == (result["steps"],) * 2


def test_without_a_bar_each_epoch_logs_its_losses_and_accuracies(data_root, tmp_path, capsys, caplog):
    with caplog.at_level("INFO", logger="gradguess.train"):
        train(small(data_root, epochs=2), tmp_path / "run", progress=False)
    assert "step/s" not in capsys.readouterr().err  # no bar in a job's log
    logged = [m.groups() for m in (re.search(r"epoch (\d+)/(\d+)\s+train loss ([\d.]+) acc ([\d.]+)\s+test loss "
                                             r"([\d.]+) acc ([\d.]+)", r.getMessage()) for r in caplog.records) if m]
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    assert logged == [(r["epoch"], "2", *(f"{float(r[k]):.4f}" for k in ("train_loss", "train_acc", "test_loss",
                                                                           "test_acc"))) for r in rows]


def test_stable_adamw_clips_the_update_after_a_gradient_spike():
    """Wortsman et al. (2023): the step's lr is divided by max(1, RMS(g²/v̂))."""
    p = torch.nn.Parameter(torch.zeros(4))
    opt = make_optimizer("stable_adamw", [p], lr=0.1, weight_decay=0.0)
    assert type(opt).__name__ == "StableAdamW"
    b1, b2, eps = 0.9, 0.99, 1e-6
    g1, g2 = torch.full((4,), 1e-3), torch.full((4,), 1.0)
    p.grad = g1.clone()
    opt.step()
    before = p.detach().clone()
    p.grad = g2.clone()
    opt.step()
    m = (b1 * (1 - b1) * g1 + (1 - b1) * g2) / (1 - b1**2)
    v = (b2 * (1 - b2) * g1**2 + (1 - b2) * g2**2) / (1 - b2**2)
    rms = float(((g2**2) / v).mean().sqrt())
    assert rms > 1.2  # after a spike g²/v̂ exceeds 1, so the step is clipped
    expected = -0.1 / max(1.0, rms) * m / (v.sqrt() + eps)
    torch.testing.assert_close(p.detach() - before, expected, rtol=1e-3, atol=1e-7)


def _reference(name, params, **kw):
    if name == "stable_adamw":
        from optimi import StableAdamW
        return StableAdamW(params, triton=False, foreach=False, **kw)
    return {"adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[name](params, **kw)


@pytest.mark.parametrize("name,options", [("adamw", {"weight_decay": 0.01}), ("adamw", {"weight_decay": 0.0}),
                                          ("sgd", {"momentum": 0.9, "weight_decay": 0.0}),
                                          ("sgd", {"momentum": 0.0, "weight_decay": 0.1}),
                                          ("stable_adamw", {"weight_decay": 0.01})])
def test_optimizers_follow_their_references_step_for_step(name, options):
    """Ours against torch.optim's AdamW/SGD and torch-optimi's StableAdamW, through a gradient spike."""
    torch.manual_seed(0)
    ours_p = [torch.nn.Parameter(torch.randn(6, 4)), torch.nn.Parameter(torch.randn(5))]
    ref_p = [torch.nn.Parameter(p.detach().clone()) for p in ours_p]
    ours = make_optimizer(name, ours_p, lr=1e-2, **options)
    ref = _reference(name, ref_p, lr=1e-2, **options)
    for t in range(60):
        grads = [torch.randn_like(p) * (30.0 if t == 40 else 1.0) + p.detach() for p in ours_p]
        for p, q, g in zip(ours_p, ref_p, grads):
            p.grad, q.grad = g.clone(), g.clone()
        ours.step()
        ref.step()
    for p, q in zip(ours_p, ref_p):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-6, atol=1e-7)


def test_optimizer_state_round_trips_through_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(4))
    a = make_optimizer("stable_adamw", [p], lr=0.1)
    for _ in range(3):
        p.grad = torch.randn(4)
        a.step()
    torch.save(a.state_dict(), tmp_path / "opt.pt")
    q = torch.nn.Parameter(p.detach().clone())
    b = make_optimizer("stable_adamw", [q], lr=0.1)
    b.load_state_dict(torch.load(tmp_path / "opt.pt", weights_only=True))
    g = torch.randn(4)
    p.grad, q.grad = g.clone(), g.clone()
    a.step()
    b.step()
    assert torch.equal(p.detach(), q.detach())


@pytest.mark.parametrize("name,momentum", [("sgd", 0.0), ("sgd", 0.9), ("adamw", 0.0)])
def test_optimizers_make_progress(name, momentum):
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(5))
    opt = make_optimizer(name, [p], lr=0.05, momentum=momentum, weight_decay=0.0)
    for _ in range(50):
        p.grad = 2 * p.detach()
        opt.step()
    assert float(p.detach().norm()) < 0.5 * math.sqrt(5)
    with pytest.raises(ValueError, match="valid optimizers: adamw, sgd, stable_adamw"):
        make_optimizer("lbfgs", [p], lr=1.0)


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory, shared_data):
    if not (shared_data / "mnist").exists():
        pytest.skip(f"real MNIST not found at {shared_data / 'mnist'}")
    root = tmp_path_factory.mktemp("mnist")
    data.prepare("mnist", root, source=shared_data / "mnist")
    return root


@pytest.mark.slow
def test_on_real_mnist_wt_beats_directional_and_backprop_beats_both(mnist_root, tmp_path):
    acc = {}
    for method in ("backprop", "wt", "directional"):
        spec = RunSpec(model=Part("mlp", {"depth": 3, "width": 64}), method=Part(method), dataset="mnist",
                       lr=1e-3, batch_size=512, epochs=2)
        cfg = Cfg(spec, Runtime(data_root=str(mnist_root), device="cpu"))
        acc[method] = train(cfg, tmp_path / method, progress=False)["test_acc"]
    assert acc["backprop"] > acc["wt"] + 0.02 > acc["directional"] + 0.04, acc


@pytest.mark.parametrize("optimizer,expected", [("sgd", 0.0), ("adamw", 0.01), ("stable_adamw", 0.01)])
def test_weight_decay_defaults_to_the_optimizers_own(data_root, tmp_path, optimizer, expected):
    cfg = small(data_root, optimizer=optimizer, epochs=1, width=8)
    assert cfg.spec.weight_decay is None
    train(cfg, tmp_path / "run", progress=False)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["weight_decay"] == expected
    p = torch.nn.Parameter(torch.ones(3))
    opt = make_optimizer(optimizer, [p], lr=0.1)
    assert opt.param_groups[0]["weight_decay"] == expected


# ------------------------------------------------------------------ the monitor (Figure 5)
def test_monitoring_changes_no_weight_and_measures_the_step_it_watches(data_root, tmp_path):
    import pandas as pd

    from gradguess import methods
    from gradguess.metrics import cosine_similarity, effective_rank
    from gradguess.models import build_seeded

    cfg = small(data_root, method="directional", epochs=2)
    train(cfg, tmp_path / "plain", progress=False)
    train(small(data_root, method="directional", epochs=2, monitor_every=3), tmp_path / "watched", progress=False)
    a, b = weights(tmp_path / "plain" / "weights.pt"), weights(tmp_path / "watched" / "weights.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)  # backprop draws no random numbers: same trajectory
    plain = pd.read_csv(tmp_path / "plain" / "monitor.csv")
    assert plain.empty and "cosine" in plain.columns  # off: the header only

    mon = pd.read_csv(tmp_path / "watched" / "monitor.csv")
    steps_per_epoch = math.ceil(10_000 / cfg.batch_size)
    assert list(mon["step"]) == list(range(0, 2 * steps_per_epoch, 3))
    assert {f"cosine_layers.{i}" for i in range(3)} <= set(mon.columns)

    # row 0 is the very estimate the first step applied: rebuild it from the run's seeds
    d = data.load("synthetic", data_root)
    order = torch.randperm(len(d.x_train), generator=torch.Generator().manual_seed(cfg.seed + 1))
    x, y = d.x_train[order[:cfg.batch_size]], d.y_train[order[:cfg.batch_size]]
    model = build_seeded(d.in_features, d.num_classes, 3, 32, cfg.seed)
    est = methods.get("directional").compute(model, x, y, torch.Generator().manual_seed(cfg.seed + 2))
    exact = methods.get("backprop").compute(model, x, y)
    assert mon["cosine"][0] == pytest.approx(cosine_similarity(est.grads, exact.grads), rel=1e-6)
    assert mon["rank_layers.0"][0] == pytest.approx(effective_rank(model.layers[0].weight), rel=1e-9)


def test_monitor_of_backprop_reads_cosine_one_and_survives_a_resume(data_root, tmp_path, monkeypatch):
    import pandas as pd

    cfg = small(data_root, method="backprop", monitor_every=2)
    train(cfg, tmp_path / "full", progress=False)
    interrupt_in_epoch(2, cfg, tmp_path / "cut", monkeypatch)
    train(cfg, tmp_path / "cut", progress=False)
    full, cut = pd.read_csv(tmp_path / "full" / "monitor.csv"), pd.read_csv(tmp_path / "cut" / "monitor.csv")
    assert (full.filter(like="cosine") > 0.999999).all().all()
    pd.testing.assert_frame_equal(full, cut)


def test_a_checkpoint_with_another_monitor_interval_is_refused(data_root, tmp_path, monkeypatch):
    interrupt_in_epoch(2, small(data_root, monitor_every=2), tmp_path / "run", monkeypatch)
    with pytest.raises(CheckpointError, match="monitor_every"):
        train(small(data_root, monitor_every=5), tmp_path / "run", progress=False)


def test_a_run_trained_in_three_chunks_ends_bit_identical_to_one_go(data_root, tmp_path):
    cfg = small(data_root, monitor_every=7)
    train(cfg, tmp_path / "whole")
    out, chunks = tmp_path / "split", [tmp_path / f"chunk{k}.pt" for k in (1, 2)]
    first = train(cfg, out, until_epoch=1, chunk=chunks[0])
    assert first["status"] == "chunk" and not (out / "result.json").exists() and chunks[0].exists()
    train(cfg, out, until_epoch=2, chunk=chunks[1], resume_from=chunks[0])
    last = train(cfg, out, resume_from=chunks[1])
    assert last["status"] == "completed" and last["steps"] == 60
    a, b = weights(tmp_path / "whole" / "weights.pt"), weights(out / "weights.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    for name in ("metrics.csv", "monitor.csv"):
        rows = lambda d: [line.split(",")[:6] for line in (d / name).read_text().splitlines()]
        assert rows(tmp_path / "whole") == rows(out)
    # a chunk's state is refused by another specification
    with pytest.raises(CheckpointError, match="another run specification"):
        train(small(data_root, method="backprop"), tmp_path / "other", until_epoch=2, chunk=tmp_path / "x.pt",
              resume_from=chunks[0])


def test_a_chunk_with_nowhere_to_save_its_state_is_refused_before_it_trains(data_root, tmp_path):
    with pytest.raises(ValueError, match="until_epoch 1 stops before the last epoch .3.: give the chunk path"):
        train(small(data_root), tmp_path / "run", until_epoch=1)
    assert not (tmp_path / "run").exists()
    assert train(small(data_root, epochs=1), tmp_path / "one", until_epoch=1)["status"] == "completed"  # no chunk
