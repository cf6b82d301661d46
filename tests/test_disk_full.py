"""A full disk (issue 26, item 6): every atomic write says "no space left on device" and names the file, not
torch's "unexpected pos"; it leaves no temporary file behind and the previous version of the file intact. The disk
is simulated: a write that fails with ENOSPC, through pathlib for text and through the file torch.save writes to."""
import builtins
import errno
import json

import pytest
import torch

from gradguess import io
from gradguess.cli import main
from gradguess.errors import DiskFullError


class FillsUp:
    """A file whose disk fills after `room` bytes: writes past it fail as the kernel fails them."""

    def __init__(self, f, room: int):
        self.f, self.room = f, room

    def write(self, data):
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def full_disk(monkeypatch, room: int, only: str = ""):
    """io's own opening of files for writing gets a disk with `room` bytes left (for names holding `only`)."""
    real = builtins.open

    def opener(path, mode="r", *args, **kwargs):
        f = real(path, mode, *args, **kwargs)
        return FillsUp(f, room) if "w" in mode and only in str(path) else f

    monkeypatch.setattr(io, "open", opener, raising=False)


def assert_clear(exc, path):
    message = str(exc.value)
    assert "no space left on device" in message and str(path) in message, message
    assert "unexpected pos" not in message


@pytest.mark.parametrize("room", [0, 100, 3000])
def test_torch_save_on_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch, room):
    path = tmp_path / "weights.pt"
    io.torch_save({"w": torch.ones(3)}, path)
    old = path.read_bytes()
    full_disk(monkeypatch, room)
    with pytest.raises(DiskFullError) as exc:
        io.torch_save({"w": torch.zeros(10_000)}, path)
    assert_clear(exc, path)
    assert path.read_bytes() == old and sorted(p.name for p in tmp_path.iterdir()) == ["weights.pt"]


def test_a_text_write_on_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    io.write_json(path, {"status": "completed"})

    def no_room(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io.Path, "write_text", no_room)
    with pytest.raises(DiskFullError) as exc:
        io.write_json(path, {"status": "other"})
    assert_clear(exc, path)
    assert json.loads(path.read_text()) == {"status": "completed"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_other_write_errors_pass_through_unchanged(tmp_path, monkeypatch):
    def denied(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(io.Path, "write_text", denied)
    with pytest.raises(PermissionError):
        io.write_text(tmp_path / "x.txt", "x")
    assert not list(tmp_path.iterdir())


def test_training_on_a_full_disk_exits_2_naming_the_file(tmp_path, monkeypatch, capsys):
    spec = json.dumps({"model": {"name": "mlp", "options": {"depth": 2, "width": 8}}, "method": {"name": "wt"},
                       "dataset": "synthetic", "epochs": 1})
    full_disk(monkeypatch, 50, only="weights.pt")
    code = main(["train", "--spec", spec, "--out", str(tmp_path / "run"), "--data-root", str(tmp_path / "data"),
                 "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "no space left on device" in err and str(tmp_path / "run" / "weights.pt") in err, err
    assert not (tmp_path / "run" / "result.json").exists()  # written last: the run is not finished
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_the_weights_job_on_a_full_disk_exits_2_naming_the_file_and_keeps_the_old_one(tmp_path, monkeypatch, capsys):
    """The canonical ViT file (343 MB for ViT-B/16, the largest file the project writes): safetensors' own writer
    reported a full disk as a SafetensorError (no OSError), so the job ended in a traceback."""
    vit = json.dumps({"patch": 8, "dim": 32, "depth": 1, "heads": 2, "mlp_ratio": 2.0})
    out = tmp_path / "backbone.safetensors"
    args = ["weights", "--source", "random", "--vit", vit, "--image", "3", "16", "16", "--out", str(out)]
    assert main(args) == 0
    old = out.read_bytes()

    def no_room(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io.Path, "write_bytes", no_room)
    assert main([*args, "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "no space left on device" in err and str(out) in err, err
    assert out.read_bytes() == old and sorted(p.name for p in tmp_path.iterdir()) == [out.name]
