"""What a training checkpoint must hold, checked in one place before any of it is used (runfiles.resume_state).

A checkpoint is a file a user can point us at: torch.load(weights_only=True) keeps it from running code, and this
keeps a damaged or altered one from being half-used (fresh weights where the saved ones are missing, a run stopped
at an epoch beyond its end, a misshapen optimizer state failing a step later). Every field is checked against what
this run would save now (`Expect`), and the first that differs is named (`Damaged`). The weights part is the model's
weights record, checked tensor by tensor as models.load checks a weights file (`tensors`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

Template = dict  # {name: (shape, dtype)}: what a dict of tensors must hold


class Damaged(ValueError):
    """One field of a checkpoint or weights file is not what it must be."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field} {problem}")
        self.field = field


@dataclass(frozen=True)
class Expect:
    """What a checkpoint of this run must hold: the run's own spec, length and batches per epoch, the weights
    record it would save now (less its tensors), those tensors' template, the optimizer's parameters (in order)
    and buffers, the run's random generators, its metric columns, and its monitor's columns and interval."""
    epochs: int
    steps_per_epoch: int
    record: dict
    weights: Template
    params: tuple
    buffers: tuple[str, ...]
    generators: dict
    columns: tuple[str, ...]
    monitor: tuple[tuple[str, ...], int] | None

    @property
    def keys(self) -> set[str]:
        return {"format", "epoch", "step", "spec", "code_digest", "optimizer", "weights", "rows", "monitor",
                *self.generators}


def template(tensors: dict) -> Template:
    return {name: (tuple(t.shape), t.dtype) for name, t in tensors.items()}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def tensor(t, field: str, shape, dtype, finite: bool = False) -> None:
    if not isinstance(t, torch.Tensor) or t.layout != torch.strided:
        raise Damaged(field, f"is a {type(t).__name__}, not a dense tensor")
    if tuple(t.shape) != tuple(shape):
        raise Damaged(field, f"has shape {list(t.shape)}, where this run's is {list(shape)}")
    if t.dtype != dtype:
        raise Damaged(field, f"is {str(t.dtype).removeprefix('torch.')}, where this run's is "
                             f"{str(dtype).removeprefix('torch.')}")
    if finite and t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise Damaged(field, "holds NaN or infinite values (a checkpoint is saved from finite weights only)")


def tensors(state, expected: Template, field: str, finite: bool = False) -> None:
    """`state` must be a dict of exactly the tensors `expected` names, each of its shape and dtype."""
    if not isinstance(state, dict):
        raise Damaged(field, f"is a {type(state).__name__}, not a dict of tensors")
    missing, unexpected = sorted(set(expected) - set(state), key=str), sorted(set(state) - set(expected), key=str)
    if missing:
        raise Damaged(field, f"lacks {', '.join(map(repr, missing[:5]))}{' ...' if len(missing) > 5 else ''}")
    if unexpected:
        raise Damaged(field, f"holds {', '.join(map(repr, unexpected[:5]))}, which the model does not have")
    for name, (shape, dtype) in expected.items():
        tensor(state[name], f"{field}[{name!r}]", shape, dtype, finite)


def check(state: dict, expect: Expect) -> None:
    """Raise Damaged for the first field of the checkpoint `state` that is not what this run would save."""
    keys = expect.keys
    missing, unexpected = sorted(keys - set(state)), sorted(set(state) - keys, key=str)
    if missing or unexpected:
        field = (missing or unexpected)[0]
        raise Damaged(field, "is missing" if missing else "is no field of a checkpoint")
    epoch, step = state["epoch"], state["step"]
    # epoch == epochs: the final state a job of several runs keeps until all are done (batched.train_many)
    if not _is_int(epoch) or not 1 <= epoch <= expect.epochs:
        raise Damaged("epoch", f"is {epoch!r}, where this run's epochs are 1 to {expect.epochs}")
    if not _is_int(step) or step != epoch * expect.steps_per_epoch:
        raise Damaged("step", f"is {step!r}, where {epoch} epoch(s) of {expect.steps_per_epoch} steps make "
                              f"{epoch * expect.steps_per_epoch}")
    _weights(state["weights"], expect)
    _optimizer(state["optimizer"], step, expect)
    for key, gen in expect.generators.items():
        _generator(state[key], key, gen)
    _rows(state["rows"], epoch, step, expect.columns)
    _monitor(state["monitor"], step, expect.monitor)


def _weights(record, expect: Expect) -> None:
    if not isinstance(record, dict):
        raise Damaged("weights", f"is a {type(record).__name__}, not a weights record")
    for key, value in {**expect.record, "state": None}.items():
        if key not in record:
            raise Damaged("weights", f"lacks its {key!r}")
        if key != "state" and record[key] != value:
            raise Damaged(f"weights.{key}", f"is {record[key]!r}, where this run's is {value!r}")
    tensors(record["state"], expect.weights, "weights.state", finite=True)


def _optimizer(opt, step: int, expect: Expect) -> None:
    if not isinstance(opt, dict) or set(opt) != {"steps", "buffers"}:
        raise Damaged("optimizer", "is not an optimizer state ({steps, buffers})")
    if opt["steps"] != step or not _is_int(opt["steps"]):
        raise Damaged("optimizer.steps", f"is {opt['steps']!r}, where the checkpoint's step is {step}")
    buffers = opt["buffers"]
    if not isinstance(buffers, dict) or set(buffers) != set(expect.buffers):
        held = sorted(buffers, key=str) if isinstance(buffers, dict) else type(buffers).__name__
        raise Damaged("optimizer.buffers", f"are {held}, where this run's optimizer keeps {sorted(expect.buffers)}")
    for name, values in buffers.items():
        if not isinstance(values, list) or len(values) != len(expect.params):
            raise Damaged(f"optimizer.buffers[{name!r}]", f"is not a list of {len(expect.params)} tensors")
        for i, (value, (shape, dtype)) in enumerate(zip(values, expect.params)):
            tensor(value, f"optimizer.buffers[{name!r}][{i}]", shape, dtype)


def _generator(saved, key: str, gen: torch.Generator) -> None:
    size = gen.get_state().numel()
    if not isinstance(saved, torch.Tensor) or saved.dtype != torch.uint8 or tuple(saved.shape) != (size,):
        what = (f"{str(saved.dtype).removeprefix('torch.')} {list(saved.shape)}" if isinstance(saved, torch.Tensor)
                else type(saved).__name__)
        raise Damaged(key, f"is {what}, where this device's generator state is uint8 [{size}]")
    try:
        torch.Generator(device=gen.device).set_state(saved.cpu())
    except RuntimeError as exc:
        raise Damaged(key, f"is no generator state ({str(exc).splitlines()[0] if str(exc) else exc!r})") from None


def _row(row, field: str, columns) -> None:
    if not isinstance(row, dict) or not set(row) <= set(columns) or not all(_is_number(v) for v in row.values()):
        raise Damaged(field, f"is not a row of numbers in the columns {', '.join(columns)}")


def _rows(rows, epoch: int, step: int, columns) -> None:
    if not isinstance(rows, list) or len(rows) != epoch:
        raise Damaged("rows", f"are not a list of {epoch} epoch row(s)")
    for i, row in enumerate(rows):
        _row(row, f"rows[{i}]", columns)
        if set(row) != set(columns) or row["epoch"] != i + 1:
            raise Damaged(f"rows[{i}]", f"is not epoch {i + 1}'s row")
    if rows[-1]["step"] != step:
        raise Damaged(f"rows[{epoch - 1}]", f"ends at step {rows[-1]['step']}, where the checkpoint's step is {step}")


def _monitor(rows, step: int, monitor) -> None:
    if monitor is None:
        if rows != []:
            raise Damaged("monitor", "holds rows, where this run watches nothing")
        return
    columns, every = monitor
    due = math.ceil(step / every)  # steps 0, every, 2 every, ... before `step`
    if not isinstance(rows, list) or len(rows) != due:
        raise Damaged("monitor", f"is not a list of {due} row(s) (every {every} steps of {step})")
    for k, row in enumerate(rows):
        _row(row, f"monitor[{k}]", columns)
        if row.get("step") != k * every:
            raise Damaged(f"monitor[{k}]", f"is not step {k * every}'s row")
