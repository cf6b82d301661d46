"""Reading runs back: one row per run (final numbers) or per run and epoch (curves), each with its settings, from
the files a run wrote (config.json, result.json, metrics.csv, monitor.csv)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import pandas as pd


RUN_KEYS = ("dataset", "depth", "width", "method", "seed")


def run_columns(config: dict, seeds: int) -> dict:
    """A run's setting as the claims read it (report/claims/core.py RUN_FIELDS): from its config.json."""
    return {"planned_epochs": config.get("epochs"), "optimizer": config.get("optimizer"), "lr": config.get("lr"),
            "batch_size": config.get("batch_size"), "weight_decay": config.get("weight_decay"), "seeds": seeds}


def gather_runs(result_paths: Iterable[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per run (final numbers) and one row per run and epoch (curves), from each run directory."""
    runs, curves = [], []
    for path in map(Path, result_paths):
        result = json.loads(path.read_text())
        config = json.loads((path.parent / "config.json").read_text())
        keys = {k: config[k] for k in RUN_KEYS}
        runs.append({**keys, **run_columns(config, 1), "epochs": config["epochs"],
                     "preset": config.get("preset"), "status": result["status"],
                     "epochs_completed": result["epochs_completed"], "train_acc": result.get("train_acc"),
                     "test_acc": result.get("test_acc"), "train_loss": result.get("train_loss"),
                     "test_loss": result.get("test_loss"), "run_dir": str(path.parent)})
        metrics = pd.read_csv(path.parent / "metrics.csv")
        for k, v in keys.items():
            metrics[k] = v
        curves.append(metrics)
    curves_df = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    return pd.DataFrame(runs), curves_df


def load_runs(run_dirs: Iterable[str | Path]) -> pd.DataFrame:
    """Per-epoch curves of runs, one row per (run, seed, epoch), with each run's name and settings.

    A run directory is `<...>/<name>/e<epochs>` holding `seed<k>/` (config.json, metrics.csv); its
    name is a method or a variant.
    """
    frames = []
    for run in map(Path, run_dirs):
        seed_dirs = sorted(run.glob("seed*"))
        for seed_dir in seed_dirs:
            config = json.loads((seed_dir / "config.json").read_text())
            metrics = pd.read_csv(seed_dir / "metrics.csv")
            options = config.get("method_options") or {}
            metrics = metrics.assign(run=str(run), name=run.parent.name, seed=config["seed"], method=config["method"],
                                     momentum=config["momentum"], dataset=config["dataset"], depth=config["depth"],
                                     width=config["width"], options=json.dumps(options, sort_keys=True),
                                     **run_columns(config, len(seed_dirs)))
            frames.append(metrics)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_monitors(run_dirs: Iterable[str | Path]) -> pd.DataFrame:
    """Every seed's monitor.csv (guess cosine and effective ranks over training), with the run's settings."""
    frames = []
    for run in map(Path, run_dirs):
        seed_dirs = sorted(run.glob("seed*"))
        for seed_dir in seed_dirs:
            config = json.loads((seed_dir / "config.json").read_text())
            monitor = pd.read_csv(seed_dir / "monitor.csv")
            if monitor.empty:
                raise ValueError(f"{seed_dir / 'monitor.csv'} is empty: the run was trained without monitor_every")
            options = config.get("method_options") or {}
            metrics = seed_dir / "metrics.csv"
            steps = pd.read_csv(metrics)["step"] if metrics.exists() else pd.Series([], dtype=int)
            frames.append(monitor.assign(run=str(run), name=run.parent.name, seed=config["seed"],
                                         method=config["method"], power=options.get("power"),
                                         options=json.dumps(options, sort_keys=True), dataset=config["dataset"],
                                         depth=config["depth"], width=config["width"],
                                         total_steps=int(steps.max()) if len(steps) else 0,
                                         **run_columns(config, len(seed_dirs))))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def final_accuracy(curves: pd.DataFrame) -> pd.DataFrame:
    """Each run's last epoch, mean over seeds: one row per run."""
    last = curves.sort_values("epoch").groupby(["run", "seed"]).tail(1)
    keys = ["run", "name", "method", "optimizer", "lr", "momentum"]
    return last.groupby(keys, dropna=False)[["train_acc", "test_acc"]].mean().reset_index()
