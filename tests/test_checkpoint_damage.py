"""A checkpoint torch.load reads but whose contents are wrong (issue 26, item 3): every field is checked before any
of it is used, and a damaged one is refused naming the file and the field, by the lone trainer, by a replicate of a
batched job and for a chunk; the file is kept and nothing is written into the run's directory. The deliberate
exceptions stay: an older format or another code's checkpoint starts the run from scratch, with a warning."""
import logging
import math

import pytest
import torch

from gradguess import data
from gradguess.batched import Entry, train_batched
from gradguess.cli import main
from gradguess.errors import CheckpointError
from gradguess.optim import buffer_names, make_optimizer
from gradguess.spec import Part, RunSpec
from gradguess.train import Runtime, train

ADVICE = ("weights_only", "safe_globals", "trusted source", "arbitrary code")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp("data")
    data.prepare("synthetic", path, max_train=2500, max_test=500)  # 3 steps an epoch at batch 1000
    return path


def rt(root):
    return Runtime(data_root=str(root), device="cpu", progress=False, checkpoint_minutes=0)


def spec(seed=0, **kw):
    return RunSpec(model=Part("mlp", {"depth": 3, "width": 16}), method=Part("wt"), dataset="synthetic",
                   **{"epochs": 4, "batch_size": 1000, "lr": 1e-2, "seeds": (seed,), "optimizer": "sgd",
                      "momentum": 0.9, "monitor_every": 2, **kw})


@pytest.fixture(scope="module")
def good(root, tmp_path_factory):
    """A real checkpoint at epoch 1 of 4: the first chunk's state (a checkpoint in the same format)."""
    where = tmp_path_factory.mktemp("good")
    train(spec(), 0, where / "run", rt(root), until_epoch=1, chunk=where / "state.pt")
    return where / "state.pt"


def fresh(good):
    return torch.load(good, weights_only=True)


def setitem(path, value):
    def damage(state):
        *keys, last = path
        for k in keys:
            state = state[k]
        state[last] = value(state[last]) if callable(value) else value
    return damage


def delitem(*path):
    def damage(state):
        for k in path[:-1]:
            state = state[k]
        del state[path[-1]]
    return damage


W0 = ("weights", "state", "layers.0.weight")
DAMAGES = {  # what is done to the checkpoint, and the field its error must name
    "weights {}": (setitem(("weights",), {}), "weights"),
    "weights' tensors {}": (setitem(("weights", "state"), {}), "layers.0.weight"),
    "epoch 99": (setitem(("epoch",), 99), "epoch"),
    "epoch 0": (setitem(("epoch",), 0), "epoch"),
    "epoch a string": (setitem(("epoch",), "1"), "epoch"),
    "no spec": (delitem("spec"), "spec"),
    "wrong shape": (setitem(W0, lambda t: t[:, :-1].clone()), "layers.0.weight"),
    "wrong dtype": (setitem(W0, lambda t: t.double()), "float64"),
    "NaN weights": (setitem(W0, lambda t: t.index_fill(0, torch.tensor([0]), math.nan)), "layers.0.weight"),
    "a tensor missing": (delitem("weights", "state", "layers.2.bias"), "layers.2.bias"),
    "an extra tensor": (setitem(("weights", "state", "layers.9.weight"), torch.zeros(2)), "layers.9.weight"),
    "not a tensor": (setitem(W0, [[0.0]]), "layers.0.weight"),
    "weights of another seed": (setitem(("weights", "seed"), 7), "weights.seed"),
    "no RNG state": (delitem("guess_gen"), "guess_gen"),
    "RNG state of another size": (setitem(("data_gen",), lambda t: t[:16].clone()), "data_gen"),
    "RNG state not bytes": (setitem(("aug_gen",), lambda t: t.float()), "aug_gen"),
    "step off": (setitem(("step",), lambda s: s + 1), "step"),
    "optimizer steps off": (setitem(("optimizer", "steps"), 1), "optimizer.steps"),
    "optimizer buffer misshapen": (setitem(("optimizer", "buffers", "momentum"), lambda b: [b[0][:1]] + b[1:]),
                                   "optimizer.buffers"),
    "optimizer buffer missing": (setitem(("optimizer", "buffers"), {}), "momentum"),
    "optimizer not a dict": (setitem(("optimizer",), None), "optimizer"),
    "rows missing an epoch": (setitem(("rows",), []), "rows"),
    "a row not a dict": (setitem(("rows",), [1.0]), "rows"),
    "monitor not a list": (setitem(("monitor",), "x"), "monitor"),
    "monitor row of an unknown column": (setitem(("monitor",), lambda rows: [{**rows[0], "evil": 1}] + rows[1:]),
                                         "monitor"),
    "code digest missing": (delitem("code_digest"), "code_digest"),
    "an unknown field": (setitem(("extra",), 1), "extra"),
}


def damaged(good, where, damage):
    state = fresh(good)
    damage(state)
    where.mkdir(parents=True)
    torch.save(state, where / "checkpoint.pt")
    return where / "checkpoint.pt"


def assert_refused(exc, path, field, run_dir):
    message = str(exc.value)
    assert str(path) in message and field in message, message
    assert not any(a in message for a in ADVICE) and "delete it" in message, message
    assert path.exists()                                   # kept: the user decides
    assert not (run_dir / "config.json").exists()          # nothing written before the refusal
    assert not (run_dir / "result.json").exists()


@pytest.mark.parametrize("name", list(DAMAGES))
def test_a_damaged_checkpoint_is_refused_by_the_lone_trainer(root, good, tmp_path, name):
    damage, field = DAMAGES[name]
    path = damaged(good, tmp_path / "run", damage)
    with pytest.raises(CheckpointError) as exc:
        train(spec(), 0, tmp_path / "run", rt(root))
    assert_refused(exc, path, field, tmp_path / "run")


@pytest.mark.parametrize("name", ["weights {}", "epoch 99", "no spec", "wrong shape", "wrong dtype", "NaN weights",
                                  "no RNG state", "step off", "optimizer buffer misshapen", "rows missing an epoch"])
def test_a_damaged_checkpoint_is_refused_by_a_batched_replicate(root, good, tmp_path, name):
    damage, field = DAMAGES[name]
    path = damaged(good, tmp_path / "r0", damage)
    entries = [Entry(spec(), 0, str(tmp_path / "r0")), Entry(spec(seed=1), 1, str(tmp_path / "r1"))]
    with pytest.raises(CheckpointError) as exc:
        train_batched(entries, rt(root))
    assert_refused(exc, path, field, tmp_path / "r0")
    assert not (tmp_path / "r1" / "config.json").exists()  # the job's other runs were not started either


def test_the_command_line_refuses_a_damaged_checkpoint_with_exit_2(root, good, tmp_path, capsys):
    path = damaged(good, tmp_path / "run", DAMAGES["epoch 99"][0])
    code = main(["train", "--spec", spec().to_json(), "--out", str(tmp_path / "run"), "--data-root", str(root),
                 "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and "epoch" in err and "99" in err, err


def test_a_chunk_refuses_a_previous_chunk_past_its_end(root, good, tmp_path):
    """--resume-from is checked as a checkpoint is, and must end where this chunk can start."""
    with pytest.raises(CheckpointError, match="epoch"):
        train(spec(), 0, tmp_path / "run", rt(root), until_epoch=0, chunk=tmp_path / "c.pt", resume_from=good)
    path = damaged(good, tmp_path / "prev", DAMAGES["wrong shape"][0])
    with pytest.raises(CheckpointError) as exc:
        train(spec(), 0, tmp_path / "run", rt(root), until_epoch=3, chunk=tmp_path / "c.pt", resume_from=path)
    assert str(path) in str(exc.value) and "layers.0.weight" in str(exc.value)


def test_an_intact_checkpoint_still_resumes_and_the_deliberate_fallbacks_stay(root, good, tmp_path, caplog):
    damaged(good, tmp_path / "ok", lambda state: None)
    with caplog.at_level(logging.INFO, logger="gradguess.train"):
        result = train(spec(), 0, tmp_path / "ok", rt(root))
    assert "resuming" in caplog.text and result["status"] == "completed" and result["steps"] == 12
    caplog.clear()
    damaged(good, tmp_path / "old", setitem(("format",), "gradguess-checkpoint-v2"))  # an older format
    damaged(good, tmp_path / "code", setitem(("code_digest",), "0123456789ab"))       # other code
    with caplog.at_level(logging.INFO, logger="gradguess.train"):
        for run in ("old", "code"):
            assert train(spec(), 0, tmp_path / run, rt(root))["status"] == "completed"
    assert "older format" in caplog.text and "written by other code" in caplog.text
    assert "resuming" not in caplog.text


@pytest.mark.parametrize("name, momentum", [("adamw", 0.0), ("stable_adamw", 0.0), ("sgd", 0.9), ("sgd", 0.0)])
def test_the_buffers_a_checkpoint_must_hold_are_those_the_optimizer_keeps(name, momentum):
    p = torch.nn.Parameter(torch.ones(3))
    opt = make_optimizer(name, [p], 0.1, momentum=momentum)
    p.grad = torch.ones(3)
    opt.step()
    assert set(opt.state_dict()["buffers"]) == set(buffer_names(name, momentum))


# ---- the other files a user points us at: weights.pt, epoch snapshots (models.load, `gradguess cosine`)

def weights_file(tmp_path, damage):
    from gradguess import models

    part = Part("mlp", {"depth": 2, "width": 8})
    record = models.weights_record(models.build(part, (1, 4, 4), 3, 0), part, (1, 4, 4), 3, 0)
    damage(record)
    torch.save(record, tmp_path / "weights.pt")
    return tmp_path / "weights.pt"


S0 = ("state", "layers.0.weight")
WEIGHT_DAMAGES = {
    "wrong shape": (setitem(S0, lambda t: t.T.clone()), "layers.0.weight"),
    "wrong dtype": (setitem(S0, lambda t: t.half()), "float16"),
    "a tensor missing": (delitem("state", "layers.1.bias"), "layers.1.bias"),
    "an extra tensor": (setitem(("state", "layers.5.weight"), torch.zeros(1)), "layers.5.weight"),
    "not a tensor": (setitem(S0, "weights"), "layers.0.weight"),
    "state not a dict": (setitem(("state",), [1, 2]), "state"),
    "input shape not numbers": (setitem(("input_shape",), "1x4x4"), "input_shape"),
    "negative classes": (setitem(("num_classes",), -3), "num_classes"),
    "a huge model named": (setitem(("model", "options", "width"), 10 ** 9), "layers.0.weight"),
}


@pytest.mark.parametrize("name", list(WEIGHT_DAMAGES))
def test_a_weights_file_that_does_not_fit_the_model_it_names_is_refused(tmp_path, name):
    from gradguess.models import load

    damage, field = WEIGHT_DAMAGES[name]
    path = weights_file(tmp_path, damage)
    with pytest.raises(CheckpointError) as exc:
        load(path, "cpu")
    message = str(exc.value)
    assert str(path) in message and field in message and not any(a in message for a in ADVICE), message


def test_an_intact_weights_file_loads(tmp_path):
    from gradguess.models import load

    def trained(record):  # weights no fresh model of its seed has
        record["state"] = {n: t + 0.5 for n, t in record["state"].items()}

    path = weights_file(tmp_path, trained)
    model = load(path, "cpu")
    saved = torch.load(path, weights_only=True)["state"]
    assert model.state_dict().keys() == saved.keys()
    assert all(torch.equal(t, saved[n]) for n, t in model.state_dict().items())
    assert model(torch.zeros(2, 16)).shape == (2, 3)


def test_gradguess_cosine_refuses_a_damaged_snapshot(tmp_path, capsys):
    path = weights_file(tmp_path, WEIGHT_DAMAGES["wrong dtype"][0])
    code = main(["cosine", "--checkpoint", str(path), "--dataset", "synthetic", "--data-root",
                 str(tmp_path / "no-data"), "--methods", "wt", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and "layers.0.weight" in err and "float16" in err, err
