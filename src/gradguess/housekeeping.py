"""Deleting what nothing will read again: checkpoints of finished or abandoned runs, leftovers of killed writes.

Never a result: only files named `checkpoint*.pt` and the `.NAME.*.tmp` files
that `io.atomic_path` leaves when a job is killed mid-write.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

from gradguess.errors import GradguessError

CHECKPOINT = re.compile(r"^checkpoint(?:-(?P<digest>[0-9a-f]+))?\.pt$")
TEMPORARY = re.compile(r"^\..+\.tmp$")
STALE_SECONDS = 3600  # a temporary file this old is no write in progress


def clean(tree: str | Path, keep_digests: set[str] | None = None, dry_run: bool = False) -> list[tuple[Path, int]]:
    """Delete (or with `dry_run` only list) under `tree`, returning (path, bytes) of each:

    - a checkpoint in a run directory that holds `result.json` (the run finished; the
      trainer deletes its checkpoint itself, this catches older ones);
    - with `keep_digests`, a checkpoint whose digest is not among them: the current
      config would never resume from it (its settings changed, or the run is gone);
    - a temporary file of a write that was killed (older than an hour: not one in progress).

    A `tree` that is not a directory is an error (a mistyped path or preset), not "nothing to delete".
    """
    tree = Path(tree)
    if not tree.is_dir():
        raise GradguessError(f"{tree} does not exist or is not a directory: no results to clean there (a preset's "
                             "tree is results/<preset>; `snakemake cleanup --configfile presets/<preset>.yaml`)")
    doomed = []
    for path in sorted(tree.rglob("*")):
        if not path.is_file():
            continue
        match = CHECKPOINT.match(path.name)
        if match:
            finished = (path.parent / "result.json").exists()
            orphan = keep_digests is not None and match.group("digest") not in keep_digests
            if finished or orphan:
                doomed.append(path)
        elif TEMPORARY.match(path.name) and time.time() - path.stat().st_mtime > STALE_SECONDS:
            doomed.append(path)
    removed = []
    for path in doomed:
        size = path.stat().st_size
        if not dry_run:
            path.unlink()
        removed.append((path, size))
    return removed


def plan(tree: str | Path, keep_digests: set[str] | None = None) -> str:
    """What `clean` would delete under `tree`, one line a file, for `snakemake cleanup -n` to show."""
    tree = Path(tree)
    if not tree.is_dir():
        return f"{tree} does not exist: nothing to clean (is this the preset you meant?)"
    doomed = clean(tree, keep_digests, dry_run=True)
    if not doomed:
        return f"nothing to delete under {tree}"
    total = sum(size for _, size in doomed)
    return "\n".join([f"{len(doomed)} file(s) to delete under {tree}, {total / 2**20:.1f} MB:",
                      *(f"    {path} ({size / 2**20:.1f} MB)" for path, size in doomed)])
