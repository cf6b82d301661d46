"""What every claim shares: verdicts, the artifacts' access, the paper's setting filters, and the premises a
verdict needs (runs that left chance, curves with enough points)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import pandas as pd

from gradguess.catalog import NUM_CLASSES
from gradguess.report.setting import reduction

HOLDS, FAILS, NOT_MEASURED = "holds", "does not hold", "not measured"
PAPER_DATASETS = ("mnist", "svhn", "cifar10", "cifar100")
TABLE2_ARCHS = ((3, 128), (6, 128), (3, 1024), (6, 1024))
PROPOSED = ("activation_mixing", "wt", "downstream")  # Figure 1's "our methods" with a >1000x gain; "(ours)" in Table 2
PROMPT_DATASETS = ("cub200", "stanford_cars", "stanford_dogs")
COMPLEXITY = {"mnist": 0, "svhn": 1, "cifar10": 2, "cifar100": 3}  # Figure 3's order, simplest first
# Ren et al.'s CIFAR-10 LocalMixer "M/8/16" as config.yaml's `table1.mixer` reads it (see models/mixer.py)
PAPER_MIXER = "mixer-b4-c512-p4-g16"
ADAM_TYPE = ("adamw", "stable_adamw", "adam")
# A run "left chance" when its accuracy reaches this multiple of chance (1/classes): a verdict needs such runs.
CHANCE_FACTOR = 1.5


@dataclass(frozen=True)
class Verdict:
    status: str
    detail: str = ""
    measured: dict = field(default_factory=dict)
    ours: dict = field(default_factory=dict)  # our setting, in the claim's paper-setting fields


class NotMeasured(Exception):
    pass


@dataclass(frozen=True)
class Claim:
    """A claim of the paper as a check. `thresholds` are the check's parameters; `tolerance` is text formatted
    from them (so the two cannot disagree); `paper` is the paper's setting (report/setting.py)."""
    id: str
    quote: str
    source: str
    needs: tuple[str, ...]
    tolerance: str
    test: Callable[..., Verdict]
    paper: dict = field(default_factory=dict)
    thresholds: dict = field(default_factory=dict)

    @property
    def tolerance_text(self) -> str:
        return self.tolerance.format(**self.thresholds)

    def check(self, artifacts: Mapping[str, pd.DataFrame], **thresholds) -> Verdict:
        try:
            return self.test(artifacts, **{**self.thresholds, **thresholds})
        except NotMeasured as e:
            return Verdict(NOT_MEASURED, str(e))

    def reduction(self, v: Verdict) -> list[str]:
        """How our setting falls short of the paper's (empty: the paper's setting)."""
        return [] if v.status == NOT_MEASURED else reduction(self.paper, v.ours)


def need(artifacts: Mapping[str, pd.DataFrame], name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    df = artifacts.get(name)
    if df is None or len(df) == 0:
        raise NotMeasured(f"no {name} artifact")
    lacking = [c for c in columns if c not in df.columns]
    if lacking:
        raise NotMeasured(f"{name} lacks columns {lacking}")
    return df


def in_setting(df: pd.DataFrame, name: str, datasets, archs=None) -> pd.DataFrame:
    """The rows measured in the paper's setting (data sets; (depth, width) pairs or None for any)."""
    keep = df["dataset"].isin(datasets)
    if archs is not None:
        keep &= pd.Series(list(zip(df["depth"], df["width"])), index=df.index).isin(list(archs))
    if not keep.any():
        seen = sorted({(str(r.dataset), r.depth, r.width) for r in df[["dataset", "depth", "width"]]
                       .drop_duplicates().itertuples()}, key=str)
        raise NotMeasured(f"{name} was measured on {seen}, not in the paper's setting "
                          f"({list(datasets)}, architectures {list(archs) if archs else 'any'})")
    return df[keep]


def on_paper_mixer(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows measured on the paper's LocalMixer setting: CIFAR10 and Ren et al.'s M/8/16."""
    keep = (df["dataset"] == "cifar10") & (df["arch"] == PAPER_MIXER)
    if not keep.any():
        seen = sorted({(str(r.dataset), str(r.arch)) for r in df[["dataset", "arch"]].drop_duplicates().itertuples()})
        raise NotMeasured(f"{name} was measured on {seen}, not the paper's (cifar10, {PAPER_MIXER})")
    return df[keep]


def verdict(ok: bool, detail: str, ours: dict | None = None, **measured) -> Verdict:
    return Verdict(HOLDS if ok else FAILS, detail, measured, ours or {})


def ratio(a: float, b: float) -> float:
    return math.inf if b <= 0 < a else a / b


def last_epoch(curves: pd.DataFrame, keys: list[str], column: str) -> pd.Series:
    """A column at each run's last epoch, mean over seeds (percent), per `keys`."""
    by = keys + (["seed"] if "seed" in curves else [])
    last = curves.sort_values("epoch").groupby(by, dropna=False).tail(1)
    return last.groupby(keys, dropna=False)[column].mean() * 100


def final_train(curves: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Final train accuracy (percent), mean over seeds, per `keys`."""
    return last_epoch(curves, keys, "train_acc")


# ---- premises: a verdict only from runs that learned, from curves long enough to read

def chance(dataset: str) -> float:
    """Chance accuracy (percent) of a data set."""
    return 100.0 / NUM_CLASSES.get(dataset, 10)


def left_chance(accuracy: float, dataset: str, factor: float = CHANCE_FACTOR) -> bool:
    return bool(accuracy >= factor * chance(dataset))


def require_learned(accuracies: Mapping, dataset: str, what: str, factor: float = CHANCE_FACTOR) -> None:
    """At least one of the compared runs left chance, else there is nothing to compare: not measured."""
    if not any(left_chance(a, dataset, factor) for a in accuracies.values() if not pd.isna(a)):
        shown = ", ".join(f"{k} {v:.1f}" for k, v in accuracies.items())
        raise NotMeasured(f"{what}: no run left chance ({shown}; chance {chance(dataset):.1f}%, needs "
                          f">= {factor:g}x): no verdict from runs that did not learn")


def require_points(n: int, minimum: int, what: str) -> None:
    if n < minimum:
        raise NotMeasured(f"{what} has {n} point(s); the check needs at least {minimum}")


def observed(df: pd.DataFrame, **columns: str) -> dict:
    """Our setting from an artifact's columns: {field: value} for each column present (several distinct
    values become a sorted list; the reduction reads the least of a count)."""
    out = {}
    for name, column in columns.items():
        if column not in df:
            continue
        values = sorted({v for v in df[column].dropna().tolist()}, key=str)
        if values:
            out[name] = values[0] if len(values) == 1 else values
    return out


def data_of(df: pd.DataFrame) -> dict:
    """{dataset: training examples} of the rows (the `train_size` column the comparison adds)."""
    if "train_size" not in df:
        return {d: None for d in df["dataset"].dropna().unique()}
    return {d: (int(g["train_size"].min()) if g["train_size"].notna().any() else None)
            for d, g in df.groupby("dataset")}


def arch_of(df: pd.DataFrame) -> str | list[str]:
    """The MLP architecture(s) of the rows as depth x width (the `arch` column for a LocalMixer)."""
    if "arch" in df:
        archs = sorted(set(df["arch"].dropna()))
    else:
        archs = sorted({f"{int(d)}x{int(w)}" for d, w in zip(df["depth"], df["width"])})
    return archs[0] if len(archs) == 1 else archs


# the run-level columns every run-based artifact carries (report/tables.load_runs), as setting fields
RUN_FIELDS = {"epochs": "planned_epochs", "optimizer": "optimizer", "lr": "lr", "batch size": "batch_size",
              "weight decay": "weight_decay", "seeds": "seeds"}


def run_setting(df: pd.DataFrame, **extra: str) -> dict:
    """Our setting of some runs: data sizes, architecture and RUN_FIELDS (plus `extra` fields)."""
    return {"data": data_of(df), "architecture": arch_of(df), **observed(df, **RUN_FIELDS, **extra)}
