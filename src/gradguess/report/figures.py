"""The paper's figures, drawn with seaborn, each saved as PNG and PDF and stamped with its preset."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # cluster nodes and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from gradguess import io  # noqa: E402
from gradguess.report.names import (PALETTE, arch_label, arch_params, dataset_key, dataset_label,  # noqa: E402
                                    method_key, method_label, run_label)


def _style():
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)


def _colour(method: str) -> str:
    return PALETTE.get(method.partition(":")[0], "#17becf")


def save(fig, prefix: str | Path, preset: str) -> list[Path]:
    fig.text(0.995, 0.005, f"gradguess · preset: {preset}", ha="right", va="bottom", fontsize=7, color="0.45")
    prefix = Path(prefix)
    paths = []
    for suffix in (".png", ".pdf"):
        with io.atomic_path(prefix.with_suffix(suffix)) as tmp:
            fig.savefig(tmp, format=suffix[1:], dpi=200, bbox_inches="tight")
        paths.append(prefix.with_suffix(suffix))
    plt.close(fig)
    return paths


def figure1(measurements: pd.DataFrame, prefix, preset: str, average_from_epoch: int = 1) -> list[Path]:
    """Cosine similarity with the true gradient along the backprop trajectory, one panel per JVP mode.

    `joint` is the paper's mode, `per_layer` our extension; epochs before
    `average_from_epoch` are shaded: drawn, but not in the table's average.
    """
    _style()
    grouped = measurements.groupby(["method", "mode", "epoch"], dropna=False)["cosine"]
    per_epoch = grouped.agg(mean="mean", q25=lambda c: c.quantile(0.25), q75=lambda c: c.quantile(0.75)).reset_index()
    per_epoch["mode"] = per_epoch["mode"].fillna("")
    modes = [m for m in ("joint", "per_layer") if m in set(per_epoch["mode"])] or [""]
    fig, axes = plt.subplots(1, len(modes), figsize=(5.2 * len(modes), 4), sharey=True, squeeze=False)
    methods = sorted(per_epoch["method"].unique(), key=method_key)
    for ax, mode in zip(axes[0], modes):
        for method in methods:
            rows = per_epoch[(per_epoch["method"] == method) & ((per_epoch["mode"] == mode) | (per_epoch["mode"] == ""))]
            if rows.empty:
                continue
            floor = 1e-6  # a log axis cannot show the rare negative batch mean
            ax.plot(rows["epoch"], rows["mean"].clip(lower=floor), marker="o", ms=3, color=_colour(method),
                    label=method_label(method))
            ax.fill_between(rows["epoch"], rows["q25"].clip(lower=floor), rows["q75"].clip(lower=floor),
                            color=_colour(method), alpha=0.15, lw=0)
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch of backprop training")
        if per_epoch["epoch"].min() < average_from_epoch:
            ax.axvspan(per_epoch["epoch"].min() - 0.5, average_from_epoch - 0.5, color="0.9", zorder=0, lw=0)
        ax.set_title({"joint": "JVP mode: joint (the paper's)", "per_layer": "JVP mode: per_layer (our extension)"}
                     .get(mode, ""))
    positive = per_epoch["mean"][per_epoch["mean"] > 0]
    if not positive.empty:
        axes[0][0].set_ylim(bottom=float(positive.min()) / 5)
    axes[0][0].set_ylabel("cosine similarity with the gradient")
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.suptitle("Figure 1: guessed-gradient cosine similarity along the backprop trajectory\n"
                 "(mean over batches, different batches each epoch; band: interquartile range;"
                 " grey: not in the table's average)" if per_epoch["epoch"].min() < average_from_epoch else
                 "Figure 1: guessed-gradient cosine similarity along the backprop trajectory\n"
                 "(mean over batches, different batches each epoch; band: interquartile range)")
    fig.tight_layout()
    return save(fig, prefix, preset)


def _arch_order(runs: pd.DataFrame) -> list[tuple[int, int]]:
    return sorted({(int(d), int(w)) for d, w in zip(runs["depth"], runs["width"])}, key=lambda a: arch_params(*a))


def figure3(runs: pd.DataFrame, prefix, preset: str) -> list[Path]:
    """Train (top) and test (bottom) accuracy against (depth, width), one column per dataset."""
    _style()
    runs = runs[runs["status"] == "completed"].copy()
    datasets = sorted(runs["dataset"].unique(), key=lambda d: dataset_key(d, figure3=True))
    archs = _arch_order(runs)
    runs["arch"] = [archs.index((int(d), int(w))) for d, w in zip(runs["depth"], runs["width"])]
    methods = sorted(runs["method"].unique(), key=method_key)
    fig, axes = plt.subplots(2, len(datasets), figsize=(3.6 * len(datasets) + 1.5, 6.4), sharex=True, squeeze=False)
    for col, dataset in enumerate(datasets):
        for row, split in enumerate(("train", "test")):
            ax = axes[row][col]
            for i, method in enumerate(methods):
                g = runs[(runs["dataset"] == dataset) & (runs["method"] == method)]
                stats = g.groupby("arch")[f"{split}_acc"].agg(["mean", "std"]).reset_index()
                offset = (i - (len(methods) - 1) / 2) * 0.05  # keep overlapping error bars apart
                ax.errorbar(stats["arch"] + offset, stats["mean"] * 100, yerr=stats["std"].fillna(0) * 100,
                            marker="o", ms=4, capsize=2, color=_colour(method), label=method_label(method))
            ax.set_xticks(range(len(archs)), [f"({d}, {w})" for d, w in archs], rotation=30)
            if row == 0:
                ax.set_title(dataset_label(dataset))
            if col == 0:
                ax.set_ylabel(f"{split} accuracy (%)")
            if row == 1:
                ax.set_xlabel("(depth, width)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle("Figure 3: MLP accuracy by architecture (mean ± std over seeds)")
    fig.tight_layout()
    return save(fig, prefix, preset)


def figure11(curves: pd.DataFrame, prefix, preset: str) -> list[Path]:
    """Train (solid) and test (dashed) accuracy per epoch, rows datasets, columns architectures."""
    _style()
    datasets = sorted(curves["dataset"].unique(), key=dataset_key)
    archs = _arch_order(curves)
    methods = sorted(curves["method"].unique(), key=method_key)
    fig, axes = plt.subplots(len(datasets), len(archs), figsize=(3.4 * len(archs) + 1.8, 2.8 * len(datasets)),
                             sharex=True, sharey="row", squeeze=False)
    mean = curves.groupby(["dataset", "depth", "width", "method", "epoch"])[["train_acc", "test_acc"]].mean().reset_index()
    for r, dataset in enumerate(datasets):
        for c, (depth, width) in enumerate(archs):
            ax = axes[r][c]
            for method in methods:
                g = mean[(mean["dataset"] == dataset) & (mean["depth"] == depth) & (mean["width"] == width)
                         & (mean["method"] == method)]
                if g.empty:
                    continue
                ax.plot(g["epoch"], g["train_acc"] * 100, color=_colour(method), lw=1.4, label=method_label(method))
                ax.plot(g["epoch"], g["test_acc"] * 100, color=_colour(method), lw=1.2, ls="--")
            if r == 0:
                ax.set_title(arch_label(depth, width))
            if c == 0:
                ax.set_ylabel(f"{dataset_label(dataset)}\naccuracy (%)")
            if r == len(datasets) - 1:
                ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles += [plt.Line2D([], [], color="0.3", lw=1.4), plt.Line2D([], [], color="0.3", ls="--", lw=1.2)]
    labels += ["train", "test"]
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle("Figure 11: train (solid) and test (dashed) accuracy of the Table 2 runs")
    fig.tight_layout()
    return save(fig, prefix, preset)


def _label_of(rows: pd.DataFrame) -> str:
    r = rows.iloc[0]
    return run_label(r["method"], json.loads(r["options"]), r["optimizer"], r["momentum"])


def _variant_colour(name: str, method: str) -> str:
    extra = {"downstream2": "#c5b0d5", "downstream3": "#5b3a8a"}
    return extra.get(name, _colour(method))


def _training_curves(ax, curves: pd.DataFrame, runs: list[str], split: str = "train"):
    """Mean accuracy over seeds per epoch, a band from the lowest to the highest seed."""
    for run in runs:
        rows = curves[curves["run"] == run]
        if rows.empty:
            continue
        stats = rows.groupby("epoch")[f"{split}_acc"].agg(["mean", "min", "max"]).reset_index()
        colour = _variant_colour(rows["name"].iloc[0], rows["method"].iloc[0])
        dashed = rows["optimizer"].iloc[0] == "sgd" and not rows["momentum"].iloc[0]
        ax.plot(stats["epoch"], stats["mean"] * 100, color=colour, ls="--" if dashed else "-", lw=1.5,
                label=_label_of(rows))
        ax.fill_between(stats["epoch"], stats["min"] * 100, stats["max"] * 100, color=colour, alpha=0.15, lw=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{split} accuracy (%)")
    ax.legend(fontsize=7, frameon=False)


def figure4(averaging: pd.DataFrame, curves: pd.DataFrame, middle: list[str], right: list[str], prefix,
            preset: str) -> list[Path]:
    """Left: cosine of the mean of n guesses of one example; middle: matched cosine; right: with/without momentum."""
    _style()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    ax = axes[0]
    for method in sorted(averaging["method"].unique(), key=method_key):
        rows = averaging[averaging["method"] == method]
        stats = rows.groupby("guesses")["cosine"].agg(["mean", "min", "max"]).reset_index()
        ax.plot(stats["guesses"], stats["mean"], marker="o", ms=3, color=_colour(method), label=method_label(method))
        ax.fill_between(stats["guesses"], stats["min"], stats["max"], color=_colour(method), alpha=0.15, lw=0)
        if "limit" in rows and rows["limit"].notna().any():  # a biased method's curve ends at its mean's cosine
            limit = rows["limit"].mean()
            ax.axhline(limit, color=_colour(method), ls=":", lw=1,
                       label=f"{method_label(method)}: cosine of its mean estimate, {limit:.2f}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("guesses averaged (one example)")
    ax.set_ylabel("cosine similarity with its gradient")
    examples = averaging["example"].nunique()
    ax.set_title(f"averaging guesses: mean and range over {examples} example(s)", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    _training_curves(axes[1], curves, middle)
    axes[1].set_title("matched cosine (AdamW)", fontsize=9)
    _training_curves(axes[2], curves, right)
    axes[2].set_title("bias and momentum (SGD; solid: momentum 0.9, dashed: none)", fontsize=9)
    fig.suptitle("Figure 4: biased guesses saturate; a matched-cosine unbiased guess trains faster, with momentum")
    fig.tight_layout()
    return save(fig, prefix, preset)


def figure6(curves: pd.DataFrame, selection: pd.DataFrame, prefix, preset: str) -> list[Path]:
    """One panel per optimizer: every method's train curve at its best learning rate."""
    _style()
    optimizers = [o for o in ("adamw", "sgd", "stable_adamw") if o in set(selection["optimizer"])]
    names = {"adamw": "AdamW", "sgd": "SGD", "stable_adamw": "StableAdamW"}
    fig, axes = plt.subplots(1, len(optimizers), figsize=(5 * len(optimizers) + 1.5, 4), sharey=True, squeeze=False)
    for ax, optimizer in zip(axes[0], optimizers):
        chosen = selection[(selection["optimizer"] == optimizer) & selection["chosen"]]
        for r in sorted(chosen.itertuples(), key=lambda r: method_key(r.method)):
            stats = curves[curves["run"] == r.run].groupby("epoch")["train_acc"].mean()
            ax.plot(stats.index, stats.values * 100, color=_colour(r.method), lw=1.5,
                    label=f"{method_label(r.method)} (lr {r.lr:g})")
        ax.set_title(names[optimizer])
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7, frameon=False)
    axes[0][0].set_ylabel("train accuracy (%)")
    fig.suptitle("Figure 6: each method at its best learning rate (highest final train accuracy), per optimizer")
    fig.tight_layout()
    return save(fig, prefix, preset)


SPECTRUM_FLOOR = 1e-6


def figure7(curves: pd.DataFrame, runs: list[str], spectra: pd.DataFrame, prefix, preset: str) -> list[Path]:
    """Left: training curves with 1-3 downstream layers; right: Jacobian spectra through k layers."""
    _style()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4), gridspec_kw={"width_ratios": [1.3, 1, 1]})
    _training_curves(axes[0], curves, runs)
    axes[0].set_title("more downstream layers do not help", fontsize=9)
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
        ax.set_title(f"Jacobian through k layers, {state}", fontsize=9)
        ax.legend(fontsize=7, frameon=False)
    axes[1].set_ylabel("singular value / largest")
    fig.suptitle("Figure 7: deeper downstream guesses explore fewer directions, and train no better")
    fig.tight_layout()
    return save(fig, prefix, preset)


def _band(ax, x, stats, colour, label, **kw):
    ax.plot(x, stats["mean"], color=colour, label=label, lw=1.5, **kw)
    ax.fill_between(x, stats["min"], stats["max"], color=colour, alpha=0.15, lw=0)


def figure5(top: pd.DataFrame, curves: pd.DataFrame, bottom: pd.DataFrame, prefix, preset: str) -> list[Path]:
    """Top: self-sharpening's cosine rises while the others' stay flat, and its train accuracy;
    bottom: wt_sv_power per power, cosine and the first layer's effective rank over training."""
    _style()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.4))
    ax = axes[0][0]
    for run in dict.fromkeys(top["run"]):
        rows = top[top["run"] == run]
        stats = rows.groupby("step")["cosine"].agg(["mean", "min", "max"]).reset_index()
        _band(ax, stats["step"], stats, _colour(rows["method"].iloc[0]), method_label(rows["method"].iloc[0]))
    ax.axhline(0, color="0.5", lw=0.6)  # linear: a single batch's cosine can be negative
    ax.set_xlabel("step")
    ax.set_ylabel("cosine similarity with the gradient")
    ax.set_title("cosine of the step's estimate (whole network)", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    ax = axes[0][1]
    for run in dict.fromkeys(curves["run"]):
        rows = curves[curves["run"] == run]
        colour, label = _colour(rows["method"].iloc[0]), method_label(rows["method"].iloc[0])
        for split, ls in (("train", "-"), ("test", ":")):
            stats = (rows.groupby("epoch")[f"{split}_acc"].agg(["mean", "min", "max"]) * 100).reset_index()
            _band(ax, stats["epoch"], stats, colour, label if split == "train" else None, ls=ls)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("train accuracy (solid) and test accuracy (dotted)", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    powers = sorted(bottom["power"].dropna().unique()) if not bottom.empty else []
    palette = sns.color_palette("viridis", n_colors=max(len(powers), 1))
    rank = "rank_layers.0"
    for colour, power in zip(palette, powers):
        rows = bottom[bottom["power"] == power]
        replicates = rows["seed"].nunique()
        for ax, column in ((axes[1][0], "cosine"), (axes[1][1], rank)):
            stats = rows.groupby("step")[column].agg(["mean", "min", "max"]).reset_index()
            _band(ax, stats["step"], stats, colour, f"power {power:g}")
    for ax, ylabel, title in ((axes[1][0], "cosine similarity with the gradient", "W^T with singular values ^ power"),
                              (axes[1][1], "effective rank, first layer's weights", "first layer's effective rank")):
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.set_title(title + (f" (mean and range over {replicates} replicates)" if powers else ""), fontsize=9)
        ax.legend(fontsize=7, frameon=False, ncol=2)
    fig.suptitle("Figure 5: self-sharpening (top), re-created by raising W's singular values to a power (bottom)")
    fig.tight_layout()
    return save(fig, prefix, preset)


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


def _subspace_axes(ax, curves: pd.DataFrame, colour_by: str, palette, legend: bool = True):
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


def figure2(images: pd.DataFrame, curves: pd.DataFrame, prefix, preset: str) -> list[Path]:
    """Left: per class, first principal directions of input gradients and of inputs, and a random mix,
    at initialisation and trained; right: gradients projected onto the activations' top-k directions."""
    _style()
    fig = plt.figure(figsize=(17, 6.2))
    outer = fig.add_gridspec(2, 2, width_ratios=[1.7, 1], wspace=0.18, hspace=0.15)
    for row, state in enumerate(("initialisation", "trained")):
        title = _class_grid(fig, outer[row, 0], images, state)
        box = outer[row, 0].get_position(fig)
        fig.text(box.x0 - 0.035, (box.y0 + box.y1) / 2, title, fontsize=9, rotation=90, ha="center", va="center")
    ax = fig.add_subplot(outer[:, 1])
    depths = sorted(curves["depth"].unique())
    palette = dict(zip(depths, sns.color_palette("rocket", n_colors=len(depths) + 1)))
    _subspace_axes(ax, curves, "depth", palette)
    ax.set_xlabel("k (basis vectors)")
    ax.set_ylabel("cosine(gradient, its projection)")
    widths = ", ".join(map(str, sorted(curves["width"].unique())))
    ax.set_title(f"activations' top-k directions vs a random k-dim subspace\n(width {widths}; every layer, every epoch)",
                 fontsize=9)
    fig.suptitle("Figure 2: gradients lie in the activations' subspace")
    return save(fig, prefix, preset)


def figure10(curves: pd.DataFrame, prefix, preset: str) -> list[Path]:
    """Figure 2 (right) drawn apart: one panel per (width, depth, layer); colour: epoch."""
    _style()
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
            _subspace_axes(ax, rows, "epoch", palette, legend=False)
            if r == 0:
                ax.set_title(f"depth {d}, layer {layer}", fontsize=8)
            if c == 0:
                ax.set_ylabel(f"width {w}\ncosine", fontsize=8)
            if r == len(widths) - 1:
                ax.set_xlabel("k")
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(min(epochs), max(epochs)))
    fig.colorbar(sm, ax=axes, label="epoch", shrink=0.6, pad=0.01)
    fig.suptitle("Figure 10: gradient vs activation subspaces, per width, depth and layer "
                 "(colour: epoch; grey: random subspace)")
    return save(fig, prefix, preset)


def figure8(curves: pd.DataFrame, prefix, preset: str) -> list[Path]:
    """LocalMixer, with (solid) and without (dashed) local losses: train and test accuracy over epochs,
    and test against train accuracy (higher: better generalisation at the same train accuracy)."""
    _style()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    for run in dict.fromkeys(curves["run"]):
        rows = curves[curves["run"] == run]
        method = rows["method"].iloc[0]
        local = bool(json.loads(rows["options"].iloc[0]).get("local_losses")) or method == "backprop"
        label = method_label(method) + (" (Ren et al.)" if method == "activation_perturbation" and local else "")
        label += "" if method == "backprop" else (", local losses" if local else ", no local losses")
        stats = rows.groupby("epoch")[["train_acc", "test_acc"]].mean().reset_index()
        style = {"color": _colour(method), "ls": "-" if local else "--", "lw": 1.5}
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
    fig.suptitle("Figure 8: LocalMixer on CIFAR-10, with (solid) and without (dashed) local losses")
    fig.tight_layout()
    return save(fig, prefix, preset)


__all__ = ["figure1", "figure2", "figure8", "figure3", "figure4", "figure5", "figure6", "figure7", "figure10", "figure11"]
