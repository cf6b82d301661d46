"""Figure 1: every method's guess against backprop's gradient along the backprop trajectory (left), and its table
of mean cosine and 1-step effectiveness (right), from `gradguess cosine`'s per-epoch measurements."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from gradguess.report.layout import mean_std, write_table
from gradguess.report.names import method_key, method_label
from gradguess.report.plots import colour, save, setting_title, style


def draw(measurements: pd.DataFrame, out, preset: str, average_from_epoch: int = 1) -> list[Path]:
    """Cosine similarity with the true gradient along the backprop trajectory, one panel per JVP mode.

    `joint` is the paper's mode, `per_layer` our extension; epochs before
    `average_from_epoch` are shaded: drawn, but not in the table's average.
    """
    style()
    setting = setting_title(measurements) if {"dataset", "depth", "width"} <= set(measurements) else "the trajectory"
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
            ax.plot(rows["epoch"], rows["mean"].clip(lower=floor), marker="o", ms=3, color=colour(method),
                    label=method_label(method))
            ax.fill_between(rows["epoch"], rows["q25"].clip(lower=floor), rows["q75"].clip(lower=floor),
                            color=colour(method), alpha=0.15, lw=0)
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
    fig.suptitle(f"Figure 1: guessed-gradient cosine similarity along the backprop trajectory ({setting})\n"
                 "(mean over batches, different batches each epoch; band: interquartile range;"
                 " grey: not in the table's average)" if per_epoch["epoch"].min() < average_from_epoch else
                 f"Figure 1: guessed-gradient cosine similarity along the backprop trajectory ({setting})\n"
                 "(mean over batches, different batches each epoch; band: interquartile range)")
    fig.tight_layout()
    return save(fig, out, preset)


MODE_LABELS = {"joint": "joint (paper's)", "per_layer": "per_layer (ours)", "": ""}
EFFECTIVENESS = (("one_step_effectiveness", "1-step effectiveness (paper's: unit direction)"),
                 ("one_step_effectiveness_raw", "1-step (raw estimate)"),
                 ("one_step_effectiveness_norm_matched", "1-step (norm-matched)"))


FIGURE1_NOTES = """
- **JVP mode**: `joint` (one directional derivative per example for all layers) reproduces the paper's cosines;
  `per_layer` (one per layer and example) is our extension.
- **1-step effectiveness (paper's: unit direction)**: loss reduction of one step along (g·u)u, u = ĝ/|ĝ| the
  method's unit guess direction, relative to backprop's, each at its best step size in {1e-5, ..., 1e-1};
  ≈ cos² at small steps. Losses evaluated in float64.
- **1-step (raw estimate)**: the same with the method's estimate ĝ as it is (its norm is part of the method, so
  the step-size grid acts as a line search).
- **1-step (norm-matched)**: the same with ĝ rescaled to the true gradient's norm.
"""


def figure1_table(measurements: pd.DataFrame, average_from_epoch: int = 1
                  ) -> tuple[pd.DataFrame, list[str], list[list[str]]]:
    """Figure 1's table: mean ± std over all batches of all epochs from `average_from_epoch` on.

    The paper measures "after each epoch" and averages "across all batches for
    all epochs": the initialisation (epoch 0) is not in its average, so by
    default not in ours either (the figure still draws it).
    """
    used = measurements[measurements["epoch"] >= average_from_epoch] if "epoch" in measurements else measurements
    if used.empty:
        used = measurements  # a trajectory shorter than the cut: average what there is
    rows = []
    for (method, mode), g in used.groupby(["method", "mode"], dropna=False):
        row = {"method": method, "mode": mode if isinstance(mode, str) else ""}
        for col in ["cosine", *(c for c, _ in EFFECTIVENESS)]:
            if col in g:
                row[f"{col}_mean"], row[f"{col}_std"] = mean_std(g[col])
        row["batches"] = len(g)
        if "epoch" in g:
            row["epochs"] = f"{int(g['epoch'].min())}-{int(g['epoch'].max())}"
        rows.append(row)
    long = pd.DataFrame(rows)
    long["_m"] = long["method"].map(method_key)
    long = long.sort_values(["_m", "mode"]).drop(columns="_m").reset_index(drop=True)
    columns = [(c, label) for c, label in EFFECTIVENESS if f"{c}_mean" in long]
    header = ["Method", "JVP mode", "Cosine similarity", *(label for _, label in columns)]
    body = [["Backprop (oracle)", "", "1", *("1" for _ in columns)]] if "backprop" not in set(long["method"]) else []
    for r in long.to_dict("records"):
        body.append([method_label(r["method"]), MODE_LABELS.get(r["mode"], r["mode"]),
                     f"{r['cosine_mean']:.2g} ± {r['cosine_std']:.2g}",
                     *(f"{r[f'{c}_mean']:.1e} ± {r[f'{c}_std']:.1e}" for c, _ in columns)])
    return long, header, body




def write(out, preset: str, measurements: list[str], average_from_epoch: int = 1, setting: dict | None = None) -> None:
    """`out`: the artifact's paths (report/artifacts.py); `setting`: the trajectory's dataset, depth and width, for
    the titles."""
    frame = pd.concat([pd.read_csv(p) for p in measurements], ignore_index=True)
    if setting:
        frame = frame.assign(**{k: setting[k] for k in ("dataset", "depth", "width") if k in setting})
    draw(frame, out, preset, average_from_epoch=average_from_epoch)
    long, header, body = figure1_table(frame, average_from_epoch=average_from_epoch)
    where = f" ({setting_title(frame)})" if "dataset" in frame else ""
    write_table(long, header, body, out,
                f"Figure 1 (table){where}: mean ± std over all measured batches of epochs {long['epochs'].iloc[0]} "
                "of the backprop trajectory", preset, notes=FIGURE1_NOTES, key="table_")
