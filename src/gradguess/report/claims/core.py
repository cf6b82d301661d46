"""What every claim shares: verdicts, the artifacts' access, the paper's setting filters, the premises a verdict
needs (every compared run past chance, curves with enough points, two or more seeds where methods are compared)
and the spread across seeds that decides a comparison."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import pandas as pd

from gradguess.catalog import NUM_CLASSES
from gradguess.report.setting import Read, reduction
from gradguess.spec import columns

HOLDS, FAILS, NOT_MEASURED = "holds", "does not hold", "not measured"
PAPER_DATASETS = ("mnist", "svhn", "cifar10", "cifar100")
TABLE2_ARCHS = ((3, 128), (6, 128), (3, 1024), (6, 1024))
PROPOSED = ("activation_mixing", "wt", "downstream")  # Figure 1's "our methods" with a >1000x gain; "(ours)" in Table 2
PROMPT_DATASETS = ("cub200", "stanford_cars", "stanford_dogs")
COMPLEXITY = {"mnist": 0, "svhn": 1, "cifar10": 2, "cifar100": 3}  # Figure 3's order, simplest first
# Ren et al.'s CIFAR-10 LocalMixer "M/8/16" as config.yaml's `table1.mixer` reads it (see models/mixer.py)
PAPER_MIXER = "mixer-b4-c512-p4-g16"
ADAM_TYPE = ("adamw", "stable_adamw", "adam")
# A run "left chance" when its accuracy reaches this multiple of chance (1/classes): every run a claim compares must.
CHANCE_FACTOR = 1.5
# A difference between methods counts when it exceeds this many standard errors of the difference of the seeds'
# means, sqrt(s_a^2/n_a + s_b^2/n_b) (the "combined standard error").
SPREAD_K = 2.0
# How a claim that compares methods decides, in its tolerance text: from the spread across seeds, never one run.
SPREAD_RULE = ("differences count when > {k:g}x the combined standard error of the seeds' means; a run of one seed "
               "has no spread: not measured")
# Our readings of the estimators where the paper's text leaves room (docs/conventions.md#conventions-stated-once),
# named in the settings of the claims that use them ("*"): fixed by our code, the same in every run.
# "1-layer downstream": A.2 "trace the intermediate activations until the next layer and backpropagate a random
# normal vector"; eq. 7 with l = 1 would guess at x_{i+1} (activation perturbation with a mask), so we guess at the
# next layer's output x_{i+2}, one ReLU past W^T's guess (Figure 1's downstream cosine is W^T's or above).
DOWNSTREAM_READING = {"1-layer downstream": Read("guess at x_{i+2}, back through W_{i+1}^T and two ReLU masks",
                                                 fixed=True)}
# "random uniform guessing" (A.2): PyTorch's random uniform, U[0, 1), not a zero-mean U[-1, 1)
UNIFORM_READING = {"self-sharpening noise": Read("U[0, 1) (torch.rand)", fixed=True)}
# A.2 builds a unit guess g_theta = cos(theta) g_par + sin(theta) g_perp; its weight-perturbation update would be
# (g_theta . g) g_theta = cos(theta) norm(g) g_theta. Ours is norm(g) g_theta, 1/cos(theta) (33x at 0.03) larger: the
# same under Adam-type optimizers, an lr rescaled by that factor under SGD (Figure 4 right). (No "|" here: the
# comparison's Markdown tables would read it as a column.)
MATCHED_READING = {"cosine-matched estimate": Read("norm(g) g_theta (A.2 with its JVP: cos(theta) norm(g) g_theta)",
                                                   fixed=True)}
# The number of seeds we read where the paper states none (config.yaml's `seeds`): a claim comparing methods needs a
# spread, and Table 2's "mean ± std" implies several runs; fewer is a reduced setting.
SEEDS_READ = 3


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
    # claims that judge one sentence in several of our readings (Figure 4's JVP modes) share a family, each named by
    # its reading (`variant`): the summary says whether their verdicts differ
    family: str = ""
    variant: str = ""
    # data that would make it fail (the table of claims in docs/results.md)
    fails_on: str = ""

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


def at_chance(accuracies: Mapping, dataset: str, factor: float = CHANCE_FACTOR) -> list[str]:
    """The runs (keys) whose accuracy is below `factor` x chance (or unmeasured)."""
    return [str(k) for k, a in accuracies.items() if pd.isna(a) or not left_chance(a, dataset, factor)]


def require_learned(accuracies: Mapping, dataset: str, what: str, factor: float = CHANCE_FACTOR) -> None:
    """Every compared run left chance, else the comparison says nothing about the methods: not measured. (One run
    past chance is not enough: a method at chance "beats" nothing and "equals" any other run at chance.)"""
    idle = at_chance(accuracies, dataset, factor)
    if idle:
        shown = ", ".join(f"{k} {v:.1f}" for k, v in accuracies.items())
        raise NotMeasured(f"{what}: {', '.join(idle)} never left chance ({shown}; chance {chance(dataset):.1f}%, "
                          f"every compared run needs >= {factor:g}x): no verdict from runs that did not learn")


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


# the run-level columns every run-based artifact carries (report/runs.py: RunSpec's run-table columns, named by
# gradguess.spec.columns, and the number of seeds), as setting fields ("batch_size" -> "batch size")
RUN_FIELDS = {**{name.replace("_", " "): columns()[name] for name in ("epochs", "optimizer", "lr", "batch_size",
                                                                      "weight_decay")}, "seeds": "seeds"}


def run_setting(df: pd.DataFrame, **extra: str) -> dict:
    """Our setting of some runs: data sizes, architecture and RUN_FIELDS (plus `extra` fields)."""
    return {"data": data_of(df), "architecture": arch_of(df), **observed(df, **RUN_FIELDS, **extra)}


# ---- the spread across seeds: a comparison of methods is decided by it, not by the means alone

@dataclass(frozen=True)
class Stat:
    """A mean over seeds with its sample standard deviation and the number of seeds."""
    mean: float
    std: float
    n: int

    @property
    def se(self) -> float:
        return self.std / math.sqrt(self.n) if self.n > 0 else math.nan


def stat(values) -> Stat:
    v = pd.Series(list(values), dtype=float).dropna()
    return Stat(float(v.mean()) if len(v) else math.nan, float(v.std(ddof=1)) if len(v) > 1 else 0.0, len(v))


def combined_se(*stats: Stat) -> float:
    """The standard error of a sum or difference of independent means."""
    return math.sqrt(sum(s.se ** 2 for s in stats))


def require_seeds(stats: Mapping, what: str) -> None:
    """A comparison of methods needs their spread across seeds: a run of one seed is not measured (its std is 0 by
    construction, which would make any difference count)."""
    single = [str(k) for k, s in stats.items() if s.n < 2]
    if single:
        raise NotMeasured(f"{what}: {', '.join(single)} has fewer than 2 seeds: no spread to judge a difference by")


def require_compared(stats: Mapping, dataset: str, what: str, factor: float = CHANCE_FACTOR) -> None:
    """The premises of a comparison of methods, {run: Stat}: every run left chance (require_learned) and has a
    spread across seeds (require_seeds)."""
    require_learned({k: s.mean for k, s in stats.items()}, dataset, what, factor)
    require_seeds(stats, what)


def exceeds(diff: float, se: float, k: float) -> bool:
    """Whether a difference exceeds k combined standard errors (a positive difference, beyond the spread)."""
    return bool(diff > k * se)


def seed_finals(curves: pd.DataFrame, keys: list[str], column: str = "train_acc") -> dict:
    """Each group's final value (percent) per seed, as a Stat over seeds, keyed like `keys` (a tuple for several)."""
    by = keys + (["seed"] if "seed" in curves else [])
    last = curves.sort_values("epoch").groupby(by, dropna=False).tail(1)
    return {k: stat(g[column] * 100) for k, g in last.groupby(keys if len(keys) > 1 else keys[0], dropna=False)}


def cell_stat(row) -> Stat:
    """A table's cell (mean, std over its completed seeds): Table 2's seeds less its diverged ones."""
    n = int(getattr(row, "seeds", 1) or 0) - int(getattr(row, "diverged", 0) or 0)
    std = getattr(row, "std", 0.0)
    return Stat(float(row.mean), 0.0 if pd.isna(std) else float(std), n)
