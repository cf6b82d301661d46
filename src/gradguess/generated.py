"""The generated blocks of the docs (docs/hpc.md's cost table, docs/results.md's claims and a preset's verdicts):
the text between a begin and an end marker, rewritten by the command that computes it, never by hand. Apart from
gradguess.io so that adding to it changes no job's code digest (lineage.py)."""
from __future__ import annotations

import os
from pathlib import Path

from gradguess import io


def replace_block(path: str | os.PathLike, begin: str, end: str, body: str) -> None:
    """Rewrite the text between the markers `begin` and `end` of a file with `body`, keeping the markers and
    everything around them; a file without both markers, in that order, is an error naming it."""
    text = Path(path).read_text()
    if begin not in text or end not in text.split(begin, 1)[1]:
        raise ValueError(f"{path} has no block {begin} ... {end} to rewrite")
    head, rest = text.split(begin, 1)
    io.write_text(path, f"{head}{begin}\n{body}\n{end}{rest.split(end, 1)[1]}")
