"""Reading runs back: one row per run (final numbers) or per run and epoch (curves), each with its settings, from
the files a run wrote (config.json, result.json, metrics.csv, monitor.csv).

Every reader takes the files a rule declares as its inputs (a seed directory's result.json, metrics.csv or
monitor.csv; or the seed directory itself), never globs run directories: what a figure shows is what its rule
waited for. A run is the directory above its seeds, <...>/<name>/e<epochs>/seed<k>.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import pandas as pd

from gradguess.spec import columns, defaults

RUN_KEYS = ("dataset", "depth", "width", "method", "seed")


def seed_dir(path: str | Path) -> Path:
    path = Path(path)
    return path if path.name.startswith("seed") and path.is_dir() else path.parent


def settings(seed: Path) -> dict:
    """A seed's config.json flattened to what the tables and figures group by: data set, architecture (and an
    MLP's depth and width), method and options, seed, then each RunSpec field with a run-table column
    (gradguess.spec.columns: optimizer, lr, momentum, batch, weight decay as the optimizer applied it, planned
    epochs, augmentation), and the preset."""
    config = json.loads((seed / "config.json").read_text())
    spec = {**defaults(), **config["spec"]}  # a field an older run did not record: its default
    model = spec["model"]
    run = {column: spec[name] for name, column in columns().items()}
    run["weight_decay"] = config["weight_decay"]  # resolved: None in a spec is the optimizer's default
    return {"dataset": spec["dataset"], "model": model["name"], "depth": model["options"].get("depth"),
            "width": model["options"].get("width"), "method": spec["method"]["name"],
            "options": json.dumps(spec["method"]["options"], sort_keys=True), "seed": config["seed"], **run,
            "preset": config.get("preset")}


def _seeds(paths: Iterable[str | Path]) -> list[tuple[Path, Path, int]]:
    """(run, seed directory, how many of the run's seeds are given), in the order given."""
    seeds = list(dict.fromkeys(seed_dir(p) for p in paths))
    count = pd.Series([str(s.parent) for s in seeds]).value_counts().to_dict() if seeds else {}
    return [(s.parent, s, count[str(s.parent)]) for s in seeds]


def gather_runs(paths: Iterable[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per seed (final numbers) and one row per seed and epoch (curves)."""
    runs, curves = [], []
    for run, seed, _ in _seeds(paths):
        result = json.loads((seed / "result.json").read_text())
        s = settings(seed)
        runs.append({**s, "seeds": 1, "epochs": s["planned_epochs"], "status": result["status"],
                     "epochs_completed": result["epochs_completed"], "train_acc": result.get("train_acc"),
                     "test_acc": result.get("test_acc"), "train_loss": result.get("train_loss"),
                     "test_loss": result.get("test_loss"), "run_dir": str(seed)})
        curves.append(pd.read_csv(seed / "metrics.csv").assign(**{k: s[k] for k in RUN_KEYS}))
    return pd.DataFrame(runs), (pd.concat(curves, ignore_index=True) if curves else pd.DataFrame())


# the columns the figures' CSVs carry after a run's metrics, in this order
CURVE_COLUMNS = ("run", "name", "seed", "method", "momentum", "dataset", "depth", "width", "options", "planned_epochs",
                 "optimizer", "lr", "batch_size", "weight_decay", "seeds", "model", "augment", "preset")


def _with(frame: pd.DataFrame, run: Path, seed: Path, n: int) -> pd.DataFrame:
    values = {"run": str(run), "name": run.parent.name, "seeds": n, **settings(seed)}
    return frame.assign(**{k: values[k] for k in CURVE_COLUMNS})


def load_runs(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Per-epoch curves, one row per (run, seed, epoch), with each run's name (a method or a variant) and settings."""
    frames = [_with(pd.read_csv(seed / "metrics.csv"), run, seed, n) for run, seed, n in _seeds(paths)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_monitors(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Every seed's monitor.csv (guess cosine and effective ranks over training), with the run's settings."""
    frames = []
    for run, seed, n in _seeds(paths):
        monitor = pd.read_csv(seed / "monitor.csv")
        if monitor.empty:
            raise ValueError(f"{seed / 'monitor.csv'} is empty: the run was trained without monitor_every")
        metrics = seed / "metrics.csv"
        steps = pd.read_csv(metrics)["step"] if metrics.exists() else pd.Series([], dtype=int)
        monitor = _with(monitor, run, seed, n)
        frames.append(monitor.assign(power=json.loads(monitor["options"].iloc[0]).get("power"),
                                     total_steps=int(steps.max()) if len(steps) else 0))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def runs_of(paths: Iterable[str | Path]) -> list[str]:
    """The runs the given seed files belong to, in order: how figures name their panels' runs."""
    return list(dict.fromkeys(str(run) for run, _, _ in _seeds(paths)))


def final_accuracy(curves: pd.DataFrame) -> pd.DataFrame:
    """Each run's last epoch, mean over seeds: one row per run."""
    last = curves.sort_values("epoch").groupby(["run", "seed"]).tail(1)
    keys = ["run", "name", "method", "optimizer", "lr", "momentum"]
    return last.groupby(keys, dropna=False)[["train_acc", "test_acc"]].mean().reset_index()
