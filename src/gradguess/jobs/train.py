"""Train one run, every seed of its specification, one after another in this process; resumes from --checkpoint."""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("gradguess")
HELP = "train one run (a model, a method, its settings and seeds) from a run specification"


def add_arguments(p) -> None:
    p.add_argument("--spec", required=True, metavar="FILE_OR_JSON",
                   help="the run specification: a JSON file, or the JSON itself (gradguess.spec; `gradguess plan` "
                        "writes every run's). Example: {\"model\": {\"name\": \"mlp\", \"options\": {\"depth\": 3, "
                        "\"width\": 128}}, \"method\": {\"name\": \"wt\"}, \"dataset\": \"mnist\", \"epochs\": 10, "
                        "\"seeds\": [0, 1]}")
    p.add_argument("--data-root", default="data", help="directory of prepared data sets (default: data)")
    p.add_argument("--out", required=True, help="run directory; with several seeds a pattern holding {seed}")
    p.add_argument("--checkpoint", default=None,
                   help="checkpoint path (default: OUT/checkpoint.pt); with several seeds a pattern holding {seed}")
    p.add_argument("--checkpoint-minutes", type=float, default=None,
                   help="save a checkpoint to resume from at the end of an epoch once this many minutes have passed "
                        "since the last (0: every epoch; default: $GRADGUESS_CHECKPOINT_MINUTES or 10); a finished "
                        "run deletes it")
    p.add_argument("--snapshot-dir", default=None, help="also save the weights after every epoch here (one seed)")
    p.add_argument("--seed", type=int, default=None, help="train only this one of the spec's seeds")
    p.add_argument("--until-epoch", type=int, default=None, metavar="EPOCH",
                   help="a chunk of a long run: stop after this epoch and save the state to --chunk (with --seed)")
    p.add_argument("--chunk", default=None, help="where a chunk saves its state for the next one")
    p.add_argument("--resume-from", default=None, help="the previous chunk's state, to start this chunk from")
    p.add_argument("--reference-table", nargs="+", default=None, metavar="CSV",
                   help="resolves an option given as 'auto' (cosine_matched_directional's cosine) to W^T's mean "
                        "joint-mode cosine in Figure 1's per-epoch measurements or its table")
    p.add_argument("--reference-from-epoch", type=int, default=1,
                   help="average the reference measurements from this epoch on, as Figure 1's table does (default 1)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:1, ...")
    p.add_argument("--preset", default=os.environ.get("GRADGUESS_PRESET"),
                   help="name of the config preset, stamped on the results (default: $GRADGUESS_PRESET)")
    p.add_argument("--progress", choices=("auto", "bar", "log"), default="auto",
                   help="progress bar or log lines (default: a bar on a terminal)")


def read_spec(text: str):
    from gradguess.spec import RunSpec

    path = Path(text)
    return RunSpec.from_json(path.read_text() if not text.lstrip().startswith("{") and path.is_file() else text)


def run(args) -> int:
    from dataclasses import replace

    from gradguess.spec import Part
    from gradguess.train import CHECKPOINT_MINUTES, Runtime, train, train_seeds

    spec = read_spec(args.spec)
    options = dict(spec.method.options)
    if "auto" in options.values():
        if not args.reference_table:
            raise ValueError("a method option is 'auto' but no --reference-table names the Figure 1 measurements "
                             "to take it from")
        from gradguess.analyses.guesses import reference_cosine

        cosine = reference_cosine(args.reference_table, average_from_epoch=args.reference_from_epoch)
        spec = replace(spec, method=Part(spec.method.name, {k: cosine if v == "auto" else v for k, v in options.items()}))
        log.info("cosine 'auto': W^T's mean joint cosine in Figure 1's measurements is %.4g", cosine)
    if spec.dataset == "synthetic" and not (Path(args.data_root) / "synthetic.pt").exists():
        from gradguess.data import prepare  # built in: made on first use

        prepare("synthetic", args.data_root)
    runtime = Runtime(data_root=args.data_root, device=args.device, preset=args.preset,
                      checkpoint_minutes=CHECKPOINT_MINUTES if args.checkpoint_minutes is None else args.checkpoint_minutes,
                      progress=None if args.progress == "auto" else args.progress == "bar")
    if args.until_epoch is not None and (args.seed is None or args.chunk is None):
        raise ValueError("--until-epoch trains a chunk of one seed: give --seed and --chunk")
    if args.seed is not None or args.snapshot_dir is not None:
        seed = args.seed if args.seed is not None else spec.seeds[0]
        if seed not in spec.seeds or (args.seed is None and len(spec.seeds) > 1):
            raise ValueError(f"train one of the spec's seeds {list(spec.seeds)} (--seed), got {seed}")
        spec = replace(spec, seeds=(seed,))
        results = [train(spec, seed, args.out.format(seed=seed), runtime,
                         None if args.checkpoint is None else args.checkpoint.format(seed=seed),
                         snapshot_dir=args.snapshot_dir, until_epoch=args.until_epoch, chunk=args.chunk,
                         resume_from=args.resume_from)]
    else:
        results = train_seeds(spec, args.out, runtime, args.checkpoint)
    for seed, result in zip(spec.seeds, results):
        log.info("%s: %s", args.out.format(seed=seed), ", ".join(
            f"{k}={v}" for k, v in result.items() if k in ("status", "train_acc", "test_acc", "diverged_epoch")))
    return 0
