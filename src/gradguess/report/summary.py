"""A preset's comparison, summarised for docs/results.md: the counts and every judged claim with its setting.
`gradguess report summary --comparison paper_figures/laptop/comparison.csv` rewrites the block between its markers
in docs/results.md (`--readme` names another file), so the verdicts there are never written by hand;
`--claims` rewrites the table of every claim's check and what would make it fail."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from gradguess.generated import replace_block
from gradguess.report.comparison_text import readings

BEGIN, END = "<!-- comparison:{preset}:begin -->", "<!-- comparison:{preset}:end -->"
CLAIMS_BEGIN, CLAIMS_END = "<!-- claims:begin -->", "<!-- claims:end -->"


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
    return "\n".join(lines + [line for r in readings(verdicts) for line in ("", r)])


def _cell(text) -> str:
    return "" if text != text or text is None else str(text).replace("|", "/")


def claims_block() -> str:
    """Every claim: what its check computes (its tolerance, thresholds filled in) and the data that would make it
    fail."""
    from gradguess.report import claims

    lines = ["*Generated from `src/gradguess/report/claims/` by `gradguess report summary --claims` (a test checks it "
             "is current).*", "", "| claim | source | what its check computes | the data that would make it fail |",
             "|---|---|---|---|"]
    lines += [f"| `{c.id}` | {_cell(c.source)} | {_cell(c.tolerance_text)} | {_cell(c.fails_on)} |"
              for c in claims.CLAIMS]
    return "\n".join(lines)


def rewrite(doc: Path, comparison_csv: Path) -> None:
    comparison = pd.read_csv(comparison_csv)
    preset = str(comparison["preset"].iloc[0])
    replace_block(doc, BEGIN.format(preset=preset), END.format(preset=preset), block(comparison))


def rewrite_claims(doc: Path) -> None:
    replace_block(doc, CLAIMS_BEGIN, CLAIMS_END, claims_block())
