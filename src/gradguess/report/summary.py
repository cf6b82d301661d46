"""A preset's comparison, summarised for the repository's README: the counts and every judged claim with its
setting. `gradguess report summary --comparison paper_figures/laptop/comparison.csv --readme README.md` rewrites
the block between the README's markers, so the README's verdicts are never written by hand."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from gradguess import io

BEGIN, END = "<!-- comparison:{preset}:begin -->", "<!-- comparison:{preset}:end -->"


def block(comparison: pd.DataFrame) -> str:
    preset = str(comparison["preset"].iloc[0])
    verdicts = comparison[comparison["kind"] == "claim"]
    judged = verdicts[verdicts["status"] != "not measured"]
    nums = comparison[(comparison["kind"] != "claim") & (comparison["status"] == "compared")]

    def count(status, setting):
        return int(((judged["status"] == status) & (judged["setting"] == setting)).sum())

    lines = [f"*Generated from `paper_figures/{preset}/comparison.csv` by `gradguess report summary`.*", "",
             f"Claims: at the paper's setting **{count('holds', 'paper')} hold, {count('does not hold', 'paper')} "
             f"do not hold**; at a reduced setting **{count('holds', 'reduced')} hold, "
             f"{count('does not hold', 'reduced')} do not hold**; {len(verdicts) - len(judged)} not measured. "
             f"Numbers compared: " + ", ".join(f"{len(g)} of {kind}" for kind, g in nums.groupby("kind", sort=False))
             + (f" ({int((nums['setting'] == 'paper').sum())} at the paper's setting)." if len(nums) else "none."), "",
             "| claim | at the paper's setting | at a reduced setting | how ours is reduced | measured |",
             "|---|---|---|---|---|"]
    for r in judged.itertuples():
        at_paper = f"**{r.status}**" if r.setting == "paper" else ""
        reduced = f"**{r.status}**" if r.setting == "reduced" else ""
        lines.append(f"| `{r.id}` | {at_paper} | {reduced} | {_cell(r.reduction)} | {_cell(r.detail)} |")
    return "\n".join(lines)


def _cell(text) -> str:
    return "" if text != text or text is None else str(text).replace("|", "/")


def rewrite(readme: Path, comparison_csv: Path) -> None:
    comparison = pd.read_csv(comparison_csv)
    preset = str(comparison["preset"].iloc[0])
    begin, end = BEGIN.format(preset=preset), END.format(preset=preset)
    text = Path(readme).read_text()
    if begin not in text or end not in text:
        raise ValueError(f"{readme} has no block {begin} ... {end} to rewrite")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    io.write_text(readme, f"{head}{begin}\n{block(comparison)}\n{end}{tail}")
