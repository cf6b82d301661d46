"""Measurements along a trajectory's snapshots (gradguess/analyses/subspace.py), one command each: `subspace`
(Figures 2 right, 10) and `class-images` (Figure 2 left), the same flags, each its analysis' rows as one CSV."""
from __future__ import annotations

import logging
from types import SimpleNamespace

log = logging.getLogger("gradguess")
# command -> (help, what --examples is)
FLAGS = {
    "subspace": ("per epoch of a trajectory, each hidden layer's gradient projected onto the top-k principal "
                 "directions of its activations and onto a random k-dim subspace (Figures 2 right, 10)",
                 "the seeded batch measured at every epoch"),
    "class-images": ("per class, the first principal direction of the input gradients and of the inputs, and a "
                     "random mix of inputs, at a trajectory's first and last snapshot (Figure 2, left)",
                     "the seeded batch the directions are computed on"),
}
# command -> its analysis in gradguess.analyses.subspace and the columns its CSV starts with
MEASURES = {"subspace": ("trajectory_subspaces", "SUBSPACE_COLUMNS"),
            "class-images": ("trajectory_class_images", "IMAGE_COLUMNS")}


def add_arguments(p, command: str) -> None:
    from gradguess.jobs.args import trajectory_measurement

    trajectory_measurement(p, FLAGS[command][1])
    p.set_defaults(measurement=command)


def job(command: str) -> SimpleNamespace:
    """The job `gradguess <command>` runs (gradguess.jobs.load)."""
    return SimpleNamespace(HELP=FLAGS[command][0], DESCRIPTION=FLAGS[command][0],
                           add_arguments=lambda p: add_arguments(p, command), run=run)


def run(args) -> int:
    from gradguess import io
    from gradguess.analyses import subspace

    function, columns = MEASURES[args.measurement]
    rows = getattr(subspace, function)(args.trajectory, args.data_root, args.examples, args.seed, args.center,
                                       args.device)
    columns = getattr(subspace, columns)
    io.write_csv(args.out, rows, columns + [k for k in (rows[0] if rows else {}) if k not in columns])
    log.info("wrote %d rows to %s", len(rows), args.out)
    return 0
