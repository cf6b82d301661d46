"""Figure 7 (A.3): more downstream layers do not help (left); Jacobian spectra through k weight layers (right)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from gradguess import io
from gradguess.report.plots import save, setting_title, style, training_curves
from gradguess.report.runs import load_runs, runs_of

SPECTRUM_FLOOR = 1e-6


def draw(curves: pd.DataFrame, runs: list[str], spectra: pd.DataFrame, out, preset: str,
         jacobian: dict | None = None) -> list[Path]:
    """Left: training curves with 1-3 downstream layers (left out when no runs are given); right: Jacobian
    spectra through k weight layers. `jacobian`: the spectra's MLP (dataset, depth, width), for the titles."""
    style()
    left = bool(runs)
    fig, axes = plt.subplots(1, 2 + left, figsize=(5.5 * (2 + left), 4.4), squeeze=False,
                             gridspec_kw={"width_ratios": [1.3, 1, 1][1 - left:]})
    axes = list(axes[0])
    if left:
        training_curves(axes[0], curves, runs)
        axes[0].set_title(f"more downstream layers do not help ({setting_title(curves)})", fontsize=9)
    else:
        axes.insert(0, None)
    palette = sns.color_palette("viridis", n_colors=spectra["k"].nunique())
    for ax, state in zip(axes[1:], ("initialisation", "trained")):
        rows = spectra[spectra["state"] == state]
        for colour, (k, g) in zip(palette, rows.groupby("k")):
            # Below SPECTRUM_FLOOR a singular value is a ReLU-dead direction or float32 rounding
            # (the model's precision), not structure: drawn on the floor, kept as is in the CSV.
            ax.plot(g["index"], np.maximum(g["singular_value"], SPECTRUM_FLOOR), color=colour,
                    label=f"k = {k} (effective rank {g['effective_rank'].iloc[0]:.1f})")
        ax.set_yscale("log")
        ax.set_ylim(SPECTRUM_FLOOR / 2, 2.0)
        ax.set_xlabel("singular value index")
        where = f", {jacobian['dataset']} {jacobian['depth']}x{jacobian['width']}" if jacobian else ""
        layer = (jacobian or {}).get("layer", 0) + 1
        ax.set_title(f"d x_(i+k+1) / d s_i, i = {layer}: k weight layers{where}, {state}", fontsize=9)
        ax.legend(fontsize=7, frameon=False)
    axes[1].set_ylabel("singular value / largest")
    fig.suptitle("Figure 7: guesses through more downstream layers explore fewer directions"
                 + (", and train no better" if left else ""))
    fig.tight_layout()
    return save(fig, out, preset)




def write(out, preset: str, runs: list[str], spectra: str, jacobian: dict | None = None) -> None:
    """`runs`: the left panel's seed files (the rule's inputs); `spectra`: `gradguess jacobian`'s CSV."""
    curves = load_runs(runs)
    spectra = pd.read_csv(spectra)
    draw(curves, runs_of(runs), spectra, out, preset, jacobian)
    data = pd.concat([curves.assign(panel="left"), spectra.assign(panel="right", **(jacobian or {}))])
    io.write_text(out["csv"], data.assign(preset=preset).to_csv(index=False))
