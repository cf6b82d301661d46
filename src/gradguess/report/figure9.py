"""Figure 9 (A.5): prompt tuning a frozen ViT (VPT-shallow) with backprop, directional descent and W^T; test
accuracy over training, one panel per data set, each method at the learning rate of its grid with the highest
final train accuracy (mean over seeds: no test data chooses), a band from the lowest to the highest seed."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from gradguess import io
from gradguess.report.names import dataset_key, dataset_label, method_key, method_label, vit_label
from gradguess.report.plots import band, colour, save, style
from gradguess.report.runs import final_accuracy, load_runs
from gradguess.spec import defaults

VIT_B16 = (16, 768, 12, 12, 4.0)  # patch, width, blocks, heads, MLP ratio


def backbone(weights: str | None) -> str:
    """'pre-trained (<source file>)' or 'random (seed k)', from the canonical weights file's metadata (its
    safetensors header, read as JSON: no tensor is loaded)."""
    if not weights:
        return "random (seed of the run)"
    try:
        with open(weights, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            meta = json.loads(f.read(size)).get("__metadata__", {})
    except (OSError, ValueError, struct.error):
        return f"unreadable weights file {weights}"
    source = meta.get("source", "?")
    return source if source.startswith("random") else f"pre-trained ({source})"


def _model(seed_dir: Path) -> dict:
    spec = {**defaults(), **json.loads((seed_dir / "config.json").read_text())["spec"]}
    o = spec["model"]["options"]
    sizes = (o["patch"], o["dim"], o["depth"], o["heads"], float(o.get("mlp_ratio", 4.0)))
    return {"arch": "ViT-B/16" if sizes == VIT_B16 else f"vit-p{o['patch']}-w{o['dim']}-b{o['depth']}-h{o['heads']}",
            "arch_sizes": "-".join(str(o[k]) for k in ("patch", "dim", "depth", "heads")),
            "prompts": o["n_prompt"], "backbone": backbone(o.get("weights")),
            "schedule": spec["schedule"], "warmup_epochs": spec["warmup_epochs"]}


def selection(curves: pd.DataFrame) -> pd.DataFrame:
    """Per (data set, method): the lr with the highest final train accuracy (a diverged run counts as 0; ties:
    the larger lr). Every run of the grid, with `chosen` marking the winners."""
    table = final_accuracy(curves).merge(curves.groupby("run")["dataset"].first().reset_index(), on="run")
    score = table["train_acc"].fillna(0.0)
    best = score.groupby([table["dataset"], table["method"]]).transform("max")
    winners = table[score.eq(best)].sort_values("lr", ascending=False).groupby(["dataset", "method"]).head(1)
    table["chosen"] = table.index.isin(winners.index)
    order = table.assign(_d=table["dataset"].map(dataset_key), _m=table["method"].map(method_key))
    return order.sort_values(["_d", "_m", "lr"], ascending=[True, True, False]).drop(columns=["_d", "_m"]).reset_index(
        drop=True)


def draw(curves: pd.DataFrame, chosen: pd.DataFrame, out, preset: str) -> list[Path]:
    style()
    datasets = sorted(set(chosen["dataset"]), key=dataset_key)
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets) + 1, 4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for r in sorted(chosen[chosen["dataset"] == dataset].itertuples(), key=lambda r: method_key(r.method)):
            rows = curves[curves["run"] == r.run]
            stats = rows.groupby("epoch")["test_acc"].agg(["mean", "min", "max"]) * 100
            band(ax, stats.index, stats, colour(r.method), f"{method_label(r.method)} (lr {r.lr:g})")
        ax.set_title(dataset_label(dataset))
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy (%)")
        ax.legend(fontsize=7, frameon=False)
    first = curves.iloc[0]
    model = vit_label(*(int(x) for x in first["arch_sizes"].split("-")), int(first["prompts"]))
    fig.suptitle(f"Figure 9: prompt tuning a frozen {model}\nbackbone {first['backbone']}; each method at its lr "
                 "with the highest final train accuracy", fontsize=10)
    fig.tight_layout()
    return save(fig, out, preset)


def write(out, preset: str, runs: list[str]) -> None:
    """`runs`: the grid's seed files (the rule's inputs). figure9.csv: every run's curves, `chosen` marking the
    lines drawn; the comparison reads its final test accuracies."""
    curves = load_runs(runs)
    models = {run: _model(Path(run) / f"seed{seed}") for run, seed in curves[["run", "seed"]].drop_duplicates()
              .itertuples(index=False)}
    curves = curves.assign(**{k: curves["run"].map(lambda r, k=k: models[r][k]) for k in next(iter(models.values()))})
    table = selection(curves)
    chosen = table[table["chosen"]]
    draw(curves, chosen, out, preset)
    data = curves.assign(chosen=curves["run"].isin(chosen["run"]), preset=preset)
    io.write_text(out["csv"], data.to_csv(index=False))
