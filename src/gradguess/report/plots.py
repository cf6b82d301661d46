"""What every figure shares: the style, one colour per method, saving (PNG and PDF, stamped with the preset),
training curves with their seed band, and a check that no panel is empty."""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # cluster nodes and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from gradguess import io  # noqa: E402
from gradguess.report.names import PALETTE, dataset_label, model_label, run_label  # noqa: E402

log = logging.getLogger("gradguess.report")


def style():
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)


def colour(method: str) -> str:
    return PALETTE.get(method.partition(":")[0], "#17becf")


def _shows_data(ax) -> bool:
    for ln in ax.get_lines():
        n = len(ln.get_xdata())
        if n >= 2 or (n == 1 and ln.get_marker() not in (None, "None", "", " ")):
            return True
    collections = [c for c in ax.collections if len(c.get_paths()) or len(getattr(c, "get_offsets", list)())]
    return bool(collections or ax.images or ax.containers)


def empty_axes(fig) -> list[str]:
    """Titles of the visible axes that show no data (no line with a visible point, no filled band, image or
    error bar): a panel of runs that never ran, or a one-epoch run drawn as a line without markers."""
    return [ax.get_title() or ax.get_ylabel() or "untitled panel" for ax in fig.axes
            if ax.get_visible() and ax.get_label() != "<colorbar>" and ax.axison and not _shows_data(ax)]


def save(fig, out: Mapping[str, str | Path], preset: str) -> list[Path]:
    """The figure as out["png"] and out["pdf"] (an artifact's paths: report/artifacts.py), atomically. A panel
    without data is a warning, or an error with GRADGUESS_STRICT_FIGURES=1 (the tests' quick run sets it: every
    figure of the quick preset must show something)."""
    paths = {kind: Path(out[kind]) for kind in ("png", "pdf")}
    empty = empty_axes(fig)
    for title in empty:
        log.warning("figure %s: panel '%s' shows no data", paths["png"], title)
    if empty and os.environ.get("GRADGUESS_STRICT_FIGURES") == "1":
        plt.close(fig)
        raise ValueError(f"figure {paths['png']}: panel(s) {empty} show no data")
    fig.text(0.995, 0.005, f"gradguess · preset: {preset}", ha="right", va="bottom", fontsize=7, color="0.45")
    for kind, path in paths.items():
        with io.atomic_path(path) as tmp:
            fig.savefig(tmp, format=kind, dpi=200, bbox_inches="tight")
    plt.close(fig)
    return list(paths.values())


def finish(fig, title: str, out: Mapping[str, str | Path], preset: str, legend=None) -> list[Path]:
    """A figure's legend at its right (`legend`: handles and labels), its title, and its files (`save`)."""
    if legend is not None:
        fig.legend(*legend, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, out, preset)


def setting_title(curves: pd.DataFrame) -> str:
    """'CIFAR10, D:6, W:1024' (or the LocalMixer's sizes) from the data: every title says what it shows."""
    if curves is None or curves.empty:
        return ""
    datasets = ", ".join(dataset_label(d) for d in sorted(set(curves["dataset"])))
    if "run" in curves:
        models = ", ".join(sorted({model_label(r) for r in curves["run"]}))
    else:
        models = ", ".join(sorted({f"D:{int(d)}, W:{int(w)}" for d, w in zip(curves["depth"], curves["width"])}))
    return f"{datasets}, {models}"


def label_of(rows: pd.DataFrame) -> str:
    r = rows.iloc[0]
    return run_label(r["method"], json.loads(r["options"]), r["optimizer"], r["momentum"])


def variant_colour(name: str, method: str) -> str:
    extra = {"downstream2": "#c5b0d5", "downstream3": "#5b3a8a"}
    return extra.get(name, colour(method))


def markers(epochs) -> dict:
    """Markers where a curve has few points: a one-epoch run is a point, not an invisible line."""
    return {"marker": "o", "ms": 4} if len(set(epochs)) <= 12 else {}


def training_curves(ax, curves: pd.DataFrame, runs: list[str], split: str = "train"):
    """Mean accuracy over seeds per epoch, a band from the lowest to the highest seed."""
    for run in runs:
        rows = curves[curves["run"] == run]
        if rows.empty:
            continue
        stats = rows.groupby("epoch")[f"{split}_acc"].agg(["mean", "min", "max"]).reset_index()
        c = variant_colour(rows["name"].iloc[0], rows["method"].iloc[0])
        dashed = rows["optimizer"].iloc[0] == "sgd" and not rows["momentum"].iloc[0]
        ax.plot(stats["epoch"], stats["mean"] * 100, color=c, ls="--" if dashed else "-", lw=1.5,
                label=label_of(rows), **markers(stats["epoch"]))
        ax.fill_between(stats["epoch"], stats["min"] * 100, stats["max"] * 100, color=c, alpha=0.15, lw=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{split} accuracy (%)")
    ax.legend(fontsize=7, frameon=False)


def band(ax, x, stats, c, label, **kw):
    ax.plot(x, stats["mean"], color=c, label=label, lw=1.5, **{**markers(x), **kw})
    ax.fill_between(x, stats["min"], stats["max"], color=c, alpha=0.15, lw=0)
