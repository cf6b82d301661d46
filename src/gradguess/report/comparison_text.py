"""comparison.md: the counts first, then every claim and every number, verdicts at the paper's setting and at a
reduced setting in columns of their own."""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from gradguess.report import claims


def data_used(arts: dict[str, pd.DataFrame], names, data: Mapping[str, dict]) -> str:
    """The paper's data sets behind some artifacts, each with its size and origin."""
    used = sorted({d for n in names if n in arts and "dataset" in arts[n] for d in arts[n]["dataset"].dropna()
                   if d in (*claims.PAPER_DATASETS, *claims.PROMPT_DATASETS)})
    return "; ".join(f"{d}: {data[d]['train']:,} training and {data[d]['test']:,} test examples "
                     f"({data[d]['origin']})" if d in data else d for d in used)


def _fmt(v) -> str:
    if v is None or pd.isna(v):
        return ""
    return f"{v:.3g}" if abs(v) < 0.1 else f"{v:.1f}" if abs(v) >= 1 else f"{v:.3f}"


def _cell(text) -> str:
    return str(text if text == text and text is not None else "").replace("|", "/")


def counts(verdicts: pd.DataFrame) -> dict:
    """How many claims hold / do not hold at the paper's setting, at a reduced setting, and are not measured."""
    def n(status, setting):
        return int(((verdicts["status"] == status) & (verdicts["setting"] == setting)).sum())
    return {"holds": n(claims.HOLDS, "paper"), "fails": n(claims.FAILS, "paper"),
            "holds_reduced": n(claims.HOLDS, "reduced"), "fails_reduced": n(claims.FAILS, "reduced"),
            "not_measured": int((verdicts["status"] == claims.NOT_MEASURED).sum())}


def summary(verdicts: pd.DataFrame) -> str:
    c = counts(verdicts)
    return (f"at the paper's setting {c['holds']} hold and {c['fails']} do not hold; at a reduced setting "
            f"{c['holds_reduced']} hold and {c['fails_reduced']} do not hold; {c['not_measured']} not measured")


def readings(verdicts: pd.DataFrame) -> list[str]:
    """One line per family of claims (one sentence judged in several of our readings): whether the verdict depends
    on the reading."""
    if "family" not in verdicts:
        return []
    lines = []
    judged = verdicts[(verdicts["status"] != claims.NOT_MEASURED) & verdicts["family"].fillna("").ne("")]
    for family, g in judged.groupby("family", sort=False):
        if len(g) < 2:
            continue
        each = "; ".join(f"{r.status} in {r.variant} (`{r.id}`)" for r in g.itertuples())
        depends = g["status"].nunique() > 1
        lines.append(f"**`{family}` {'depends on our reading' if depends else 'is the same in every reading'}**: "
                     f"{each}" + ("; the paper does not say which it used." if depends else "."))
    return lines


def claims_table(verdicts: pd.DataFrame) -> list[str]:
    lines = ["| claim | at the paper's setting | at a reduced setting | how ours is reduced | measured | data | "
             "the paper's setting | tolerance |", "|---|---|---|---|---|---|---|---|"]
    for r in verdicts.itertuples():
        paper_col = f"**{r.status}**" if r.setting == "paper" else ""
        reduced_col = f"**{r.status} at a reduced setting**" if r.setting == "reduced" else ""
        if r.status == claims.NOT_MEASURED:
            paper_col = reduced_col = "not measured"
        lines.append(f"| `{r.id}` ({_cell(r.source)}) | {paper_col} | {reduced_col} | {_cell(r.reduction)} | "
                     f"{_cell(r.detail)} | {_cell(r.data)} | {_cell(r.paper_setting)} | {_cell(r.tolerance)} |")
    return lines


def numbers_section(kind: str, block: pd.DataFrame, arts, data) -> list[str]:
    compared = block[block["status"] == "compared"]
    at_paper = int((compared["setting"] == "paper").sum())
    lines = ["", f"## {kind}: {len(compared)} of {len(block)} numbers compared ({at_paper} at the paper's setting, "
             f"{len(compared) - at_paper} at a reduced setting)", ""]
    source = {"Figure 1": ["figure1_table"], "Table 2": ["table2"], "Table 1": ["table1"]}[kind]
    if not compared.empty and data_used(arts, source, data):
        lines += [f"Our data: {data_used(arts, source, data)}.", ""]
    if compared.empty:
        return lines + [f"None measured at this preset ({', '.join(sorted(set(block['status'])))})."]
    lines += ["| number | paper | ours | ours − paper | at | how ours is reduced | note |",
              "|---|---:|---:|---:|---|---|---|"]
    for r in compared.itertuples():
        at = "the paper's setting" if r.setting == "paper" else "a reduced setting"
        lines.append(f"| {r.key} | {_fmt(r.paper)} | {_fmt(r.ours)} | {_fmt(r.difference)} | {at} | "
                     f"{_cell(r.reduction)} | {_cell(r.note)} |")
    return lines


def markdown(verdicts: pd.DataFrame, nums: pd.DataFrame, arts, data, preset: str) -> str:
    lines = [f"# The paper against ours (gradguess preset: {preset})", "",
             "Every claim of the paper we can check, and every number it reports, beside ours. A claim or number "
             "is judged only where this preset measured the paper's own data sets and architectures; anything "
             "else is *not measured*, and so is a check any of whose compared runs never left chance, or that "
             "compares methods with a run of one seed (a comparison is decided by the spread across seeds). A "
             "verdict reached short of the paper's setting (fewer epochs or seeds, part of the data, another "
             "learning rate, ...) is one *at a reduced setting*, in its own column, with the reduction spelled out; "
             "only one with no reduction is a verdict at the paper's setting. '*' in the paper's setting marks our "
             "reading of what the paper does not state.", "", f"**Claims**: {summary(verdicts)}.", ""]
    lines += [line for r in readings(verdicts) for line in (r, "")]
    lines += claims_table(verdicts)
    for kind in ("Figure 1", "Table 2", "Table 1"):
        block = nums[nums["kind"] == kind] if not nums.empty else nums
        if not block.empty:
            lines += numbers_section(kind, block, arts, data)
    lines += ["", "Data: the numbers come from `" + "`, `".join(sorted(arts)) + "` of this preset; the paper's from "
              "`src/gradguess/report/paper_numbers.yaml` (transcribed, uncertain cells marked)."]
    return "\n".join(lines) + "\n"
