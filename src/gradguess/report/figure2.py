"""Figure 2 (§3.3): per class, the first principal directions of input gradients and of inputs, and a random mix
of inputs (left); each layer's gradient projected onto its activations' top-k directions against a random k-dim
subspace (right)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from gradguess import io
from gradguess.report.names import dataset_label
from gradguess.report.plots import save, style


def _image(values: np.ndarray, channels: int, height: int, width: int) -> tuple[np.ndarray, dict]:
    """A unit vector as a picture: grey images on a diverging map around 0, colour ones rescaled to [0, 1]."""
    image = values.reshape(channels, height, width)
    if channels == 1:
        bound = float(np.abs(image).max()) or 1.0
        return image[0], {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}
    image = image.transpose(1, 2, 0)
    span = float(image.max() - image.min()) or 1.0
    return (image - image.min()) / span, {}


IMAGE_ROWS = (("gradient_pc", "gradient PC"), ("input_pc", "input PC"), ("random_mix", "random mix"))


def _class_grid(fig, spec, images: pd.DataFrame, state: str):
    rows = images[images["state"] == state]
    classes = sorted(rows["class"].unique())
    grid = spec.subgridspec(len(IMAGE_ROWS), len(classes), wspace=0.05, hspace=0.05)
    pixels = [c for c in rows.columns if c.startswith("p") and c[1:].isdigit()]
    values = rows[pixels].to_numpy(float)  # once: indexing a frame of thousands of columns is slow
    where = {(k, cls): i for i, (k, cls) in enumerate(zip(rows["kind"], rows["class"]))}
    for r, (kind, label) in enumerate(IMAGE_ROWS):
        for c, cls in enumerate(classes):
            ax = fig.add_subplot(grid[r, c])
            i = where[(kind, cls)]
            row = rows.iloc[i]
            picture, style = _image(values[i], int(row["image_channels"]),
                                    int(row["image_height"]), int(row["image_width"]))
            ax.imshow(picture, **style)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"class {cls}", fontsize=7, pad=2)
            if c == 0:
                ax.set_ylabel(label, fontsize=7)
    epoch = int(rows["epoch"].iloc[0])
    return f"{state} (epoch {epoch})"


def subspace_axes(ax, curves: pd.DataFrame, colour_by: str, palette, legend: bool = True):
    """Projection cosine against k: every (model, layer, epoch) curve faint, activations in colour, random grey."""
    keys = [k for k in ("depth", "width", "layer", "epoch") if k in curves]
    for (group, rows) in curves.groupby(keys):
        key = dict(zip(keys, group if isinstance(group, tuple) else (group,)))
        ax.plot(rows["k"], rows["random"], color="0.6", lw=0.6, alpha=0.4)
        ax.plot(rows["k"], rows["activation"], color=palette[key[colour_by]], lw=0.8, alpha=0.6)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    if legend:
        from matplotlib.lines import Line2D
        handles = [Line2D([], [], color=c, label=f"{colour_by} {v}") for v, c in palette.items()]
        handles.append(Line2D([], [], color="0.6", label="random subspace"))
        ax.legend(handles=handles, fontsize=7, frameon=False, loc="lower right")


def draw(images: pd.DataFrame, curves: pd.DataFrame, out, preset: str) -> list[Path]:
    """Left: per class, first principal directions of input gradients and of inputs, and a random mix,
    at initialisation and trained; right: gradients projected onto the activations' top-k directions."""
    style()
    fig = plt.figure(figsize=(17, 6.2))
    outer = fig.add_gridspec(2, 2, width_ratios=[1.7, 1], wspace=0.18, hspace=0.15)
    for row, state in enumerate(("initialisation", "trained")):
        title = _class_grid(fig, outer[row, 0], images, state)
        box = outer[row, 0].get_position(fig)
        fig.text(box.x0 - 0.035, (box.y0 + box.y1) / 2, title, fontsize=9, rotation=90, ha="center", va="center")
    ax = fig.add_subplot(outer[:, 1])
    depths = sorted(curves["depth"].unique())
    palette = dict(zip(depths, sns.color_palette("rocket", n_colors=len(depths) + 1)))
    subspace_axes(ax, curves, "depth", palette)
    ax.set_xlabel("k (basis vectors)")
    ax.set_ylabel("cosine(gradient, its projection)")
    widths = ", ".join(map(str, sorted(curves["width"].unique())))
    ax.set_title(f"activations' top-k directions vs a random k-dim subspace\n(width {widths}; every layer, every epoch)",
                 fontsize=9)
    datasets = ", ".join(dataset_label(d) for d in sorted(set(curves["dataset"]))) if "dataset" in curves else ""
    fig.suptitle(f"Figure 2: gradients lie in the activations' subspace (right: {datasets})")
    return save(fig, out, preset)




def write(out, preset: str, subspace: list[str], images: str) -> None:
    curves = pd.concat([pd.read_csv(p) for p in subspace], ignore_index=True)
    images = pd.read_csv(images)
    draw(images, curves, out, preset)
    # the left panel's pictures apart: one pixel column each, which would pad every curve row
    images = pd.concat([images, pd.DataFrame({"preset": preset}, index=images.index)], axis=1)
    io.write_text(out["images"], images.to_csv(index=False))
    io.write_text(out["csv"], curves.assign(preset=preset).to_csv(index=False))
