"""Measuring guesses at a fixed point of training (Figure 1 and its table).

For each batch, the exact gradient by backprop, then each method's guess on the
same batch: its cosine similarity with the gradient (whole network and per
layer) and its 1-step effectiveness (§4) under three scalings of the estimate:
along the unit guess direction (the paper's; column `one_step_effectiveness`),
raw, and rescaled to the gradient's norm (see `metrics.one_step_effectiveness`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gradguess import methods
from gradguess.methods import DEFAULT_MODE, parse_value
from gradguess.metrics import (best_loss_reduction, cosine_similarity, layer_cosine_similarity,
                               one_step_effectiveness)


@dataclass(frozen=True)
class MethodSpec:
    """A method with its options, e.g. parsed from 'downstream:layers=2'."""

    name: str
    options: tuple[tuple[str, object], ...] = ()

    @classmethod
    def parse(cls, text: str) -> "MethodSpec":
        name, _, rest = text.partition(":")
        options = []
        for item in filter(None, rest.split(",")):
            key, eq, value = item.partition("=")
            if not eq:
                raise ValueError(f"method option {item!r} in {text!r} is not of the form key=value")
            options.append((key.strip(), parse_value(value.strip())))
        spec = cls(name.strip(), tuple(options))
        spec.build()  # fail now, naming the bad method or option
        return spec

    def build(self, **extra) -> methods.Estimator:
        return methods.get(self.name, **dict(self.options), **extra)

    def label(self) -> str:
        return self.name + "".join(f":{k}={v}" for k, v in self.options)


def reference_cosine(paths, method: str = "wt", mode: str = DEFAULT_MODE, average_from_epoch: int = 1) -> float:
    """A method's mean cosine over Figure 1's measurements: what `cosine: auto` matches (§4).

    `paths`: the per-epoch measurement CSVs (`gradguess cosine`), averaged as Figure 1's table averages
    them (epochs from `average_from_epoch` on), or that table (figure1_table.csv) itself.
    """
    import pandas as pd

    paths = [paths] if isinstance(paths, (str, bytes)) or not hasattr(paths, "__iter__") else list(paths)
    frames = [pd.read_csv(p) for p in paths]
    if len(frames) == 1 and "cosine_mean" in frames[0]:
        table = frames[0]
    else:  # the table's mean: every batch of every epoch from `average_from_epoch` on (all of them if none is)
        rows = pd.concat(frames, ignore_index=True)
        used = rows[rows["epoch"] >= average_from_epoch] if "epoch" in rows else rows
        used = rows if used.empty else used
        table = used.assign(mode=used["mode"].fillna("")).groupby(["method", "mode"])["cosine"].mean().rename(
            "cosine_mean").reset_index()
    row = table[(table["method"] == method) & (table["mode"].fillna("") == mode)]
    if row.empty:
        raise ValueError(f"{', '.join(map(str, paths))} has no row for method {method!r} in mode {mode!r}, so cosine "
                         "'auto' cannot be resolved: measure it in Figure 1 (figure1.methods, figure1.modes)")
    return float(row["cosine_mean"].iloc[0])


def generators(seed: int, epoch: int | None, device) -> tuple[torch.Generator, torch.Generator]:
    """Independent batch-order and guess streams for one (seed, epoch): every epoch measures different batches."""
    words = np.random.SeedSequence([seed] if epoch is None else [seed, epoch]).generate_state(2, dtype=np.uint64)
    return tuple(torch.Generator(device=device).manual_seed(int(w) >> 1) for w in words)


def measure(model, x_train, y_train, specs: list[MethodSpec], modes: list[str], batches: int,
            batch_size: int, seed: int = 0, epoch: int | None = None) -> list[dict]:
    """One row per (batch, method, mode): cosine, per-layer cosines, 1-step effectiveness (three scalings)."""
    device = x_train.device
    data_gen, guess_gen = generators(seed, epoch, device)
    order = torch.randperm(len(x_train), generator=data_gen, device=device)
    exact_method = methods.get("backprop")
    rows = []
    for b in range(batches):
        idx = order[b * batch_size:(b + 1) * batch_size]
        if len(idx) == 0:
            break
        x, y = x_train[idx], y_train[idx]
        exact = exact_method.estimate(model, x, y)
        reference = best_loss_reduction(model, exact, x, y)  # backprop's, shared by every method on this batch
        for spec in specs:
            takes_mode = issubclass(type(spec.build()), methods.ActivationGuess)
            for mode in (modes if takes_mode else [None]):
                est = spec.build(**({"mode": mode} if mode else {})).estimate(model, x, y, guess_gen)
                row = {"batch": b, "method": spec.label(), "mode": mode or "",
                       "cosine": cosine_similarity(est, exact)}
                for scaling, column in SCALING_COLUMNS.items():
                    row[column] = one_step_effectiveness(model, est, exact, x, y, scaling=scaling,
                                                         reference=reference)
                row.update({f"cosine[{k}]": v for k, v in layer_cosine_similarity(est, exact).items()})
                rows.append(row)
    return rows


# the paper's 1-step effectiveness is the first column
SCALING_COLUMNS = {"unit": "one_step_effectiveness", "raw": "one_step_effectiveness_raw",
                   "norm_matched": "one_step_effectiveness_norm_matched"}
