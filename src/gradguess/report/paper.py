"""The paper's own numbers (paper_numbers.yaml, next to this module), as dicts and DataFrames. Torch-free.

    load()          the whole file, parsed (cached)
    figure1()       one row per method: method, cosine_mean, cosine_std, effectiveness_mean, effectiveness_std, certain
    table1()        one row per (row, method): row, label, quoted, method, value, delta, absent, certain,
                    suspect
    table2()        one row per cell: dataset, depth, width, method, split, mean, std, certain, suspect, note
    text_numbers()  one row per number stated in the prose: id, value, unit, section, figure, table, quote, note
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

PATH = Path(__file__).with_name("paper_numbers.yaml")


@lru_cache(maxsize=None)
def _load(path: str) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def load(path: str | Path = PATH) -> dict:
    """The parsed YAML (shared: do not mutate)."""
    return _load(str(path))


def _pair(value) -> tuple[float | None, float | None]:
    mean, std = value
    return (None if mean is None else float(mean)), (None if std is None else float(std))


def cell(raw) -> dict:
    """A Table 2 cell, either form ([mean, std] or a mapping), as {mean, std, certain, suspect, note}."""
    if isinstance(raw, list):
        mean, std = _pair(raw)
        return {"mean": mean, "std": std, "certain": True, "suspect": None, "note": None}
    mean, std = _pair([raw.get("mean"), raw.get("std")])
    return {"mean": mean, "std": std, "certain": bool(raw.get("certain", mean is not None)),
            "suspect": raw.get("suspect"), "note": raw.get("note")}


def arch_key(depth: int, width: int) -> str:
    return f"D{depth}_W{width}"


def parse_arch(key: str) -> tuple[int, int]:
    depth, width = key.split("_")
    return int(depth[1:]), int(width[1:])


def table2(data: dict | None = None) -> pd.DataFrame:
    data = data or load()
    rows = [{"dataset": dataset, "depth": depth, "width": width, "method": method, "split": split, **cell(raw)}
            for split, archs in data["table2"]["splits"].items()
            for arch, datasets in archs.items() for depth, width in [parse_arch(arch)]
            for dataset, methods in datasets.items()
            for method, raw in methods.items()]
    return pd.DataFrame(rows, columns=["dataset", "depth", "width", "method", "split", "mean", "std", "certain",
                                       "suspect", "note"])


def figure1(data: dict | None = None) -> pd.DataFrame:
    data = data or load()
    rows = []
    for r in data["figure1"]["rows"]:
        (cm, cs), (em, es) = _pair(r["cosine"]), _pair(r["one_step_effectiveness"])
        rows.append({"method": r["method"], "label": r["label"], "cosine_mean": cm, "cosine_std": cs,
                     "effectiveness_mean": em, "effectiveness_std": es, "certain": bool(r["certain"])})
    return pd.DataFrame(rows)


def table1(data: dict | None = None) -> pd.DataFrame:
    data = data or load()
    rows = []
    for r in data["table1"]["rows"]:
        for method, c in r["cells"].items():
            rows.append({"row": r["row"], "label": r["label"], "quoted": bool(r["quoted"]),
                         "method": method, "value": None if c.get("value") is None else float(c["value"]),
                         "delta": c.get("delta"), "absent": bool(c.get("absent", False)),
                         "certain": bool(c["certain"]), "suspect": c.get("suspect")})
    return pd.DataFrame(rows)


def text_numbers(data: dict | None = None) -> pd.DataFrame:
    data = data or load()
    keys = ["id", "value", "unit", "section", "figure", "table", "quote", "note", "certain"]
    return pd.DataFrame([{k: t.get(k, True if k == "certain" else None) for k in keys} for t in data["text"]])


def text_number(id_: str, data: dict | None = None):
    """The `value` of one prose number, by id."""
    data = data or load()
    for t in data["text"]:
        if t["id"] == id_:
            return t["value"]
    raise KeyError(id_)
