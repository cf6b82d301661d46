"""Per epoch of a trajectory, each hidden layer's gradient projected onto the top-k principal directions of its
activations and onto a random k-dim subspace (Figures 2 right, 10)."""
from __future__ import annotations

import logging

log = logging.getLogger("gradguess")
HELP = ("per epoch of a trajectory, each hidden layer's gradient projected onto the top-k principal directions of its "
        "activations and onto a random k-dim subspace (Figures 2 right, 10)")


def add_arguments(p) -> None:
    from gradguess.jobs.args import trajectory_measurement

    trajectory_measurement(p, "the seeded batch measured at every epoch")


def run(args) -> int:
    from gradguess import io
    from gradguess.analyses.subspace import SUBSPACE_COLUMNS, trajectory_subspaces

    rows = trajectory_subspaces(args.trajectory, args.data_root, args.examples, args.seed, args.center, args.device)
    io.write_csv(args.out, rows, SUBSPACE_COLUMNS)
    log.info("wrote %d rows to %s", len(rows), args.out)
    return 0
