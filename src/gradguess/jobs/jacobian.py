"""Per example of a seeded batch, singular values of the Jacobian through k weight layers, at a run's
initialisation and its final weights (Figure 7, right)."""
from __future__ import annotations

import logging

log = logging.getLogger("gradguess")
HELP = "singular values of dx_(i+k+1)/ds_i through k weight layers (Figure 7, right)"


def add_arguments(p) -> None:
    from gradguess.jobs.args import device, output

    p.add_argument("--run", required=True, help="a seed directory of a training run (config.json, weights.pt)")
    p.add_argument("--data-root", default="data")
    p.add_argument("--layer", type=int, default=0, help="i: the pre-activations s_i (0-based)")
    p.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3, 4], help="k: weight layers the Jacobian spans")
    p.add_argument("--examples", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    device(p)
    output(p)


def run(args) -> int:
    from gradguess import io
    from gradguess.analyses.jacobian import COLUMNS, run_spectra

    rows = run_spectra(args.run, args.data_root, args.layer, args.depths, args.examples, args.seed, args.device)
    io.write_csv(args.out, rows, COLUMNS)
    log.info("wrote %d rows to %s", len(rows), args.out)
    return 0
