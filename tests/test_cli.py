"""The `gradguess` command line: help, clear errors, and the cosine analysis on real weights."""
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gradguess import data
from gradguess.cli import main
from gradguess.jobs import JOBS
from gradguess.spec import Part, RunSpec
from gradguess.train import Runtime, train
from workflow_helpers import REPO


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["data", "prepare", "--help"], ["cosine", "--help"],
                                  ["plan", "--help"], ["report", "figure4", "--help"], ["class-images", "--help"]])
def test_every_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert f"usage: gradguess {' '.join(argv[:-1])}".strip() in capsys.readouterr().out  # the subcommand's own


def spec(**kw) -> str:
    base = {"model": {"name": "mlp", "options": {"depth": 3, "width": 8}}, "method": {"name": "wt"},
            "dataset": "synthetic", "epochs": 1}
    return json.dumps({**base, **kw})


def console_script(*args) -> subprocess.CompletedProcess:
    """The installed `gradguess` (pip install -e . puts it beside the interpreter), running this tree's code."""
    script = Path(sys.executable).parent / "gradguess"
    assert script.is_file(), f"{script} is missing: `pip install -e .` installs the console script"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=300, env=env)


def test_the_installed_console_script_runs_each_command(trained, tmp_path):
    out = console_script("--help")
    assert out.returncode == 0 and out.stdout.startswith("usage: gradguess"), out.stderr
    listed = set(re.findall(r"^ {4}(\S+)", out.stdout, flags=re.M))
    assert {command.split()[0] for command in JOBS} <= listed, listed
    wrong = console_script("trian")
    assert wrong.returncode == 2 and "invalid choice: 'trian'" in wrong.stderr
    # a real subcommand: its exit status, its files, and the log lines a job's log holds (logging to stderr)
    run = tmp_path / "run"
    out = console_script("train", "--spec", spec(epochs=2), "--data-root", str(trained / "data"), "--out", str(run),
                         "--device", "cpu", "--progress", "log")
    assert out.returncode == 0, out.stderr
    assert json.loads((run / "result.json").read_text())["status"] == "completed"
    logged = re.findall(r"gradguess\.train: epoch (\d)/2 .* test loss ([\d.]+) acc ([\d.]+)", out.stderr)
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert logged == [(r["epoch"], f"{float(r['test_loss']):.4f}", f"{float(r['test_acc']):.4f}") for r in rows]


def test_unknown_method_and_dataset_list_the_valid_ones(capsys, tmp_path):
    assert main(["train", "--spec", spec(method={"name": "magic"}), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown 'magic'" in err and "method.name" in err and "wt" in err and "activation_mixing" in err
    assert main(["train", "--spec", spec(model={"name": "mlp", "options": {"depth": 3}}), "--out", "x"]) == 2
    assert "model.options of mlp: lacks ['width']" in capsys.readouterr().err
    assert main(["train", "--spec", spec(epochs=1, lr=-1), "--out", "x"]) == 2
    assert "lr must be > 0" in capsys.readouterr().err
    assert main(["train", "--spec", spec(bogus=1), "--out", "x"]) == 2
    assert "unknown run setting(s) bogus" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["data", "prepare", "--dataset", "imagenet", "--root", "x"])
    err = capsys.readouterr().err
    assert "unknown dataset 'imagenet'" in err and "cifar100" in err and "synthetic" in err


def test_bad_method_option_is_named(tmp_path, capsys):
    code = main(["train", "--spec", spec(method={"name": "downstream", "options": {"depth": 2}}),
                 "--out", str(tmp_path / "r")])
    assert code == 2
    assert "no option(s) depth" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cosine")
    data.prepare("synthetic", root / "data")
    run = RunSpec(model=Part("mlp", {"depth": 3, "width": 32}), method=Part("backprop"), dataset="synthetic",
                  lr=1e-3, batch_size=500, epochs=1)
    train(run, 0, root / "run", Runtime(data_root=str(root / "data"), device="cpu", progress=False),
          snapshot_dir=root / "snaps")
    return root


def test_snapshots_cover_every_epoch(trained):
    assert sorted(p.name for p in (trained / "snaps").iterdir()) == ["epoch_0000.pt", "epoch_0001.pt"]


def test_cosine_command_measures_methods_against_backprop(trained, tmp_path):
    out = tmp_path / "cos.csv"
    code = main(["-q", "cosine", "--checkpoint", str(trained / "snaps" / "epoch_0001.pt"), "--dataset", "synthetic",
                 "--data-root", str(trained / "data"), "--methods", "backprop", "directional", "wt",
                 "downstream:layers=1", "--modes", "joint", "per_layer", "--batches", "2", "--batch-size", "128",
                 "--device", "cpu", "--out", str(out)])
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    by = {(r["method"], r["mode"], r["batch"]): r for r in rows}
    assert len(rows) == 2 * (1 + 1 + 2 + 2)
    assert float(by[("backprop", "", "0")]["cosine"]) == pytest.approx(1.0)
    assert float(by[("backprop", "", "0")]["one_step_effectiveness"]) == pytest.approx(1.0)
    assert float(by[("backprop", "", "0")]["one_step_effectiveness_norm_matched"]) == pytest.approx(1.0)
    assert float(by[("backprop", "", "0")]["one_step_effectiveness_raw"]) == pytest.approx(1.0)
    assert float(by[("backprop", "", "0")]["cosine[layers.2]"]) == pytest.approx(1.0)
    # the structured guess is far better aligned than the weight-space one (Figure 1's point), in the
    # paper's joint mode; per_layer does better still
    for b in ("0", "1"):
        wt, directional = float(by[("wt", "joint", b)]["cosine"]), abs(float(by[("directional", "", b)]["cosine"]))
        assert wt > 5 * directional
        assert float(by[("wt", "per_layer", b)]["cosine"]) > wt
        # the paper's 1-step effectiveness follows cos²: W^T's is orders of magnitude above directional's
        assert float(by[("wt", "joint", b)]["one_step_effectiveness"]) > 10 * float(
            by[("directional", "", b)]["one_step_effectiveness"])
    # a run's final weights work as well as a snapshot
    assert main(["-q", "cosine", "--checkpoint", str(trained / "run" / "weights.pt"), "--dataset", "synthetic",
                 "--data-root", str(trained / "data"), "--methods", "wt", "--batches", "1", "--device", "cpu",
                 "--out", str(tmp_path / "c2.csv")]) == 0


def test_cosine_command_names_a_corrupt_checkpoint(trained, tmp_path, capsys):
    bad = tmp_path / "epoch_0003.pt"
    bad.write_bytes(b"\x00garbage")
    code = main(["cosine", "--checkpoint", str(bad), "--dataset", "synthetic", "--data-root", str(trained / "data"),
                 "--methods", "wt"])
    assert code == 2
    assert "epoch_0003.pt is corrupt" in capsys.readouterr().err


def test_metrics_on_known_cases():
    from gradguess.metrics import effective_rank, one_step_effectiveness

    assert effective_rank(torch.eye(7)) == pytest.approx(7.0)
    assert effective_rank(torch.outer(torch.arange(1.0, 6.0), torch.ones(4))) == pytest.approx(1.0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    loss = torch.nn.functional.cross_entropy(model(x), y)
    exact = dict(zip([n for n, _ in model.named_parameters()], torch.autograd.grad(loss, list(model.parameters()))))
    assert one_step_effectiveness(model, exact, exact, x, y) == pytest.approx(1.0)
    uphill = {n: -g for n, g in exact.items()}
    assert one_step_effectiveness(model, uphill, exact, x, y, scaling="raw") < 0
    # along the unit direction the sign of the guess does not matter: (g·u)u points downhill
    assert one_step_effectiveness(model, uphill, exact, x, y, scaling="unit") == pytest.approx(1.0)
    half = {n: 0.5 * g for n, g in exact.items()}
    assert 0 < one_step_effectiveness(model, half, exact, x, y, scaling="raw") <= 1.0
    huge = {n: 1e4 * g for n, g in exact.items()}
    assert one_step_effectiveness(model, huge, exact, x, y, scaling="norm_matched") == pytest.approx(1.0)
    assert one_step_effectiveness(model, huge, exact, x, y, scaling="unit") == pytest.approx(1.0)
