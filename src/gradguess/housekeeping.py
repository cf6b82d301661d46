"""Deleting what nothing will read again: checkpoints of finished or abandoned runs, leftovers of killed writes.

Never a result: only files named `checkpoint*.pt` and the `.NAME.*.tmp` files that `io.atomic_path` leaves when a
job is killed mid-write. Never while Snakemake works on the tree: the `cleanup` rule has no outputs, so Snakemake's
own lock does not keep it from a running job, and a job training several seeds keeps each finished seed's final
checkpoint until all are done (batched.train_many): deleting it then makes a killed job train that seed again.
So cleaning refuses while any Snakemake lock is held in the working directory (`.snakemake/locks/`), and keeps
every checkpoint of a job whose outputs are not all there or that Snakemake marks incomplete
(`.snakemake/incomplete/`: running, or killed).
"""
from __future__ import annotations

import logging
import os
import re
import time
from base64 import urlsafe_b64decode
from pathlib import Path

from gradguess.errors import GradguessError

log = logging.getLogger("gradguess")

CHECKPOINT = re.compile(r"^checkpoint(?:-(?P<digest>[0-9a-f]+))?\.pt$")
TEMPORARY = re.compile(r"^\..+\.tmp$")
SEED = re.compile(r"^seed\d+$")
STALE_SECONDS = 3600  # a temporary file this old is no write in progress
FINISHED = ("weights.pt", "result.json")  # a finished seed's last two files (result.json the very last)
SNAKEMAKE = Path(".snakemake")  # Snakemake's state, in the working directory it runs in


class TreeInUse(GradguessError):
    """A Snakemake lock is held where cleanup runs: a run is going on (or was killed without unlocking)."""


def expected(plan) -> tuple[set[str], dict[str, list[str]]]:
    """What a configuration's plan (gradguess.plan) would resume: its checkpoints' digests, and each job's seed
    directories, all of which must be finished before any of their checkpoints goes (a run: its seed<k>/
    directories, trained by one job or one after another; a trajectory: its own directory)."""
    units = {d: [f"{d}/seed{s}" for s in spec.seeds] for d, spec in plan.runs.items()}
    units.update({d: [d] for d in plan.trajectories})
    return {s.digest() for s in [*plan.runs.values(), *plan.trajectories.values()]}, units


def _abs(path) -> Path:
    return Path(os.path.abspath(path))  # not resolve(): a lock or marker names the path as Snakemake spelt it


def locks(state: str | Path = SNAKEMAKE) -> list[tuple[Path, list[str]]]:
    """Snakemake's lock files (<state>/locks/N.input.lock, N.output.lock: a file name a line, relative to the
    working directory), each with the files it names."""
    found = []
    for lock in sorted((Path(state) / "locks").glob("*.lock")):
        try:
            names = [n.strip() for n in lock.read_text().splitlines() if n.strip()]
        except OSError:  # released while we looked
            continue
        if names:
            found.append((lock, names))
    return found


def marked_incomplete(state: str | Path = SNAKEMAKE) -> list[Path]:
    """The files Snakemake marks incomplete: outputs of jobs running now, or killed. A marker is named by the file's
    name in URL-safe base64, cut into directories '@<part>/' where longer than a file name may be."""
    root, workdir, files = Path(state) / "incomplete", Path(state).parent, []
    for marker in sorted(root.rglob("*")) if root.is_dir() else []:
        if not marker.is_file() or marker.name == "migration_underway":
            continue
        encoded = "".join(part.removeprefix("@") for part in marker.relative_to(root).parts)
        try:
            files.append(_abs(workdir / urlsafe_b64decode(encoded).decode()))
        except (ValueError, UnicodeDecodeError):
            continue  # not one of Snakemake's markers
    return files


def refuse_if_locked(tree: Path, state: Path) -> None:
    """Any lock, not only one naming the tree: Snakemake 9 deletes every lock in the directory when it exits, so a
    cleanup of one preset that ran beside another preset's run would leave that run unprotected."""
    held = locks(state)
    if not held:
        return
    root, workdir = _abs(tree), state.parent
    on_tree = [(lock, hits) for lock, names in held
               if (hits := [n for n in names if _abs(workdir / n).is_relative_to(root)])]
    lock, names = (on_tree or held)[0]
    what = f"under {tree}" if on_tree else "of another run in this directory"
    raise TreeInUse(
        f"cleanup refused: Snakemake's lock {lock} names {len(names)} file(s) {what} (such as {names[0]}): a "
        "Snakemake run is working here, and cleaning now could delete a checkpoint it will resume from (or, as "
        "Snakemake clears every lock when it exits, leave that run unprotected). Run cleanup again once that run "
        f"has finished. If no Snakemake is running in {_abs(workdir)} (one was killed and left its lock behind), "
        "`snakemake --unlock` (with your usual --configfile arguments) removes the lock; then run cleanup again")


def _seeds_of(checkpoint: Path, units: dict[Path, list[Path]]) -> tuple[Path, list[Path]]:
    """The job directory a checkpoint belongs to, and the seed directories that job must finish: the plan's, else
    every seed<k>/ beside the checkpoint's (a directory the configuration does not plan)."""
    seed_dir = _abs(checkpoint.parent)
    for unit in (seed_dir, seed_dir.parent):
        if unit in units:
            return unit, units[unit]
    if not SEED.match(seed_dir.name):
        return seed_dir, [seed_dir]
    return seed_dir.parent, [d for d in seed_dir.parent.iterdir() if d.is_dir() and SEED.match(d.name)]


def _removable(checkpoint: Path, digest: str | None, keep_digests: set[str] | None,
               units: dict[Path, list[Path]], incomplete: list[Path]) -> bool:
    unit, seeds = _seeds_of(checkpoint, units)
    if any(f.is_relative_to(unit) for f in incomplete):
        log.info("keeping %s: Snakemake marks its job's outputs incomplete (running, or killed)", checkpoint)
        return False
    if keep_digests is not None and digest not in keep_digests:
        return True  # no configured run resumes from it: its settings changed, or the run is gone
    done = all((seed / name).is_file() for seed in seeds for name in FINISHED)
    if not done and (_abs(checkpoint.parent) / "result.json").is_file():
        log.info("keeping %s: its seed is finished but not every seed of %s is", checkpoint, unit)
    return done


def clean(tree: str | Path, keep_digests: set[str] | None = None, dry_run: bool = False,
          units: dict[str, list[str]] | None = None, state: str | Path = SNAKEMAKE) -> list[tuple[Path, int]]:
    """Delete (or with `dry_run` only list) under `tree`, returning (path, bytes) of each:

    - a checkpoint of a finished job: every seed directory of its run (`units`, from `expected`; else the seed<k>/
      directories beside it) holds its weights.pt and result.json;
    - with `keep_digests`, a checkpoint whose digest is not among them: the current config would never resume
      from it (its settings changed, or the run is gone);
    - a temporary file of a write that was killed (older than an hour: not one in progress).

    Nothing of a job Snakemake marks incomplete (in `state`, the .snakemake directory of the working directory),
    and nothing at all while a Snakemake lock is held there (TreeInUse). A `tree` that is not a directory is an
    error (a mistyped path or preset), not "nothing to delete".
    """
    tree, state = Path(tree), Path(state)
    if not tree.is_dir():
        raise GradguessError(f"{tree} does not exist or is not a directory: no results to clean there (a preset's "
                             "tree is results/<preset>; `snakemake cleanup --configfile presets/<preset>.yaml`)")
    refuse_if_locked(tree, state)
    incomplete = marked_incomplete(state)
    jobs = {_abs(unit): [_abs(s) for s in seeds] for unit, seeds in (units or {}).items()}
    doomed = []
    for path in sorted(tree.rglob("*")):
        if not path.is_file():
            continue
        match = CHECKPOINT.match(path.name)
        if match:
            if _removable(path, match.group("digest"), keep_digests, jobs, incomplete):
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


def plan(tree: str | Path, keep_digests: set[str] | None = None, units: dict[str, list[str]] | None = None,
         state: str | Path = SNAKEMAKE) -> str:
    """What `clean` would delete under `tree`, one line a file, for `snakemake cleanup -n` to show. While a lock
    is held it raises TreeInUse: the rule works this out when Snakemake plans the job, so a refused cleanup stops
    before this Snakemake locks anything (on its way out it would delete every lock, the running job's too)."""
    tree = Path(tree)
    if not tree.is_dir():
        return f"{tree} does not exist: nothing to clean (is this the preset you meant?)"
    doomed = clean(tree, keep_digests, dry_run=True, units=units, state=state)
    if not doomed:
        return f"nothing to delete under {tree}"
    total = sum(size for _, size in doomed)
    return "\n".join([f"{len(doomed)} file(s) to delete under {tree}, {total / 2**20:.1f} MB:",
                      *(f"    {path} ({size / 2**20:.1f} MB)" for path, size in doomed)])
