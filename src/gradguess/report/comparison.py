"""The paper against ours, number by number and claim by claim: comparison.md and comparison.csv.

Reads the CSVs a preset's figure rules wrote (only those that exist), the paper's numbers
(`paper_numbers.yaml`) and its claims (`claims/`). A number or claim is compared only where we measured the
paper's own data set and architecture: anything else is "not measured". Each verdict and each compared number
also carries the distance of our setting from the paper's (fewer epochs, a subset of the data, another lr):
none is a verdict *at the paper's setting*, any is one *at a reduced setting*, with the reduction spelled out.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Mapping

import pandas as pd

from gradguess import io
from gradguess.report import claims, paper
from gradguess.report.claims import figure1 as fig1_claims
from gradguess.report.claims import table1 as table1_claims
from gradguess.report.claims import table2 as table2_claims
from gradguess.report.claims.core import DOWNSTREAM_READING, RUN_FIELDS, observed
from gradguess.report.artifacts import file
from gradguess.report.comparison_text import data_used, markdown
from gradguess.report.setting import describe, full, reduction

TABLE1_METHOD = {"backprop": "backprop", "ren_et_al": "ren_et_al", "mixing": "activation_mixing", "wt": "wt"}
# table1.csv's spread over seeds and its cells at the Adam row's last epoch (the claims compare rows like with like)
TABLE1_SPREAD = {"std": "test_acc_std", "matched_epoch": "matched_epoch", "matched_value": "matched_test_acc_mean",
                 "matched_std": "matched_test_acc_std"}


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


def _sized(df: pd.DataFrame, data: Mapping[str, dict]) -> pd.DataFrame:
    """Each row's data set size (training examples), where the prepared data set was described."""
    return df.assign(train_size=df["dataset"].map(lambda d: data.get(d, {}).get("train")))


def _setting(columns: dict | None, *keys: str) -> dict:
    return {k: columns[k] for k in keys if columns and k in columns}


def artifacts(figures: Path, averaging: Path | None, settings: Mapping[str, dict],
              data: Mapping[str, dict] | None = None) -> dict[str, pd.DataFrame]:
    """The claims' inputs (see claims/__init__.py) from the files a preset wrote. `settings`: the measurements'
    settings from config (figure1, averaging, spectra: dataset, depth, width, ...; table1: dataset); `data`:
    {dataset: {train, test, origin}} of the prepared data sets."""
    figures, out, data = Path(figures), {}, dict(data or {})
    f1 = _read(figures / file("figure1", "table_csv"))
    if f1 is not None and settings.get("figure1"):  # the paper's JVP mode: joint (and modeless directional descent)
        joint = f1[f1["mode"].fillna("").isin(["", "joint"])] if "mode" in f1 else f1
        out["figure1_table"] = _sized(joint.assign(**settings["figure1"]), data)
    t2 = _read(figures / file("table2"))
    if t2 is not None:
        out["table2"] = _sized(t2, data)
    avg = _read(averaging)
    if avg is not None and settings.get("averaging"):
        s = settings["averaging"]
        avg = _sized(avg.assign(**_setting(s, "dataset", "depth", "width")), data)
        steps = [s["snapshot_epoch"] * math.ceil(n / s["batch_size"]) if n == n and n is not None else None
                 for n in avg["train_size"]] if {"snapshot_epoch", "batch_size"} <= set(s) else None
        out["averaging"] = avg.assign(snapshot_steps=steps) if steps is not None else avg
    curves = [c for c in (_read(figures / file("figure4")), _read(figures / file("figure7"))) if c is not None]
    curves = [c[c["epoch"].notna()] for c in curves if "epoch" in c]
    if curves:
        out["curves"] = _sized(pd.concat(curves, ignore_index=True), data)
    spectra = _panel(_read(figures / file("figure7")), "right")
    if spectra is not None and settings.get("spectra"):
        out["spectra"] = _sized(spectra.drop(columns=["dataset", "depth", "width"], errors="ignore").assign(
            **_setting(settings["spectra"], "dataset", "depth", "width")), data)
    f5 = _read(figures / file("figure5"))
    for name, panel in (("monitors", "top: cosine"), ("sv_power", "bottom: cosine and first-layer effective rank")):
        rows = _panel(f5, panel)
        if rows is not None:
            out[name] = _sized(rows, data)
    selection, sweep = _read(figures / file("figure6")), _read(figures / file("figure6", "curves"))
    if selection is not None and sweep is not None:
        lrs = selection.groupby(["optimizer", "method"])["lr"].nunique().rename("swept_lrs").reset_index()
        chosen = sweep[sweep["run"].isin(selection.loc[selection["chosen"].astype(bool), "run"])]
        out["sweep"] = _sized(chosen.merge(lrs, on=["optimizer", "method"], how="left"), data)
    for name in ("figure10", "figure2"):
        sub = _read(figures / file(name))
        if sub is not None and "k" in sub:
            out["subspace"] = sub[sub["k"].notna()]
            break
    t1 = _read(figures / file("table1"))
    if t1 is not None and not t1.empty:
        dataset = (settings.get("table1") or {}).get("dataset")
        extra = {c: t1[c] for c in RUN_FIELDS.values() if c in t1}
        extra.update({name: t1[c] for name, c in TABLE1_SPREAD.items() if c in t1})
        out["table1"] = _sized(pd.DataFrame({"row": t1["row"], "method": t1["column"].map(TABLE1_METHOD),
                                             "value": t1["test_acc_mean"], "dataset": dataset,
                                             "arch": _arch(t1["run"]), **extra}), data)
    f8 = _read(figures / file("figure8"))
    if f8 is not None and not f8.empty:
        out["mixer_curves"] = _sized(f8.assign(arch=_arch(f8["run"])), data)
    f9 = _read(figures / file("figure9"))
    if f9 is not None and not f9.empty:
        out["prompt_tuning"] = _sized(_prompt_tuning(f9), data)
    return out


def _prompt_tuning(f9: pd.DataFrame) -> pd.DataFrame:
    """Figure 9's lines (each method at its chosen lr): final test accuracy (%), mean and std over seeds, per data
    set, with the settings the claim names (prompt length, the lr grid's size, augmentation)."""
    chosen = f9[f9["chosen"].astype(bool)]
    last = chosen.sort_values("epoch").groupby(["run", "seed"]).tail(1)
    last = last.assign(backbone=last["backbone"].map(lambda b: "random" if str(b).startswith("random") else
                                                     "pre-trained"))
    keys = [k for k in ("dataset", "method", "arch", "planned_epochs", "backbone", "optimizer", "batch_size",
                        "prompts", "augment") if k in last]
    grouped = last.groupby(keys, dropna=False)
    acc = pd.DataFrame({"accuracy": grouped["test_acc"].mean() * 100,
                        "std": grouped["test_acc"].std(ddof=1).fillna(0.0) * 100,
                        "seeds": grouped["seed"].nunique()}).reset_index()
    if "lr" in f9:
        lrs = f9.groupby(["dataset", "method"])["lr"].nunique().rename("lrs").reset_index()
        acc = acc.merge(lrs, on=["dataset", "method"], how="left")
    return acc


def _row(kind, key, paper_value, ours, status, note="", reduced=(), paper_setting=""):
    diff = ours - paper_value if status == "compared" else None
    setting = ("reduced" if reduced else "paper") if status == "compared" else ""
    return {"kind": kind, "key": key, "paper": paper_value, "ours": ours, "difference": diff, "status": status,
            "setting": setting, "reduction": "; ".join(reduced), "paper_setting": paper_setting, "note": note}


def _figure1_numbers(arts) -> list[dict]:
    f1, rows = arts.get("figure1_table"), []
    mine_all = f1[(f1["dataset"] == "cifar10") & (f1["depth"] == 6) & (f1["width"] == 1024)] if f1 is not None else None
    reduced = reduction(fig1_claims.PAPER, fig1_claims.table({"figure1_table": mine_all})[1]) \
        if mine_all is not None and not mine_all.empty else []
    where = "" if f1 is None or f1.empty else (f"our trajectory: {f1['dataset'].iloc[0]} {f1['depth'].iloc[0]}x"
                                               f"{f1['width'].iloc[0]}, the paper's: cifar10 6x1024")
    for r in paper.figure1().itertuples():
        for col, ours_col in (("cosine_mean", "cosine_mean"), ("effectiveness_mean", "one_step_effectiveness_mean")):
            value = getattr(r, col)
            if value is None or pd.isna(value):
                continue
            key = f"{r.method} {'cosine' if col == 'cosine_mean' else '1-step effectiveness'}"
            mine = mine_all[mine_all["method"] == r.method] if mine_all is not None else None
            if mine is None or mine.empty:
                rows.append(_row("Figure 1", key, value, None, "not measured",
                                 where if mine_all is not None and mine_all.empty else ""))
            else:
                rows.append(_row("Figure 1", key, value, float(mine[ours_col].iloc[0]), "compared", reduced=reduced,
                                 paper_setting=describe(fig1_claims.PAPER)))
    return rows


def _table2_numbers(arts) -> list[dict]:
    ours2, rows = arts.get("table2"), []
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
            continue
        want = table2_claims.SHARPENING if r.method == "self_sharpening" else table2_claims.PAPER
        want = {**{k: v for k, v in want.items() if k != "cells"}, **full(r.dataset),
                **(DOWNSTREAM_READING if r.method == "downstream" else {})}
        have = {"data": {r.dataset: mine["train_size"].iloc[0]} if "train_size" in mine else {},
                **observed(mine, **RUN_FIELDS)}
        rows.append(_row("Table 2", key, float(r.mean), float(mine["mean"].iloc[0]), "compared", note,
                         reduction(want, have), describe(want)))
    return rows


def _table1_numbers(arts) -> list[dict]:
    ours1, rows = arts.get("table1"), []
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
            continue
        # the paper trains only the guessed methods 10x longer in the last row: backprop's cell there is another
        # 500-epoch run, ours one of its own (row (b)'s setting, its own seeds)
        long_backprop = r.row == "augment_long" and r.method == "backprop"
        epochs = table1_claims.BACKPROP_LONG if long_backprop else table1_claims.EPOCHS[r.row]
        want = {**table1_claims.ADAM, "epochs": epochs}
        have = {"data": {"cifar10": mine["train_size"].iloc[0]}, "architecture": claims.PAPER_MIXER,
                **observed(mine, **RUN_FIELDS)}
        note = "our own run of row (b)'s setting with seeds of its own (the paper trains only the other methods " \
            "10x longer)" if long_backprop else ""
        rows.append(_row("Table 1", key, float(r.value), float(mine["value"].iloc[0]), "compared", note,
                         reduced=reduction(want, have), paper_setting=describe(want)))
    return rows


def numbers(arts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every number of Figure 1's table, Table 2 and Table 1 beside ours (or 'not measured')."""
    return pd.DataFrame(_figure1_numbers(arts) + _table2_numbers(arts) + _table1_numbers(arts))


def describe_data(path: Path) -> dict:
    """A prepared data set (`gradguess data prepare`'s file): its sizes and where it came from, without the
    machine's paths. Here, not in gradguess.data: a change there re-runs every result made from the data."""
    import torch  # lazily: the rest of the report reads CSVs only

    data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    origin = re.sub(r" (in|into) /[^,]*", "", data["source"])  # "local files in /a/b, first 10 ..." -> "local files, ..."
    return {"train": len(data["y_train"]), "test": len(data["y_test"]), "origin": origin}


def write(figures: Path, averaging: Path | None, settings: Mapping[str, dict], preset: str,
          out: Mapping[str, Path], data: Mapping[str, dict] | None = None) -> pd.DataFrame:
    """comparison.csv and .md as out["csv"] and out["md"] (report/artifacts.py); `data` (describe_data of each
    prepared data set) lets every verdict say which data it used and how much of it."""
    data = dict(data or {})
    arts = artifacts(figures, averaging, settings, data)
    verdicts = claims.check_all(arts)
    needs = {c.id: c.needs for c in claims.CLAIMS}
    verdicts["data"] = [data_used(arts, needs[r.id], data) if r.status != claims.NOT_MEASURED else ""
                        for r in verdicts.itertuples()]
    nums = numbers(arts)
    long = pd.concat([verdicts.assign(kind="claim"), nums], ignore_index=True).assign(preset=preset)
    for at, column in (("paper", "verdict_at_paper_setting"), ("reduced", "verdict_at_reduced_setting")):
        long[column] = [r.status if r.setting == at else "" for r in long.itertuples()]
    io.write_text(out["csv"], long.to_csv(index=False))
    io.write_text(out["md"], markdown(verdicts, nums, arts, data, preset))
    return long


__all__ = ["artifacts", "numbers", "write", "describe_data"]
