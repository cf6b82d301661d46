"""Figure 6 (A.1): the learning rate x optimizer sweep; each method's curve at its best learning rate."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from gradguess import io
from gradguess.report.names import method_key, method_label
from gradguess.report.plots import colour, markers, save, setting_title, style
from gradguess.report.runs import final_accuracy, load_runs


def sweep_selection(curves: pd.DataFrame) -> pd.DataFrame:
    """A.1's rule: per (optimizer, method), the learning rate with the highest final train accuracy
    (mean over seeds; a diverged run counts as 0). Every swept run, with `chosen` marking the winners."""
    table = final_accuracy(curves)
    score = table["train_acc"].fillna(0.0)
    best = score.groupby([table["optimizer"], table["method"]]).transform("max")
    table["chosen"] = score.eq(best)
    # ties: the larger learning rate (it converges faster at equal final accuracy)
    first = table[table["chosen"]].sort_values("lr", ascending=False).groupby(["optimizer", "method"]).head(1)
    table["chosen"] = table.index.isin(first.index)
    table["_m"] = table["method"].map(method_key)
    return table.sort_values(["optimizer", "_m", "lr"], ascending=[True, True, False]).drop(columns="_m").reset_index(
        drop=True)




def draw(curves: pd.DataFrame, selection: pd.DataFrame, out, preset: str) -> list[Path]:
    """One panel per optimizer: every method's train curve at its best learning rate."""
    style()
    optimizers = [o for o in ("adamw", "sgd", "stable_adamw") if o in set(selection["optimizer"])]
    names = {"adamw": "AdamW", "sgd": "SGD", "stable_adamw": "StableAdamW"}
    fig, axes = plt.subplots(1, len(optimizers), figsize=(5 * len(optimizers) + 1.5, 4), sharey=True, squeeze=False)
    for ax, optimizer in zip(axes[0], optimizers):
        chosen = selection[(selection["optimizer"] == optimizer) & selection["chosen"]]
        for r in sorted(chosen.itertuples(), key=lambda r: method_key(r.method)):
            stats = curves[curves["run"] == r.run].groupby("epoch")["train_acc"].mean()
            ax.plot(stats.index, stats.values * 100, color=colour(r.method), lw=1.5,
                    label=f"{method_label(r.method)} (lr {r.lr:g})", **markers(stats.index))
        ax.set_title(names[optimizer])
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7, frameon=False)
    axes[0][0].set_ylabel("train accuracy (%)")
    fig.suptitle(f"Figure 6: each method at its best learning rate (highest final train accuracy), per optimizer "
                 f"({setting_title(curves)})")
    fig.tight_layout()
    return save(fig, out, preset)




def write(out, preset: str, runs: list[str]) -> None:
    """`runs`: the sweep's seed files (the rule's inputs)."""
    curves = load_runs(runs)
    selection = sweep_selection(curves)
    draw(curves, selection, out, preset)
    io.write_text(out["csv"], selection.assign(preset=preset).to_csv(index=False))
    io.write_text(out["curves"], curves.assign(preset=preset).to_csv(index=False))
