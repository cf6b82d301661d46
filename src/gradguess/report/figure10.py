"""Figure 10 (A.6): Figure 2 (right) drawn apart, one panel per (width, depth, layer)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from gradguess import io
from gradguess.report.figure2 import subspace_axes
from gradguess.report.names import dataset_label
from gradguess.report.plots import save, style


def draw(curves: pd.DataFrame, out, preset: str) -> list[Path]:
    """Figure 2 (right) drawn apart: one panel per (width, depth, layer); colour: epoch."""
    style()
    panels = sorted({(int(w), int(d), int(layer)) for w, d, layer in
                     zip(curves["width"], curves["depth"], curves["layer"])})
    widths = sorted({p[0] for p in panels})
    columns = sorted({(d, layer) for _, d, layer in panels})
    fig, axes = plt.subplots(len(widths), len(columns), figsize=(2.1 * len(columns) + 1, 2.2 * len(widths) + 0.8),
                             sharex=True, sharey=True, squeeze=False)
    epochs = sorted(curves["epoch"].unique())
    cmap = plt.get_cmap("viridis")
    palette = {e: cmap(i / max(len(epochs) - 1, 1)) for i, e in enumerate(epochs)}
    for r, w in enumerate(widths):
        for c, (d, layer) in enumerate(columns):
            ax = axes[r][c]
            rows = curves[(curves["width"] == w) & (curves["depth"] == d) & (curves["layer"] == layer)]
            if rows.empty:
                ax.set_visible(False)
                continue
            subspace_axes(ax, rows, "epoch", palette, legend=False)
            if r == 0:
                ax.set_title(f"depth {d}, layer {layer}", fontsize=8)
            if c == 0:
                ax.set_ylabel(f"width {w}\ncosine", fontsize=8)
            if r == len(widths) - 1:
                ax.set_xlabel("k")
    datasets = ", ".join(dataset_label(d) for d in sorted(set(curves["dataset"]))) if "dataset" in curves else ""
    # 0.6 inch above the panels for the title, whatever the figure's height: it overlapped the panel titles;
    # before the colour bar, which takes its room from the panels as they are then
    height = fig.get_figheight()
    fig.subplots_adjust(top=1 - 0.6 / height)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(min(epochs), max(epochs)))
    fig.colorbar(sm, ax=axes, label="epoch", shrink=0.6, pad=0.01)
    fig.suptitle(f"Figure 10: gradient vs activation subspaces on {datasets}, per width, depth and layer "
                 "(colour: epoch; grey: random subspace)", y=1 - 0.08 / height, va="top")
    return save(fig, out, preset)




def write(out, preset: str, subspace: list[str]) -> None:
    curves = pd.concat([pd.read_csv(p) for p in subspace], ignore_index=True)
    draw(curves, out, preset)
    io.write_text(out["csv"], curves.assign(preset=preset).to_csv(index=False))
