"""For a few training batches, compare each method's guess with backprop's gradient at the given weights."""
from __future__ import annotations

import csv
import logging
import sys

log = logging.getLogger("gradguess")
HELP = "cosine similarity and 1-step effectiveness of methods at a checkpoint"
DESCRIPTION = ("For a few training batches, compare each method's guess with backprop's gradient at the given "
               "weights; one CSV row per batch, method and JVP mode.")


def add_arguments(p) -> None:
    from gradguess import catalog, methods
    from gradguess.jobs.args import choice, device, output

    p.add_argument("--checkpoint", required=True, help="weights: an epoch snapshot or a training checkpoint")
    p.add_argument("--dataset", type=choice("dataset", catalog.DATASETS), required=True)
    p.add_argument("--data-root", default="data")
    p.add_argument("--methods", nargs="+", required=True, metavar="METHOD[:KEY=VALUE,...]",
                   help=f"methods to measure, from: {', '.join(methods.names())}")
    p.add_argument("--modes", nargs="+", choices=methods.MODES, default=[methods.DEFAULT_MODE],
                   help=f"JVP modes for activation-space methods (default: {methods.DEFAULT_MODE})")
    p.add_argument("--batches", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--seed", type=int, default=0,
                   help="with --epoch, picks this epoch's batches and guesses (each epoch gets its own)")
    p.add_argument("--epoch", type=int, default=None, help="epoch the weights are from, written as a column")
    device(p)
    output(p, required=False)


def run(args) -> int:
    from gradguess import io, models
    from gradguess.analyses.guesses import MethodSpec, measure
    from gradguess.analyses.inputs import device_for
    from gradguess.data.loading import load

    specs = [MethodSpec.parse(m) for m in args.methods]
    device = device_for(args.device, "measurement")
    model, data = models.load(args.checkpoint, device), load(args.dataset, args.data_root, device=device)
    rows = measure(model, data.x_train, data.y_train, specs, args.modes, args.batches, args.batch_size, args.seed,
                   epoch=args.epoch)
    stamp = {"checkpoint": str(args.checkpoint), **({"epoch": args.epoch} if args.epoch is not None else {})}
    rows = [{**stamp, **r} for r in rows]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    if args.out:
        io.write_csv(args.out, rows, columns)
        log.info("wrote %d rows to %s", len(rows), args.out)
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return 0
