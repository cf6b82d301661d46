"""Gathering run results and laying out the paper's tables (CSV, Markdown, LaTeX)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable

import pandas as pd

from gradguess import io
from gradguess.report.names import (arch_label, arch_params, dataset_key, dataset_label, method_key,
                                    method_label)

RUN_KEYS = ("dataset", "depth", "width", "method", "seed")


def gather_runs(result_paths: Iterable[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per run (final numbers) and one row per run and epoch (curves), from each run directory."""
    runs, curves = [], []
    for path in map(Path, result_paths):
        result = json.loads(path.read_text())
        config = json.loads((path.parent / "config.json").read_text())
        keys = {k: config[k] for k in RUN_KEYS}
        runs.append({**keys, "optimizer": config["optimizer"], "lr": config["lr"], "epochs": config["epochs"],
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
        for seed_dir in sorted(run.glob("seed*")):
            config = json.loads((seed_dir / "config.json").read_text())
            metrics = pd.read_csv(seed_dir / "metrics.csv")
            options = config.get("method_options") or {}
            metrics = metrics.assign(run=str(run), name=run.parent.name, seed=config["seed"], method=config["method"],
                                     optimizer=config["optimizer"], lr=config["lr"], momentum=config["momentum"],
                                     dataset=config["dataset"], depth=config["depth"], width=config["width"],
                                     options=json.dumps(options, sort_keys=True))
            frames.append(metrics)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_monitors(run_dirs: Iterable[str | Path]) -> pd.DataFrame:
    """Every seed's monitor.csv (guess cosine and effective ranks over training), with the run's settings."""
    frames = []
    for run in map(Path, run_dirs):
        for seed_dir in sorted(run.glob("seed*")):
            config = json.loads((seed_dir / "config.json").read_text())
            monitor = pd.read_csv(seed_dir / "monitor.csv")
            if monitor.empty:
                raise ValueError(f"{seed_dir / 'monitor.csv'} is empty: the run was trained without monitor_every")
            options = config.get("method_options") or {}
            frames.append(monitor.assign(run=str(run), name=run.parent.name, seed=config["seed"],
                                         method=config["method"], power=options.get("power"),
                                         options=json.dumps(options, sort_keys=True), dataset=config["dataset"],
                                         depth=config["depth"], width=config["width"]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def figure5_data(top: pd.DataFrame, curves: pd.DataFrame, bottom: pd.DataFrame) -> pd.DataFrame:
    """Figure 5's data, long form: the top row's monitors and accuracy curves, the bottom row's monitors."""
    return pd.concat([top.assign(panel="top: cosine"), curves.assign(panel="top: accuracy"),
                      bottom.assign(panel="bottom: cosine and first-layer effective rank")], ignore_index=True)


def final_accuracy(curves: pd.DataFrame) -> pd.DataFrame:
    """Each run's last epoch, mean over seeds: one row per run."""
    last = curves.sort_values("epoch").groupby(["run", "seed"]).tail(1)
    keys = ["run", "name", "method", "optimizer", "lr", "momentum"]
    return last.groupby(keys, dropna=False)[["train_acc", "test_acc"]].mean().reset_index()


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


def mean_std(values: pd.Series) -> tuple[float, float]:
    values = values.dropna()
    if values.empty:
        return math.nan, math.nan
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def table2(runs: pd.DataFrame) -> pd.DataFrame:
    """Long form: accuracy (%) mean ± std over seeds per architecture, method, dataset and split."""
    rows = []
    for (depth, width, method, dataset), group in runs.groupby(["depth", "width", "method", "dataset"]):
        done = group[group["status"] == "completed"]
        for split in ("train", "test"):
            mean, std = mean_std(done[f"{split}_acc"] * 100)
            rows.append({"depth": depth, "width": width, "method": method, "dataset": dataset, "split": split,
                         "mean": mean, "std": std, "seeds": len(group), "diverged": int((group["status"] == "diverged").sum())})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["_a"] = [arch_params(d, w) for d, w in zip(out["depth"], out["width"])]
    out["_m"] = out["method"].map(method_key)
    out["_d"] = out["dataset"].map(dataset_key)
    return out.sort_values(["_a", "_m", "split", "_d"]).drop(columns=["_a", "_m", "_d"]).reset_index(drop=True)


def format_cell(mean: float, std: float, diverged: int = 0, digits: int = 1) -> str:
    if math.isnan(mean):
        return "diverged" if diverged else "–"
    cell = f"{mean:.{digits}f} ± {std:.{digits}f}"
    return cell + (f" ({diverged} div.)" if diverged else "")


def table2_wide(long: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The paper's layout: rows (architecture, method), columns train/test × dataset."""
    datasets = sorted(long["dataset"].unique(), key=dataset_key)
    header = ["Architecture", "Method"] + [f"{split.title()} {dataset_label(d)}" for split in ("train", "test")
                                             for d in datasets]
    body = []
    for (depth, width, method), group in long.groupby(["depth", "width", "method"], sort=False):
        cells = {(r.split, r.dataset): format_cell(r.mean, r.std, r.diverged) for r in group.itertuples()}
        body.append([arch_label(depth, width), method_label(method)] +
                    [cells.get((split, d), "–") for split in ("train", "test") for d in datasets])
    return header, body


def table2_stacked(long: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The paper's layout: a train block above a test block; rows (architecture, method), columns datasets.

    The block is the first column ("Train" / "Test" on the block's first row).
    """
    datasets = sorted(long["dataset"].unique(), key=dataset_key)
    header = ["Split", "Architecture", "Method"] + [dataset_label(d) for d in datasets]
    body = []
    for split in ("train", "test"):
        part = long[long["split"] == split]
        for (depth, width, method), group in part.groupby(["depth", "width", "method"], sort=False):
            cells = {r.dataset: format_cell(r.mean, r.std, r.diverged) for r in group.itertuples()}
            body.append([f"{split.title()} accuracy", arch_label(depth, width), method_label(method)]
                        + [cells.get(d, "–") for d in datasets])
    return header, body


def blank_repeats(body: list[list[str]], columns: int) -> list[list[str]]:
    """Blank a leading cell that repeats the row above (and every cell left of it does too): grouped rows."""
    out, previous = [], None
    for row in body:
        cells = list(row)
        if previous is not None:
            for c in range(columns):
                if row[:c + 1] == previous[:c + 1]:
                    cells[c] = ""
        out.append(cells)
        previous = row
    return out


def markdown(header: list[str], body: list[list[str]], title: str = "", groups: int = 1) -> str:
    lines = [f"{title}\n"] if title else []
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in blank_repeats(body, groups)]
    return "\n".join(lines) + "\n"


def _tex(text: str) -> str:
    text = text.replace("\\", r"\textbackslash{}")
    for ch in "&%$#_{}":
        text = text.replace(ch, "\\" + ch)
    text = text.replace("W^T", "\0WT\0").replace("^", r"\^{}")  # keep W^T whole while escaping other carets
    return text.replace("\0WT\0", r"$W^\top$").replace("±", r"$\pm$")


def latex(header: list[str], body: list[list[str]], caption: str = "", groups: int = 1) -> str:
    """booktabs table; the first `groups` columns group rows: repeats blanked, a rule where the first changes."""
    lines = [r"% needs \usepackage{booktabs}", r"\begin{table}[t]", r"\centering", r"\small",
             r"\begin{tabular}{" + "l" * (groups + 1) + "c" * (len(header) - groups - 1) + "}",
             r"\toprule", " & ".join(_tex(h) for h in header) + r" \\", r"\midrule"]
    for i, (row, shown) in enumerate(zip(body, blank_repeats(body, groups))):
        if i and row[0] != body[i - 1][0]:
            lines.append(r"\midrule")
        elif i and groups > 1 and row[1] != body[i - 1][1]:
            lines.append(r"\addlinespace")
        lines.append(" & ".join(_tex(c) for c in shown) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(r"\caption{" + _tex(caption) + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def write_table(long: pd.DataFrame, header, body, prefix: str | Path, title: str, preset: str,
                groups: int = 1, notes: str = "") -> list[Path]:
    """CSV (long form, stamped with the preset), Markdown and LaTeX (the paper's layout).

    `notes` (Markdown) go under the Markdown table: what each column means.
    """
    prefix = Path(prefix)
    stamp = f"{title} (gradguess preset: {preset})"
    io.write_text(prefix.with_suffix(".csv"), long.assign(preset=preset).to_csv(index=False))
    io.write_text(prefix.with_suffix(".md"), markdown(header, body, f"**{stamp}**", groups)
                  + (f"\n{notes.strip()}\n" if notes else ""))
    io.write_text(prefix.with_suffix(".tex"), latex(header, body, stamp, groups))
    return [prefix.with_suffix(s) for s in (".csv", ".md", ".tex")]


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


# Table 1 (LocalMixer, CIFAR-10 test accuracy, %): the paper's cells, and the row it quotes from Ren et al.
TABLE1_COLUMNS = (("backprop", "Backprop"), ("ren_et_al", "Ren et al. (2022)"), ("mixing", "Mixing"), ("wt", "W^T"))
TABLE1_ROWS = (("adam", "(a) Adam"), ("augment", "(b) Augmentation"),
               ("augment_long", "(c) Augmentation, guessed methods 10x longer"))
TABLE1_PAPER = {"reported": {"backprop": 66.4, "ren_et_al": 69.3},
                "adam": {"backprop": 71.2, "ren_et_al": 71.2, "mixing": 68.8, "wt": 72.5},
                "augment": {"backprop": 76.4, "ren_et_al": 72.2, "mixing": 68.2, "wt": 74.4},
                "augment_long": {"backprop": 77.6, "ren_et_al": 76.0, "mixing": 69.4, "wt": 77.4}}


def table1_column(method: str, options: dict) -> str | None:
    """Which Table 1 column a run belongs to: guessed methods with local losses; backprop end to end."""
    if method == "backprop":
        return "backprop"
    if options.get("local_losses"):
        return {"activation_perturbation": "ren_et_al", "activation_mixing": "mixing", "wt": "wt"}.get(method)
    return None


def table1(curves: pd.DataFrame, rows: dict[str, list[str]]) -> tuple[pd.DataFrame, list[str], list[list[str]]]:
    """Our test accuracy (mean ± std over seeds, %) per row and column beside the paper's (quoted)."""
    last = curves.sort_values("epoch").groupby(["run", "seed"]).tail(1)
    records = []
    for row, runs in rows.items():
        for run in runs:
            r = last[last["run"] == run]
            if r.empty:
                continue
            column = table1_column(r["method"].iloc[0], json.loads(r["options"].iloc[0]))
            if column is None:
                continue
            mean, std = mean_std(r["test_acc"] * 100)
            records.append({"row": row, "column": column, "run": run, "test_acc_mean": mean, "test_acc_std": std,
                            "train_acc_mean": float(r["train_acc"].mean() * 100), "seeds": len(r),
                            "epochs": int(r["epoch"].max()), "paper": TABLE1_PAPER[row].get(column)})
    long = pd.DataFrame(records)
    header = ["", *(label for _, label in TABLE1_COLUMNS)]
    body = [["Reported by Ren et al. (quoted)", *(f"{TABLE1_PAPER['reported'][c]:.1f}" if c in TABLE1_PAPER["reported"]
                                                  else "" for c, _ in TABLE1_COLUMNS)]]
    for row, label in TABLE1_ROWS:
        epochs = sorted(set(long[long["row"] == row]["epochs"])) if not long.empty else []
        label += f" ({'/'.join(map(str, epochs))} epochs)" if epochs else ""
        ours = []
        for column, _ in TABLE1_COLUMNS:
            cell = long[(long["row"] == row) & (long["column"] == column)] if not long.empty else long
            paper = TABLE1_PAPER[row].get(column)
            text = format_cell(cell["test_acc_mean"].iloc[0], cell["test_acc_std"].iloc[0]) if len(cell) else "–"
            ours.append(f"{text} (paper {paper:.1f})" if paper is not None else text)
        body.append([label, *ours])
    return long, header, body


TABLE1_NOTES = """
- Test accuracy (%) on CIFAR-10, mean ± std over seeds at the last epoch; in brackets the paper's Table 1 cell.
- The first row is quoted by the paper from Ren et al. (2022), not measured here.
- Ren et al. (2022): activation perturbation with their local losses; Mixing and W^T also with local losses.
- Row (c) trains the guessed methods 10x as long as row (b); backprop's cell is its row-(b) run.
"""
