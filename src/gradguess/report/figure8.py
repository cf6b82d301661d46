"""Figure 8 (A.4): the LocalMixer's train and test curves with and without local losses."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from gradguess import io
from gradguess.report.names import method_label
from gradguess.report.plots import colour, markers, save, setting_title
from gradguess.report.plots import style as plot_style
from gradguess.report.runs import load_runs


def draw(curves: pd.DataFrame, out, preset: str) -> list[Path]:
    """LocalMixer, with (solid) and without (dashed) local losses: train and test accuracy over epochs,
    and test against train accuracy (higher: better generalisation at the same train accuracy)."""
    plot_style()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    for run in dict.fromkeys(curves["run"]):
        rows = curves[curves["run"] == run]
        method = rows["method"].iloc[0]
        local = bool(json.loads(rows["options"].iloc[0]).get("local_losses")) or method == "backprop"
        label = method_label(method) + (" (Ren et al.)" if method == "activation_perturbation" and local else "")
        label += "" if method == "backprop" else (", local losses" if local else ", no local losses")
        stats = rows.groupby("epoch")[["train_acc", "test_acc"]].mean().reset_index()
        style = {"color": colour(method), "ls": "-" if local else "--", "lw": 1.5, **markers(stats["epoch"])}
        axes[0].plot(stats["epoch"], stats["train_acc"] * 100, label=label, **style)
        axes[1].plot(stats["epoch"], stats["test_acc"] * 100, **style)
        axes[2].plot(stats["train_acc"] * 100, stats["test_acc"] * 100, **style)
    for ax, (xlabel, ylabel, title) in zip(axes, (("epoch", "train accuracy (%)", "train"),
                                                  ("epoch", "test accuracy (%)", "test"),
                                                  ("train accuracy (%)", "test accuracy (%)", "test against train"))):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"Figure 8: LocalMixer ({setting_title(curves)}), with (solid) and without (dashed) local losses")
    fig.tight_layout()
    return save(fig, out, preset)




def write(out, preset: str, runs: list[str]) -> None:
    curves = load_runs(runs)
    draw(curves, out, preset)
    io.write_text(out["csv"], curves.assign(preset=preset).to_csv(index=False))
