"""Per class, the first principal direction of the input gradients and of the inputs, and a random mix of inputs,
at a trajectory's first and last snapshot (Figure 2, left)."""
from __future__ import annotations

import logging

log = logging.getLogger("gradguess")
HELP = ("per class, the first principal direction of the input gradients and of the inputs, and a random mix of "
        "inputs, at a trajectory's first and last snapshot (Figure 2, left)")


def add_arguments(p) -> None:
    from gradguess.jobs.args import trajectory_measurement

    trajectory_measurement(p, "the seeded batch the directions are computed on")


def run(args) -> int:
    from gradguess import io
    from gradguess.analyses.subspace import IMAGE_COLUMNS, trajectory_class_images

    rows = trajectory_class_images(args.trajectory, args.data_root, args.examples, args.seed, args.center, args.device)
    io.write_csv(args.out, rows, IMAGE_COLUMNS + [k for k in rows[0] if k not in IMAGE_COLUMNS])
    log.info("wrote %d images to %s", len(rows), args.out)
    return 0
