"""Train one run, every seed of its specification, one after another in this process; resumes from --checkpoint.
Several runs in one job (repeated --spec/--out pairs, or --batch FILE) train as one batched model where they can
(gradguess.batched: the same architecture and settings but seed, lr, weight decay, monitor interval and method
options), the others one by one; the log says which."""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("gradguess")
HELP = "train one run (a model, a method, its settings and seeds) from a run specification"


def add_arguments(p) -> None:
    p.add_argument("--spec", action="append", default=[], metavar="FILE_OR_JSON",
                   help="the run specification: a JSON file, or the JSON itself (gradguess.spec; `gradguess plan` "
                        "writes every run's). Example: {\"model\": {\"name\": \"mlp\", \"options\": {\"depth\": 3, "
                        "\"width\": 128}}, \"method\": {\"name\": \"wt\"}, \"dataset\": \"mnist\", \"epochs\": 10, "
                        "\"seeds\": [0, 1]}. Repeat --spec and --out for several runs in one job")
    p.add_argument("--data-root", default="data", help="directory of prepared data sets (default: data)")
    p.add_argument("--out", action="append", default=[],
                   help="run directory; with several seeds a pattern holding {seed} (one per --spec)")
    p.add_argument("--checkpoint", action="append", default=[],
                   help="checkpoint path (default: OUT/checkpoint.pt); with several seeds a pattern holding {seed} "
                        "(none, or one per --spec)")
    p.add_argument("--batch", default=None, metavar="FILE",
                   help="the runs of this job instead of --spec/--out: a JSON list of {spec, seed, out, checkpoint} "
                        "(checkpoint optional), one entry per seed")
    p.add_argument("--batched", choices=("auto", "yes", "no"), default="auto",
                   help="train the job's runs as one batched model where they can: auto (default) when the job "
                        "has several runs (--batch, or several --spec), not a single spec's seeds; yes: a single "
                        "spec's seeds too; no: one by one")
    p.add_argument("--batch-seeds-on", type=int, choices=range(4), default=0, metavar="{0,1,2,3}",
                   help="with --batched auto: train a single spec's seeds as one batched model when this job runs "
                        "on a GPU (1), on the CPU (2), either (3) or never (0, default); the workflow passes what its "
                        "batching section says (gradguess.batching.seeds_mask)")
    p.add_argument("--compile", choices=("default", "reduce-overhead", "max-autotune"), default=None,
                   help="batched runs: torch.compile the batched estimate in this mode (reduce-overhead: CUDA "
                        "graphs); falls back to eager, with a warning, if compiling fails (default: eager)")
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


def resolve(spec, args):
    """The spec with an option given as 'auto' (cosine_matched_directional's cosine) resolved from Figure 1."""
    from dataclasses import replace

    from gradguess.spec import Part

    options = dict(spec.method.options)
    if "auto" not in options.values():
        return spec
    if not args.reference_table:
        raise ValueError("a method option is 'auto' but no --reference-table names the Figure 1 measurements "
                         "to take it from")
    from gradguess.analyses.guesses import reference_cosine

    cosine = reference_cosine(args.reference_table, average_from_epoch=args.reference_from_epoch)
    log.info("cosine 'auto': W^T's mean joint cosine in Figure 1's measurements is %.4g", cosine)
    return replace(spec, method=Part(spec.method.name, {k: cosine if v == "auto" else v for k, v in options.items()}))


def entries(args) -> list:
    """The job's runs, one per seed: from --batch, or from the --spec/--out(/--checkpoint) pairs."""
    import json

    from gradguess.batched import Entry
    from gradguess.spec import RunSpec

    if args.batch is not None:
        if args.spec or args.out or args.checkpoint:
            raise ValueError("give the job's runs either as --batch FILE or as --spec/--out pairs, not both")
        try:
            items = json.loads(Path(args.batch).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"--batch {args.batch}: not a readable JSON list ({exc})") from None
        out = []
        for k, item in enumerate(items if isinstance(items, list) else [None]):
            if not isinstance(item, dict) or not {"spec", "seed", "out"} <= set(item):
                raise ValueError(f"--batch {args.batch}: entry {k} must be an object with spec, seed, out "
                                 "(and optionally checkpoint)")
            spec = item["spec"]
            spec = read_spec(spec) if isinstance(spec, str) else RunSpec.from_dict(spec)
            if int(item["seed"]) not in spec.seeds:
                raise ValueError(f"--batch {args.batch}: entry {k}'s seed {item['seed']} is not one of its spec's "
                                 f"seeds {list(spec.seeds)}")
            out.append(Entry(resolve(spec, args), int(item["seed"]), str(item["out"]), item.get("checkpoint")))
        return out
    if len(args.out) != len(args.spec) or (args.checkpoint and len(args.checkpoint) != len(args.spec)):
        raise ValueError(f"give one --out (and none or one --checkpoint) per --spec: got {len(args.spec)} --spec, "
                         f"{len(args.out)} --out, {len(args.checkpoint)} --checkpoint")
    out = []
    for k, (text, pattern) in enumerate(zip(args.spec, args.out)):
        out += seed_entries(resolve(read_spec(text), args), pattern, args.checkpoint[k] if args.checkpoint else None)
    return out


def seed_entries(spec, pattern: str, checkpoint: str | None) -> list:
    """A run's seeds as a job's runs: its directory and checkpoint patterns hold {seed}."""
    from gradguess.batched import Entry

    if len(spec.seeds) > 1 and ("{seed}" not in pattern or "{seed}" not in (checkpoint or "{seed}")):
        raise ValueError(f"several seeds need {{seed}} in the output directory and checkpoint, got {pattern!r}")
    return [Entry(spec, seed, pattern.format(seed=seed), None if checkpoint is None else checkpoint.format(seed=seed))
            for seed in spec.seeds]


def device_bit(device: str) -> int:
    """This job's device as a --batch-seeds-on bit: 1 a GPU, 2 the CPU (the device the trainer will resolve)."""
    from gradguess.device import resolve_device

    return 2 if resolve_device(device).type == "cpu" else 1


def run(args) -> int:
    from dataclasses import replace

    from gradguess.batched import train_many
    from gradguess.train import CHECKPOINT_MINUTES, Runtime, train

    if not args.spec and args.batch is None:
        raise ValueError("give a run specification (--spec, with --out) or a job's runs (--batch FILE)")
    runtime = Runtime(data_root=args.data_root, device=args.device, preset=args.preset,
                      checkpoint_minutes=CHECKPOINT_MINUTES if args.checkpoint_minutes is None else args.checkpoint_minutes,
                      progress=None if args.progress == "auto" else args.progress == "bar", compile=args.compile)
    several = args.batch is not None or len(args.spec) > 1
    if not several and args.batched == "auto" and args.batch_seeds_on and args.seed is None:
        args.batched = "yes" if args.batch_seeds_on & device_bit(args.device) else "no"
        where = args.out[0] if args.out else "run"
        log.info("%s: the seeds train %s", Path(where).parent if "{seed}" in where else where,
                 "as one batched model" if args.batched == "yes" else "one by one (not batched on this device)")
    if several or args.batched == "yes":
        if any(v is not None for v in (args.seed, args.until_epoch, args.snapshot_dir, args.chunk, args.resume_from)):
            raise ValueError("--seed, --until-epoch, --chunk, --resume-from and --snapshot-dir train one run: "
                             "not with several runs, --batch or --batched yes")
        jobs = entries(args)
        prepare_synthetic([job.spec for job in jobs], args.data_root)
        results = train_many(jobs, runtime, batched=args.batched != "no")
        for job, result in zip(jobs, results):
            log.info("%s: %s", job.out, summary(result))
        return 0
    if len(args.out) != 1 or len(args.checkpoint) > 1:
        raise ValueError("give one --out (and at most one --checkpoint) for the --spec")
    out, checkpoint = args.out[0], (args.checkpoint or [None])[0]
    spec = resolve(read_spec(args.spec[0]), args)
    prepare_synthetic([spec], args.data_root)
    if args.until_epoch is not None and (args.seed is None or args.chunk is None):
        raise ValueError("--until-epoch trains a chunk of one seed: give --seed and --chunk")
    if args.seed is not None or args.snapshot_dir is not None:
        seed = args.seed if args.seed is not None else spec.seeds[0]
        if seed not in spec.seeds or (args.seed is None and len(spec.seeds) > 1):
            raise ValueError(f"train one of the spec's seeds {list(spec.seeds)} (--seed), got {seed}")
        spec = replace(spec, seeds=(seed,))
        results = [train(spec, seed, out.format(seed=seed), runtime,
                         None if checkpoint is None else checkpoint.format(seed=seed),
                         snapshot_dir=args.snapshot_dir, until_epoch=args.until_epoch, chunk=args.chunk,
                         resume_from=args.resume_from)]
    else:
        results = train_many(seed_entries(spec, out, checkpoint), runtime, batched=False)
    for seed, result in zip(spec.seeds, results):
        log.info("%s: %s", out.format(seed=seed), summary(result))
    return 0


def prepare_synthetic(specs, data_root) -> None:
    if any(s.dataset == "synthetic" for s in specs) and not (Path(data_root) / "synthetic.pt").exists():
        from gradguess.data import prepare  # built in: made on first use

        prepare("synthetic", data_root)


def summary(result: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in result.items() if k in ("status", "train_acc", "test_acc", "diverged_epoch"))
