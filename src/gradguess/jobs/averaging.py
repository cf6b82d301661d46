"""For a few examples of one seeded training batch, the cosine between each example's gradient and the mean of
n = 2, 4, ... of a method's estimates for it (Figure 4, left)."""
from __future__ import annotations

import logging

log = logging.getLogger("gradguess")
HELP = "cosine of the mean of n guesses of one example (Figure 4, left)"


def add_arguments(p) -> None:
    from gradguess import catalog, methods
    from gradguess.jobs.args import choice, device, output

    p.add_argument("--checkpoint", required=True, help="weights: an epoch snapshot, weights.pt or a checkpoint")
    p.add_argument("--dataset", type=choice("dataset", catalog.DATASETS), required=True)
    p.add_argument("--data-root", default="data")
    p.add_argument("--methods", nargs="+", required=True, metavar="METHOD[:KEY=VALUE,...]")
    p.add_argument("--modes", nargs="+", choices=methods.MODES, default=[methods.DEFAULT_MODE],
                   help=f"JVP modes for activation-space methods (default: {methods.DEFAULT_MODE})")
    p.add_argument("--examples", type=int, default=8)
    p.add_argument("--max-guesses", type=int, default=8192)
    p.add_argument("--chunk", type=int, default=1024, help="guesses per engine pass (bounds memory)")
    p.add_argument("--batch-size", type=int, default=512, help="the examples' training batch (mixing's pool)")
    p.add_argument("--seed", type=int, default=0)
    device(p)
    output(p)


def run(args) -> int:
    from gradguess import io, models
    from gradguess.analyses.averaging import COLUMNS, averaging
    from gradguess.analyses.guesses import MethodSpec
    from gradguess.analyses.inputs import device_for
    from gradguess.data.loading import load

    specs = [MethodSpec.parse(m) for m in args.methods]
    device = device_for(args.device, "guess averaging")
    model, data = models.load(args.checkpoint, device), load(args.dataset, args.data_root, device=device)
    rows = averaging(model, data.x_train, data.y_train, [(s.name, dict(s.options)) for s in specs], args.examples,
                     args.max_guesses, args.batch_size, chunk=args.chunk, seed=args.seed, modes=tuple(args.modes))
    io.write_csv(args.out, rows, COLUMNS)
    log.info("wrote %d rows to %s", len(rows), args.out)
    return 0
