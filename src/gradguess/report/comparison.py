"""The paper against ours, number by number and claim by claim: comparison.md and comparison.csv.

Reads the CSVs a preset's figure rules wrote (only those that exist), the paper's numbers
(`paper_numbers.yaml`) and its claims (`claims.py`). A number is compared only where we measured the
paper's own setting (dataset, architecture): anything else is "not measured", and so is every claim
whose data we lack. The quick preset's toy data therefore compares nothing, honestly.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from gradguess import io
from gradguess.report import claims, paper

TABLE1_METHOD = {"backprop": "backprop", "ren_et_al": "ren_et_al", "mixing": "activation_mixing", "wt": "wt"}
TABLE1_ROW = {"adam": "adam", "augment": "aug500", "augment_long": "aug5000"}


def _read(path: Path | None) -> pd.DataFrame | None:
    return pd.read_csv(path) if path is not None and Path(path).is_file() else None


def artifacts(figures: Path, averaging: Path | None, trajectory: dict) -> dict[str, pd.DataFrame]:
    """The claims' inputs (see claims.py) from the files a preset wrote; `trajectory`: Figure 1's setting."""
    figures, out = Path(figures), {}
    setting = {k: trajectory[k] for k in ("dataset", "depth", "width")}
    f1 = _read(figures / "figure1_table.csv")
    if f1 is not None:  # the paper's JVP mode: joint (and modeless directional descent)
        out["figure1_table"] = f1[f1["mode"].fillna("").isin(["", "joint"])].assign(**setting)
    t2 = _read(figures / "table2.csv")
    if t2 is not None:
        out["table2"] = t2
    avg = _read(averaging)
    if avg is not None:
        out["averaging"] = avg.assign(**setting)
    curves = [c for c in (_read(figures / "figure4.csv"), _read(figures / "figure7.csv")) if c is not None]
    curves = [c[c["epoch"].notna()] for c in curves if "epoch" in c]
    if curves:
        out["curves"] = pd.concat(curves, ignore_index=True)
    for name in ("figure10.csv", "figure2.csv"):
        sub = _read(figures / name)
        if sub is not None and "k" in sub:
            out["subspace"] = sub[sub["k"].notna()]
            break
    t1 = _read(figures / "table1.csv")
    if t1 is not None and not t1.empty:
        out["table1"] = pd.DataFrame({"row": t1["row"], "method": t1["column"].map(TABLE1_METHOD),
                                      "value": t1["test_acc_mean"], "dataset": "cifar10"})
    return out


def _row(kind, key, paper_value, ours, status, note=""):
    diff = ours - paper_value if status == "compared" else None
    return {"kind": kind, "key": key, "paper": paper_value, "ours": ours, "difference": diff, "status": status,
            "note": note}


def numbers(arts: dict[str, pd.DataFrame], trajectory: dict, table1_dataset: str | None) -> pd.DataFrame:
    """Every number of Figure 1's table, Table 2 and Table 1 beside ours (or 'not measured')."""
    rows = []
    f1 = arts.get("figure1_table")
    same = trajectory["dataset"] == "cifar10" and (trajectory["depth"], trajectory["width"]) == (6, 1024)
    for r in paper.figure1().itertuples():
        for col, ours_col in (("cosine_mean", "cosine_mean"), ("effectiveness_mean", "one_step_effectiveness_mean")):
            key = f"{r.method} {'cosine' if col == 'cosine_mean' else '1-step effectiveness'}"
            mine = f1[f1["method"] == r.method] if f1 is not None else None
            value = getattr(r, col)
            if value is None or pd.isna(value):
                continue
            if mine is None or mine.empty or not same:
                note = "" if same else (f"our trajectory: {trajectory['dataset']} {trajectory['depth']}x"
                                        f"{trajectory['width']}, the paper's: cifar10 6x1024")
                rows.append(_row("Figure 1", key, value, None, "not measured", note))
            else:
                rows.append(_row("Figure 1", key, value, float(mine[ours_col].iloc[0]), "compared"))
    ours2 = arts.get("table2")
    for r in paper.table2().itertuples():
        key = f"{r.dataset} ({r.depth}, {r.width}) {r.method} {r.split}"
        if r.mean is None or pd.isna(r.mean):
            rows.append(_row("Table 2", key, None, None, "not readable in the paper", r.note or ""))
            continue
        mine = (ours2[(ours2["dataset"] == r.dataset) & (ours2["depth"] == r.depth) & (ours2["width"] == r.width)
                      & (ours2["method"] == r.method) & (ours2["split"] == r.split)] if ours2 is not None else None)
        note = "uncertain transcription" if not r.certain else ""
        if mine is None or mine.empty or pd.isna(mine["mean"].iloc[0]):
            rows.append(_row("Table 2", key, float(r.mean), None, "not measured", note))
        else:
            rows.append(_row("Table 2", key, float(r.mean), float(mine["mean"].iloc[0]), "compared", note))
    ours1 = arts.get("table1")
    for r in paper.table1().itertuples():
        if r.absent or r.value is None or pd.isna(r.value):
            continue
        key = f"{r.label}: {r.method}"
        if r.quoted:
            rows.append(_row("Table 1", key, float(r.value), None, "quoted by the paper", "Ren et al. (2022)"))
            continue
        mine = None
        if ours1 is not None and table1_dataset == "cifar10":
            ours_row = {v: k for k, v in TABLE1_ROW.items()}.get(r.row)
            mine = ours1[(ours1["row"] == ours_row) & (ours1["method"] == r.method)]
        if mine is None or mine.empty:
            rows.append(_row("Table 1", key, float(r.value), None, "not measured",
                             "" if table1_dataset in (None, "cifar10") else f"our Table 1 ran on {table1_dataset}"))
        else:
            rows.append(_row("Table 1", key, float(r.value), float(mine["value"].iloc[0]), "compared"))
    return pd.DataFrame(rows)


def _fmt(v) -> str:
    if v is None or pd.isna(v):
        return ""
    return f"{v:.3g}" if abs(v) < 0.1 else f"{v:.1f}" if abs(v) >= 1 else f"{v:.3f}"


def write(figures: Path, averaging: Path | None, trajectory: dict, table1_dataset: str | None, preset: str,
          out_prefix: Path) -> pd.DataFrame:
    arts = artifacts(figures, averaging, trajectory)
    verdicts = claims.check_all(arts)
    nums = numbers(arts, trajectory, table1_dataset)
    out_prefix = Path(out_prefix)
    long = pd.concat([verdicts.assign(kind="claim"), nums], ignore_index=True).assign(preset=preset)
    io.write_text(out_prefix.with_suffix(".csv"), long.to_csv(index=False))
    lines = [f"# The paper against ours (gradguess preset: {preset})", "",
             "Every claim of the paper we can check, and every number it reports, beside ours. A claim or number "
             "is judged only where this preset measured the paper's own setting (its datasets and architectures); "
             "anything else is *not measured*, never *holds*.", ""]
    counts = verdicts["status"].value_counts()
    lines += [f"**Claims**: {counts.get(claims.HOLDS, 0)} hold, {counts.get(claims.FAILS, 0)} do not hold, "
              f"{counts.get(claims.NOT_MEASURED, 0)} not measured at this preset.", "",
              "| claim | source | verdict | measured | tolerance |", "|---|---|---|---|---|"]
    for r in verdicts.itertuples():
        lines.append(f"| `{r.id}` | {r.source} | **{r.status}** | {str(r.detail).replace('|', '/')} | {r.tolerance} |")
    for kind in ("Figure 1", "Table 2", "Table 1"):
        block = nums[nums["kind"] == kind] if not nums.empty else nums
        if block.empty:
            continue
        compared = block[block["status"] == "compared"]
        lines += ["", f"## {kind}: {len(compared)} of {len(block)} numbers compared", ""]
        if compared.empty:
            lines.append(f"None measured at this preset ({', '.join(sorted(set(block['status'])))}).")
            continue
        lines += ["| number | paper | ours | ours − paper | note |", "|---|---:|---:|---:|---|"]
        for r in compared.itertuples():
            lines.append(f"| {r.key} | {_fmt(r.paper)} | {_fmt(r.ours)} | {_fmt(r.difference)} | {r.note} |")
    lines += ["", "Data: the numbers come from `" + "`, `".join(sorted(arts)) + "` of this preset; the paper's from "
              "`src/gradguess/report/paper_numbers.yaml` (transcribed, uncertain cells marked)."]
    io.write_text(out_prefix.with_suffix(".md"), "\n".join(lines) + "\n")
    return long


__all__ = ["artifacts", "numbers", "write"]
