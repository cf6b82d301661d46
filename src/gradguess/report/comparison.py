"""The paper against ours, number by number and claim by claim: comparison.md and comparison.csv.

Reads the CSVs a preset's figure rules wrote (only those that exist), the paper's numbers
(`paper_numbers.yaml`) and its claims (`claims.py`). A number is compared only where we measured the
paper's own setting (dataset, architecture): anything else is "not measured", and so is every claim
whose data we lack. The quick preset's toy data therefore compares nothing, honestly.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import pandas as pd

from gradguess import io
from gradguess.report import claims, paper

TABLE1_METHOD = {"backprop": "backprop", "ren_et_al": "ren_et_al", "mixing": "activation_mixing", "wt": "wt"}
TABLE1_ROW = {"adam": "adam", "augment": "aug500", "augment_long": "aug5000"}


def _read(path: Path | None) -> pd.DataFrame | None:
    return pd.read_csv(path) if path is not None and Path(path).is_file() else None


def _arch(runs: pd.Series) -> pd.Series:
    """A LocalMixer run's architecture from its directory (mixer-b<blocks>-c<channels>-p<patch>-g<groups>)."""
    return runs.astype(str).str.extract(r"(mixer-b\d+-c\d+-p\d+-g\d+)", expand=False)


def _panel(df: pd.DataFrame | None, panel: str) -> pd.DataFrame | None:
    if df is None or "panel" not in df:
        return None
    rows = df[df["panel"] == panel]
    return rows if not rows.empty else None


def artifacts(figures: Path, averaging: Path | None, trajectory: dict, table1_dataset: str | None = None,
              jacobian: dict | None = None) -> dict[str, pd.DataFrame]:
    """The claims' inputs (see claims.py) from the files a preset wrote; `trajectory`: Figure 1's setting,
    `jacobian`: Figure 7 (right)'s, `table1_dataset`: Table 1's (and Figure 8's) data set."""
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
    spectra = _panel(_read(figures / "figure7.csv"), "right")
    if spectra is not None and jacobian:
        out["spectra"] = spectra.drop(columns=["dataset", "depth", "width"], errors="ignore").assign(
            **{k: jacobian[k] for k in ("dataset", "depth", "width")})
    f5 = _read(figures / "figure5.csv")
    for name, panel in (("monitors", "top: cosine"), ("sv_power", "bottom: cosine and first-layer effective rank")):
        rows = _panel(f5, panel)
        if rows is not None:
            out[name] = rows
    selection, sweep = _read(figures / "figure6.csv"), _read(figures / "figure6_curves.csv")
    if selection is not None and sweep is not None:
        out["sweep"] = sweep[sweep["run"].isin(selection.loc[selection["chosen"].astype(bool), "run"])]
    for name in ("figure10.csv", "figure2.csv"):
        sub = _read(figures / name)
        if sub is not None and "k" in sub:
            out["subspace"] = sub[sub["k"].notna()]
            break
    t1 = _read(figures / "table1.csv")
    if t1 is not None and not t1.empty:
        out["table1"] = pd.DataFrame({"row": t1["row"].map(TABLE1_ROW), "method": t1["column"].map(TABLE1_METHOD),
                                      "value": t1["test_acc_mean"], "dataset": table1_dataset,
                                      "arch": _arch(t1["run"])})
    f8 = _read(figures / "figure8.csv")
    if f8 is not None and not f8.empty:
        out["mixer_curves"] = f8.assign(arch=_arch(f8["run"]))
    return out


def _row(kind, key, paper_value, ours, status, note=""):
    diff = ours - paper_value if status == "compared" else None
    return {"kind": kind, "key": key, "paper": paper_value, "ours": ours, "difference": diff, "status": status,
            "note": note}


def numbers(arts: dict[str, pd.DataFrame], trajectory: dict) -> pd.DataFrame:
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
        if ours1 is not None:
            mine = ours1[(ours1["row"] == r.row) & (ours1["method"] == r.method) & (ours1["dataset"] == "cifar10")
                         & (ours1["arch"] == claims.PAPER_MIXER)]
        if mine is None or mine.empty:
            paper_setting = f"cifar10 {claims.PAPER_MIXER}"
            where = sorted({f"{d} {a}" for d, a in zip(ours1["dataset"], ours1["arch"])}) if ours1 is not None else []
            note = f"our Table 1 ran on {', '.join(where)}; the paper's: {paper_setting}" \
                if where and paper_setting not in where else ""
            rows.append(_row("Table 1", key, float(r.value), None, "not measured", note))
        else:
            rows.append(_row("Table 1", key, float(r.value), float(mine["value"].iloc[0]), "compared"))
    return pd.DataFrame(rows)


def _fmt(v) -> str:
    if v is None or pd.isna(v):
        return ""
    return f"{v:.3g}" if abs(v) < 0.1 else f"{v:.1f}" if abs(v) >= 1 else f"{v:.3f}"


def describe(path: Path) -> str:
    """One line on a prepared data set (`gradguess data prepare`'s file): its size and where it came from, without
    the machine's paths. Here, not in gradguess.data: a change there re-runs every result made from the data."""
    import torch  # lazily: the rest of the report reads CSVs only

    data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    origin = re.sub(r" (in|into) /[^,]*", "", data["source"])  # "local files in /a/b, first 10 ..." -> "local files, ..."
    return f"{len(data['y_train']):,} training and {len(data['y_test']):,} test examples ({origin})"


def data_used(arts: dict[str, pd.DataFrame], names, data: Mapping[str, str]) -> str:
    """The paper's data sets behind some artifacts, each with its description (size and origin)."""
    used = sorted({d for n in names if n in arts and "dataset" in arts[n] for d in arts[n]["dataset"].dropna()
                   if d in claims.PAPER_DATASETS})
    return "; ".join(f"{d}: {data[d]}" if d in data else d for d in used)


def write(figures: Path, averaging: Path | None, trajectory: dict, table1_dataset: str | None, preset: str,
          out_prefix: Path, jacobian: dict | None = None, data: Mapping[str, str] | None = None) -> pd.DataFrame:
    """comparison.csv and .md; `data` describes each prepared data set (`describe`), so that every
    verdict says which data it used."""
    arts, data = artifacts(figures, averaging, trajectory, table1_dataset, jacobian), dict(data or {})
    verdicts = claims.check_all(arts)
    needs = {c.id: c.needs for c in claims.CLAIMS}
    verdicts["data"] = [data_used(arts, needs[r.id], data) if r.status != claims.NOT_MEASURED else ""
                        for r in verdicts.itertuples()]
    nums = numbers(arts, trajectory)
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
              "| claim | source | verdict | measured | data | tolerance |", "|---|---|---|---|---|---|"]
    for r in verdicts.itertuples():
        lines.append(f"| `{r.id}` | {r.source} | **{r.status}** | {str(r.detail).replace('|', '/')} | {r.data} | "
                     f"{r.tolerance} |")
    for kind in ("Figure 1", "Table 2", "Table 1"):
        block = nums[nums["kind"] == kind] if not nums.empty else nums
        if block.empty:
            continue
        compared = block[block["status"] == "compared"]
        lines += ["", f"## {kind}: {len(compared)} of {len(block)} numbers compared", ""]
        source = {"Figure 1": ["figure1_table"], "Table 2": ["table2"], "Table 1": ["table1"]}[kind]
        if not compared.empty and data_used(arts, source, data):
            lines += [f"Our data: {data_used(arts, source, data)}.", ""]
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
