"""Tables as text: mean ± std cells, Markdown and LaTeX (booktabs) in the paper's layouts, and the three files
every table is written as (CSV long form stamped with the preset, Markdown, LaTeX)."""
from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from gradguess import io

def mean_std(values: pd.Series) -> tuple[float, float]:
    values = values.dropna()
    if values.empty:
        return math.nan, math.nan
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def format_cell(mean: float, std: float, diverged: int = 0, digits: int = 1) -> str:
    if math.isnan(mean):
        return "diverged" if diverged else "–"
    cell = f"{mean:.{digits}f} ± {std:.{digits}f}"
    return cell + (f" ({diverged} div.)" if diverged else "")


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


def write_table(long: pd.DataFrame, header, body, out: Mapping[str, str | Path], title: str, preset: str,
                groups: int = 1, notes: str = "", key: str = "") -> list[Path]:
    """CSV (long form, stamped with the preset), Markdown and LaTeX (the paper's layout), as out[key + "csv"],
    out[key + "md"] and out[key + "tex"] (an artifact's paths: report/artifacts.py).

    `notes` (Markdown) go under the Markdown table: what each column means.
    """
    csv, md, tex = (Path(out[f"{key}{kind}"]) for kind in ("csv", "md", "tex"))
    stamp = f"{title} (gradguess preset: {preset})"
    io.write_text(csv, long.assign(preset=preset).to_csv(index=False))
    io.write_text(md, markdown(header, body, f"**{stamp}**", groups) + (f"\n{notes.strip()}\n" if notes else ""))
    io.write_text(tex, latex(header, body, stamp, groups))
    return [csv, md, tex]


