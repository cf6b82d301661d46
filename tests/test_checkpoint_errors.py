"""A checkpoint torch.load refuses: the error says what is wrong with the file and how to start again, and never
passes on PyTorch's advice (re-load with weights_only=False, or allow-list the file's globals), which is how an
untrusted pickle runs code."""
import io as stdio
import os
import pickle

import pytest
import torch

from gradguess.cli import main
from gradguess.errors import CheckpointError, GradguessError
from gradguess.io import read_checkpoint
from gradguess.models import load_model

ADVICE = ("weights_only", "safe_globals", "add_safe_globals", "trusted source", "arbitrary code")


class RunsCode:
    def __reduce__(self):
        return (os.system, ("echo this would run",))


@pytest.fixture
def files(tmp_path):
    corrupt = tmp_path / "corrupt" / "checkpoint.pt"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"not a checkpoint at all")
    foreign = tmp_path / "foreign" / "checkpoint.pt"
    foreign.parent.mkdir()
    torch.save({"model": {"w": torch.zeros(2)}, "extra": stdio.BytesIO()}, foreign)
    code = tmp_path / "code" / "checkpoint.pt"
    code.parent.mkdir()
    torch.save({"model": RunsCode()}, code)
    truncated = tmp_path / "truncated" / "checkpoint.pt"
    truncated.parent.mkdir()
    truncated.write_bytes(foreign.read_bytes()[:200])
    return {"corrupt": corrupt, "foreign": foreign, "code": code, "truncated": truncated}


def no_advice(message: str) -> bool:
    return not any(a.lower() in message.lower() for a in ADVICE)


@pytest.mark.parametrize("kind, why", [("corrupt", "not a PyTorch file"), ("foreign", "_io.BytesIO"),
                                       ("code", "posix.system"), ("truncated", "truncated")])
def test_a_refused_checkpoint_says_what_is_wrong_and_how_to_restart(files, kind, why):
    path = files[kind]
    # PyTorch's own message carries the advice we must not pass on (the test would mean nothing otherwise)
    with pytest.raises(Exception) as raw:
        torch.load(path, weights_only=True)
    assert kind == "truncated" or not no_advice(str(raw.value))

    with pytest.raises(CheckpointError) as resumed:
        read_checkpoint(path, "cpu", "; delete it to restart this run from scratch")  # as the trainer calls it
    message = str(resumed.value)
    assert str(path) in message and why in message and no_advice(message), message
    assert message.endswith("delete it to restart this run from scratch")

    with pytest.raises(CheckpointError) as measured:
        load_model(path, "cpu")  # weights and snapshots, for the analyses
    message = str(measured.value)
    assert str(path) in message and why in message and no_advice(message), message
    assert "delete it" in message and "from scratch" in message


def test_the_command_line_prints_no_advice(files, tmp_path, capsys):
    code = main(["cosine", "--checkpoint", str(files["foreign"]), "--dataset", "synthetic",
                 "--data-root", str(tmp_path / "no-data"), "--methods", "wt", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "gradguess: error:" in err and str(files["foreign"]) in err
    assert "_io.BytesIO" in err and no_advice(err) and "delete it" in err


def test_an_error_quoting_a_load_failure_any_way_loses_the_advice():
    """However a message quotes PyTorch's text (a data file's error, say), the advice does not reach the user."""
    try:
        torch.load(stdio.BytesIO(b"garbage"), weights_only=True)
    except Exception as exc:
        cause = exc
    for message in (f"cannot read prepared data /d/mnist.pt: {type(cause).__name__}: {cause}; delete it and run "
                    "`gradguess data prepare`", f"cannot read /d/mnist.pt ({cause!r})"):
        try:
            raise GradguessError(message) from cause
        except GradguessError as err:
            text = str(err)
        assert "/d/mnist.pt" in text and "not a PyTorch file" in text and no_advice(text), text
    # an error that is not about loading a file is left as it is
    assert str(GradguessError("weights_only is a word here")) == "weights_only is a word here"
    assert isinstance(cause, pickle.UnpicklingError)
