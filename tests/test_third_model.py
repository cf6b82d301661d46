"""A model defined only here, registered with the model registry, trains with W^T, activation perturbation and
directional descent through the unchanged trainer and engine, and an analysis loads its weights; `gradguess plan`
plans it, the schedule and `gradguess cost` size it, `gradguess train` trains it from the plan's specification, and
it leaves the registry when done: adding a model is one file (here, this test: its facts and its code) and one
`register` call."""
import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from gradguess import config, data, jobsize, methods, models, plan, schedule
from gradguess.cli import main
from gradguess.models.facts import ModelFacts
from gradguess.models.sites import Sites, output_error
from gradguess.spec import Part, RunSpec, SpecError
from gradguess.train import Runtime, train

REPO = Path(__file__).resolve().parents[1]


class ToyTrace(Sites):
    """Two sites: the first trainable layer's pre-activation (a ReLU reads it) and the logits (the output)."""

    def __init__(self, model, x):
        self.model = model
        self.h = torch.relu(model.features(x.flatten(1)))  # the frozen layer's output: an input to the sites
        s = model.hidden(self.h)
        self.m, self.r = s > 0, torch.relu(s)
        self.logits = model.out(self.r)

    num_sites = 2

    def shape(self, i):
        return (self.h.shape[0], self.model.hidden.out_features if i == 0 else self.model.out.out_features)

    def is_output(self, i):
        return i == 1

    def mask(self, i):
        return self.m if i == 0 else None

    def post(self, i):
        return self.r

    def next_weight(self, i, local_losses=False):
        return self.model.out.weight.detach()

    def next_shape(self, i, local_losses=False):
        return self.shape(1)

    def next_transpose(self, i, z, weight, local_losses=False):
        return z @ weight

    def directional_derivatives(self, guesses, y, mode, local_losses=False):
        w = self.model.out.weight.detach()
        through = (guesses[0] * self.m) @ w.T
        t = through + guesses[1] if mode == "joint" else torch.stack([through, guesses[1]])
        return (t * output_error(self.logits, y)).sum(-1)

    def scale(self, i, d, guess):
        return (d if d.dim() == 1 else d[i])[:, None] * guess

    def updates(self, estimates, y, local_losses=False):
        b = estimates[0].shape[0]
        return {"hidden.weight": estimates[0].T @ self.h / b, "hidden.bias": estimates[0].sum(0) / b,
                "out.weight": estimates[1].T @ self.r / b, "out.bias": estimates[1].sum(0) / b}


class Toy(nn.Module):
    """A frozen random feature layer, then two trainable layers."""

    def __init__(self, in_features, classes, width):
        super().__init__()
        self.features = nn.Linear(in_features, width).requires_grad_(False)
        self.hidden, self.out = nn.Linear(width, width), nn.Linear(width, classes)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(torch.relu(self.features(x.flatten(1))))))

    @torch.no_grad()
    def trace(self, x):
        return ToyTrace(self, x)


def build_toy(options, input_shape, classes, seed):
    torch.manual_seed(seed)
    return Toy(math.prod(input_shape), classes, options["width"])


def toy_size(options, shape, classes):
    """(trainable parameters, forward multiply-adds per example): the frozen layer counts only in the latter."""
    width, inputs = options["width"], math.prod(shape)
    return width * width + width + width * classes + classes, inputs * width + width * width + width * classes


# what the torch-free side (the plan, the schedule, job sizes, the cost) knows of the toy: no architecture rule
# (the generic toy-w<width>), no memory rule (the default allowance), both JVP modes (directional_derivatives)
TOY = ModelFacts("toy", required=("width",), size=toy_size)


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    models.register(TOY, build_toy)
    root = tmp_path_factory.mktemp("toy")
    data.prepare("synthetic", root / "data")
    yield root
    models.unregister("toy")
    assert "toy" not in models.names()


def test_the_engines_estimates_of_the_toy_are_right():
    """The engine through the toy's sites: W^T's guess lies in the range of the next map's transpose, and the
    directional derivative is the gradient's dot product with the guess."""
    torch.manual_seed(0)
    model, x, y = Toy(12, 3, 8), torch.randn(5, 12), torch.tensor([0, 1, 2, 0, 1])
    ctx, guesses, d = methods.get("wt").probe(model, x, y, torch.Generator().manual_seed(1))
    w = model.out.weight.detach()
    torch.testing.assert_close(guesses[0] * ctx.mask(0), guesses[0])  # dead units get nothing
    x0 = model.hidden(torch.relu(model.features(x)))
    loss = F.cross_entropy(model.out(torch.relu(x0)), y, reduction="sum")
    s0 = x0.detach().requires_grad_(True)
    logits = model.out(torch.relu(s0))
    grad_s0, grad_logits = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), [s0, logits])
    expected = (grad_s0 * guesses[0]).sum(1) + (grad_logits * guesses[1]).sum(1)
    torch.testing.assert_close(d, expected)
    assert loss > 0
    checked = 0
    for b in range(5):  # per example, on its live units the guess is W^T z for some z: in the range of M W^T
        live = ctx.mask(0)[b]
        a = w.T[live]                                 # (live units, classes)
        if a.shape[0] <= a.shape[1]:
            continue  # as many live units as classes: every vector is in the range, nothing to check
        z = torch.linalg.lstsq(a, guesses[0][b][live].unsqueeze(1)).solution
        assert torch.allclose(a @ z, guesses[0][b][live].unsqueeze(1), atol=1e-5)
        noise = torch.randn(a.shape[0], 1, generator=torch.Generator().manual_seed(b))
        fit = a @ torch.linalg.lstsq(a, noise).solution
        assert not torch.allclose(fit, noise, atol=1e-3)  # isotropic noise is not
        checked += 1
    assert checked


@pytest.mark.parametrize("method", ["wt", "activation_perturbation", "directional"])
def test_the_toy_trains_through_the_unchanged_trainer(toy_root, tmp_path, method):
    spec = RunSpec(model=Part("toy", {"width": 16}), method=Part(method), dataset="synthetic", epochs=2, lr=1e-2,
                   batch_size=500)
    result = train(spec, 0, tmp_path / "run", Runtime(data_root=str(toy_root / "data"), device="cpu", progress=False))
    assert result["status"] == "completed" and result["steps"] == 40
    saved = torch.load(tmp_path / "run" / "weights.pt", weights_only=True)
    assert saved["model"] == {"name": "toy", "options": {"width": 16}}
    start = build_toy({"width": 16}, (3, 32, 32), 10, 0)
    trained = models.load(tmp_path / "run" / "weights.pt", "cpu")
    assert isinstance(trained, Toy)
    # the frozen layer got no estimate and no update; the trainable ones moved
    assert torch.equal(trained.features.weight, start.features.weight)
    assert not torch.equal(trained.hidden.weight, start.hidden.weight)


def test_an_analysis_loads_the_toys_weights(toy_root, tmp_path):
    spec = RunSpec(model=Part("toy", {"width": 16}), method=Part("backprop"), dataset="synthetic", epochs=1,
                   batch_size=500)
    train(spec, 0, tmp_path / "run", Runtime(data_root=str(toy_root / "data"), device="cpu", progress=False))
    out = tmp_path / "cos.csv"
    assert main(["-q", "cosine", "--checkpoint", str(tmp_path / "run" / "weights.pt"), "--dataset", "synthetic",
                 "--data-root", str(toy_root / "data"), "--methods", "backprop", "wt", "--batches", "1",
                 "--batch-size", "64", "--device", "cpu", "--out", str(out)]) == 0
    import pandas as pd
    rows = pd.read_csv(out)
    assert rows.loc[rows["method"] == "backprop", "cosine"].iloc[0] == pytest.approx(1.0)
    assert 0 < rows.loc[rows["method"] == "wt", "cosine"].iloc[0] < 1


def _toy_runs(p, usable):
    """A figure of the toy's own: W^T and backprop on the synthetic set."""
    p.lists["toy"] = [p.request("toy", m, p.spec(m, "synthetic", Part("toy", {"width": 16}), 1, lr=1e-2,
                                                 batch_size=500)) for m in ("wt", "backprop")]


def test_the_toy_goes_through_plan_schedule_cost_and_train(toy_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(plan.FIGURES, "toy", (_toy_runs, {"table2"}))
    (tmp_path / "few.yaml").write_text("figures: [table2]\ntable2: {datasets: [synthetic], methods: [wt]}\n")
    files = [str(REPO / "config.yaml"), str(REPO / "presets" / "quick.yaml"), str(tmp_path / "few.yaml")]
    assert main(["-q", "plan", "--configfile", *files, "--out", str(tmp_path / "plan.tsv"),
                 "--specs", str(tmp_path / "specs")]) == 0
    rows = [r.split("\t") for r in (tmp_path / "plan.tsv").read_text().splitlines()]
    toy = [dict(zip(rows[0], r)) for r in rows[1:] if "toy" in r]
    assert {(r["method"], r["arch"], r["schedule"]) for r in toy} == {("wt", "toy-w16", "constant"),
                                                                      ("backprop", "toy-w16", "constant")}
    # the schedule and the job sizes (jobsize raised KeyError for a registered model: no size rule)
    p = plan.build(config.load(files))
    wt = next(s for d, s in p.runs.items() if s.model.name == "toy" and s.method.name == "wt")
    assert jobsize.spec_minutes(wt) >= jobsize.MIN_MINUTES and jobsize.spec_mem_mb(wt) > 0
    assert all(schedule.schedule(p, 60 * 24)[d] == 0 for d, s in p.runs.items() if s.model.name == "toy")
    capsys.readouterr()
    assert main(["-q", "cost", "--configfile", *files, "--device", "cpu", "--steps"]) == 0
    assert "toy-w16 on synthetic, wt, batch 500" in capsys.readouterr().out
    # `gradguess train` from the specification the plan wrote
    spec_file = next((tmp_path / "specs").rglob("toy-w16/wt/e1.json"))
    assert RunSpec.from_json(spec_file.read_text()) == wt
    assert main(["-q", "train", "--spec", str(spec_file), "--data-root", str(toy_root / "data"), "--device", "cpu",
                 "--out", str(tmp_path / "run" / "seed{seed}"), "--checkpoint", str(tmp_path / "run" / "c{seed}.pt"),
                 "--progress", "log"]) == 0
    for seed in wt.seeds:
        result = json.loads((tmp_path / "run" / f"seed{seed}" / "result.json").read_text())
        assert result["status"] == "completed" and result["steps"] == 20


def test_a_model_states_what_it_cannot_do_before_any_job(toy_root):
    """The facts a model declares refuse a run it cannot train when the spec is checked (the plan checks every
    run): the LocalMixer has one JVP mode, only the MLP guesses with low memory and is monitored."""
    mixer = {"name": "localmixer", "options": {"blocks": 1, "channels": 8, "patch": 16, "groups": 2}}
    for method, settings, named in (({"name": "wt", "options": {"mode": "per_layer"}}, {}, "method.options.mode"),
                                    ({"name": "wt", "options": {"memory": "low"}}, {}, "memory='low'"),
                                    ({"name": "wt"}, {"monitor_every": 5}, "monitor_every")):
        with pytest.raises(SpecError, match=named):
            RunSpec.from_dict({"model": mixer, "method": method, "dataset": "synthetic", **settings})
    RunSpec.from_dict({"model": {"name": "toy", "options": {"width": 4}}, "method": {"name": "wt", "options": {
        "mode": "per_layer"}}, "dataset": "synthetic"})


def test_an_unregistered_model_is_unknown_again():
    models.register(ModelFacts("toy2", required=("width",), size=toy_size), build_toy)
    assert "toy2" in models.names()
    models.unregister("toy2")
    with pytest.raises(SpecError, match="model.name: unknown 'toy2'; valid: .*mlp"):
        RunSpec.from_dict({"model": {"name": "toy2", "options": {"width": 4}}, "method": "wt", "dataset": "synthetic"})
