"""Settings: the paper's, declared per claim and per number, and ours, read off the artifacts; the distance
between them (the "reduction") says whether a verdict was reached at the paper's setting. Torch-free.

A setting is a dict of fields:
  data           {dataset: training examples}
  counts         epochs, steps, trajectory epochs, steps before the snapshot, guesses, examples, seeds,
                 replicates, batches per epoch, cells, learning rates, optimizers, k values: ours below the
                 paper's is a reduction ("1 of 1000 epochs"); more is fine
  exact          architecture, optimizer, lr, batch size, weight decay, cosine, JVP mode, ...: any difference is
                 named. A list is a set of values (e.g. the paper's three architectures): ours may be part of it
A paper value wrapped in `Read(...)` is our reading where the paper does not state it (marked "*"); with
`fixed=True` it is a reading built into our code (how an estimator builds its guess), the same in every run we
make: shown with its "*", never compared.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from gradguess.catalog import SIZES

COUNTS = ("epochs", "steps", "trajectory epochs", "steps before the snapshot", "guesses", "examples", "seeds",
          "replicates", "batches per epoch", "cells", "learning rates", "optimizers", "k values", "powers")


@dataclass(frozen=True)
class Read:
    """A value the paper does not state: our reading of it (say where from in the claim's source). `fixed`: a
    reading our code makes the same way in every run (an estimator's definition): described, never compared."""
    value: object
    fixed: bool = False


def value(v):
    return v.value if isinstance(v, Read) else v


def full(*datasets: str) -> dict:
    """The paper's data: each data set's whole official training set."""
    return {"data": {d: SIZES[d][0] for d in datasets}}


def _least(v):
    return min(v) if isinstance(v, (list, tuple)) else v


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    return str(a) == str(b)


def _as_set(v) -> list:
    return sorted({str(x) for x in (v if isinstance(v, (list, tuple)) else [v])})


def _part_of(name: str, want, have) -> list[str]:
    """A list-valued paper setting (several architectures): ours is the same set, part of it, or other values."""
    want_set, have_set = _as_set(want), _as_set(have)
    other = [h for h in have_set if h not in want_set]
    if other:
        return [f"{name} {_fmt(have)} (paper: {_fmt(want)})"]
    missing = [w for w in want_set if w not in have_set]
    if missing:
        return [f"{len(have_set)} of {len(want_set)} {name}s ({', '.join(have_set)}; not {', '.join(missing)})"]
    return []


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return str(v)


def reduction(paper: dict, ours: dict) -> list[str]:
    """Each way our setting differs from (falls short of) the paper's, in words; [] at the paper's setting."""
    out = []
    for name, want in paper.items():
        if isinstance(want, Read) and want.fixed:
            continue
        want = value(want)
        have = ours.get(name)
        if name == "data":
            have = have or {}
            missing = [d for d in want if d not in have]
            if missing and len(missing) < len(want):
                out.append(f"{len(want) - len(missing)} of {len(want)} data sets (not {', '.join(missing)})")
            for dataset, n in want.items():
                got = have.get(dataset, n)
                if got is None:
                    out.append(f"{dataset}: training set size not recorded (paper: {n:,})")
                elif got < n:
                    out.append(f"{dataset}: {got:,} of {n:,} training examples")
            continue
        if isinstance(want, dict):  # a count per part (e.g. epochs per table row): each part on its own
            have = have or {}
            for part, n in want.items():
                n = value(n)
                got = have.get(part)
                if got is not None and got < n:
                    out.append(f"{part}: {_fmt(got)} of {_fmt(n)} {name}")
            continue
        if have is None or (isinstance(have, (list, tuple)) and not have):
            out.append(f"{name} not recorded (paper: {_fmt(want)})")
        elif isinstance(want, (list, tuple)):
            out += _part_of(name, want, have)
        elif name in COUNTS:
            if _least(have) < want:
                out.append(f"{_fmt(_least(have))} of {_fmt(want)} {name}")
        else:
            values = have if isinstance(have, (list, tuple)) else [have]
            if not all(_same(v, want) for v in values):
                out.append(f"{name} {_fmt(have)} (paper: {_fmt(want)})")
    return out


def describe(paper: dict) -> str:
    """The paper's setting in words; '*' marks our reading of what it does not state."""
    parts = []
    for name, v in paper.items():
        mark = "*" if isinstance(v, Read) else ""
        v = value(v)
        if name == "data":
            parts.append("; ".join(f"{d} ({n:,} training examples)" for d, n in v.items()) + mark)
        elif isinstance(v, dict):
            parts.append(f"{name}: " + ", ".join(f"{k} {_fmt(value(n))}{'*' if isinstance(n, Read) else ''}"
                                                 for k, n in v.items()))
        else:
            parts.append(f"{name} {_fmt(v)}{mark}")
    return ", ".join(parts)
