"""`gradguess`: the command line the pipeline's rules call. Thin: parse, call the library, write.

Heavy modules (torch, pandas) are imported by the command that needs them, so a
report job does not pay for torch, nor a training job for seaborn.
"""
from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from pathlib import Path

from gradguess import catalog, io, methods
from gradguess.errors import GradguessError

log = logging.getLogger("gradguess")


def _method_option(text: str) -> tuple[str, object]:
    key, eq, value = text.partition("=")
    if not eq:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, methods.parse_value(value)


def _choice_error(kind: str, valid):
    def check(value: str) -> str:
        if value not in valid:
            raise argparse.ArgumentTypeError(f"unknown {kind} {value!r}; valid {kind}s: {', '.join(valid)}")
        return value
    return check


def cmd_train(args) -> int:
    from gradguess.train import TrainConfig, train, train_replicates

    options = dict(args.method_option)
    if "auto" in options.values():
        if not args.reference_table:
            raise ValueError("a method option is 'auto' but no --reference-table names the Figure 1 measurements "
                             "to take it from")
        from gradguess.analyses.guesses import reference_cosine

        cosine = reference_cosine(args.reference_table, average_from_epoch=args.reference_from_epoch)
        options = {k: cosine if v == "auto" else v for k, v in options.items()}
        log.info("cosine 'auto': W^T's mean joint cosine in Figure 1's measurements is %.4g", cosine)
    cfg = TrainConfig(
        dataset=args.dataset, data_root=args.data_root, depth=args.depth, width=args.width,
        method=args.method, method_options=options, optimizer=args.optimizer, lr=args.lr,
        momentum=args.momentum, weight_decay=args.weight_decay, batch_size=args.batch_size, epochs=args.epochs,
        seed=args.seed[0], monitor_every=args.monitor_every, device=args.device, preset=args.preset,
        model=args.model, mixer_blocks=args.mixer_blocks, mixer_channels=args.mixer_channels,
        mixer_patch=args.mixer_patch, mixer_groups=args.mixer_groups, augment=args.augment,
        **({} if args.checkpoint_minutes is None else {"checkpoint_minutes": args.checkpoint_minutes}))
    progress = None if args.progress == "auto" else args.progress == "bar"
    if args.snapshot_dir is not None:
        if len(args.seed) > 1:
            raise ValueError("--snapshot-dir records one run's trajectory: give one --seed")
        results = [train(cfg, args.out, checkpoint=args.checkpoint, snapshot_dir=args.snapshot_dir, progress=progress)]
    else:
        results = train_replicates(cfg, args.seed, args.out, args.checkpoint, progress=progress)
    for seed, result in zip(args.seed, results):
        log.info("%s: %s", args.out.format(seed=seed), ", ".join(
            f"{k}={v}" for k, v in result.items() if k in ("status", "train_acc", "test_acc", "diverged_epoch")))
    return 0


def cmd_data_prepare(args) -> int:
    from gradguess import data as datasets

    path = datasets.prepare(args.dataset, args.root, source=args.source, download=not args.no_download,
                            max_train=args.max_train, max_test=args.max_test)
    log.info("wrote %s", path)
    return 0


def _checkpoint_and_data(args, what: str):
    """The device, the model at --checkpoint and the --dataset, for a measurement at fixed weights."""
    from gradguess import data as datasets
    from gradguess.device import log_device, resolve_device
    from gradguess.models import load_model

    device = resolve_device(args.device)
    log_device(device, what)
    return load_model(args.checkpoint, device), datasets.load(args.dataset, args.data_root, device=device)


def cmd_cosine(args) -> int:
    from gradguess.analyses.guesses import MethodSpec, measure

    specs = [MethodSpec.parse(m) for m in args.methods]
    model, data = _checkpoint_and_data(args, "measurement")
    rows = measure(model, data.x_train, data.y_train, specs, args.modes, args.batches, args.batch_size, args.seed,
                   epoch=args.epoch)
    stamp = {"checkpoint": str(args.checkpoint)}
    if args.epoch is not None:
        stamp["epoch"] = args.epoch
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


def cmd_averaging(args) -> int:
    from gradguess.analyses.averaging import averaging
    from gradguess.analyses.guesses import MethodSpec

    specs = [MethodSpec.parse(m) for m in args.methods]
    model, data = _checkpoint_and_data(args, "guess averaging")
    rows = averaging(model, data.x_train, data.y_train, [(s.name, dict(s.options)) for s in specs], args.examples,
                     args.max_guesses, args.batch_size, chunk=args.chunk, seed=args.seed, modes=tuple(args.modes))
    io.write_csv(args.out, rows, ["method", "mode", "example", "guesses", "cosine", "limit"])
    log.info("wrote %d rows to %s", len(rows), args.out)
    return 0


def cmd_jacobian(args) -> int:
    import json

    from gradguess import data as datasets
    from gradguess.analyses.jacobian import spectra
    from gradguess.device import log_device, resolve_device
    from gradguess.models import build_seeded, load_model

    device = resolve_device(args.device)
    log_device(device, "Jacobian spectra")
    config = json.loads((Path(args.run) / "config.json").read_text())
    trained = load_model(Path(args.run) / "weights.pt", device)
    data = datasets.load(config["dataset"], args.data_root, device=device)
    init = build_seeded(data.in_features, data.num_classes, config["depth"], config["width"], config["seed"]).to(device)
    x, _ = _examples(data, args.examples, args.seed)
    rows = [{"state": state, **row} for state, model in (("initialisation", init), ("trained", trained))
            for row in spectra(model, x, args.layer, args.depths)]
    io.write_csv(args.out, rows, ["state", "k", "index", "singular_value", "effective_rank"])
    log.info("wrote %d rows to %s", len(rows), args.out)
    return 0


def _trajectory(directory, data_root, device):
    """A trajectory's config, data, and its snapshots' epochs and paths."""
    import json

    from gradguess import data as datasets

    directory = Path(directory)
    config = json.loads((directory / "config.json").read_text())
    snapshots = sorted((directory / "snapshots").glob("epoch_*.pt"))
    if not snapshots:
        raise ValueError(f"{directory / 'snapshots'} holds no epoch_*.pt snapshots: is {directory} a trajectory?")
    data = datasets.load(config["dataset"], data_root, device=device)
    return config, data, [(int(p.stem.split("_")[1]), p) for p in snapshots]


def _examples(data, n: int, seed: int):
    """The same seeded batch of training examples at every epoch."""
    import torch

    pick = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(seed))[:n].to(data.x_train.device)
    return data.x_train[pick], data.y_train[pick]


def cmd_subspace(args) -> int:
    import torch

    from gradguess.analyses.subspace import subspace_curves
    from gradguess.device import log_device, resolve_device
    from gradguess.models import load_model

    device = resolve_device(args.device)
    log_device(device, "activation-subspace projections")
    config, data, snapshots = _trajectory(args.trajectory, args.data_root, device)
    x, y = _examples(data, args.examples, args.seed)
    rows = []
    for epoch, path in snapshots:
        model = load_model(path, device)
        curves = subspace_curves(model, x, y, torch.Generator().manual_seed(args.seed + epoch), center=args.center)
        rows += [{"dataset": config["dataset"], "depth": config["depth"], "width": config["width"], "epoch": epoch,
                  **row} for row in curves]
        log.info("epoch %d: %d layers measured", epoch, len({r["layer"] for r in curves}))
    io.write_csv(args.out, rows, ["dataset", "depth", "width", "epoch", "layer", "k", "activation", "random"])
    log.info("wrote %d rows to %s", len(rows), args.out)
    return 0


def cmd_class_images(args) -> int:
    import torch

    from gradguess.analyses.subspace import class_images
    from gradguess.device import log_device, resolve_device
    from gradguess.models import load_model

    device = resolve_device(args.device)
    log_device(device, "class images")
    config, data, snapshots = _trajectory(args.trajectory, args.data_root, device)
    first, last = snapshots[0], snapshots[-1]
    x, y = _examples(data, args.examples, args.seed)
    rows = []
    for state, (epoch, path) in (("initialisation", first), ("trained", last)):
        images = class_images(load_model(path, device), x, y, data.num_classes,
                              torch.Generator().manual_seed(args.seed), center=args.center)
        for kind, stack in images.items():
            c, h, w = stack.shape[1:]
            for cls, image in enumerate(stack.cpu()):
                rows.append({"state": state, "epoch": epoch, "kind": kind, "class": cls, "image_channels": c,
                             "image_height": h, "image_width": w,
                             **{f"p{i}": float(v) for i, v in enumerate(image.flatten())}})
    columns = ["state", "epoch", "kind", "class", "image_channels", "image_height", "image_width"]
    io.write_csv(args.out, rows, columns + [k for k in rows[0] if k not in columns])
    log.info("wrote %d images to %s", len(rows), args.out)
    return 0


def cmd_report_figure5(args) -> int:
    from gradguess.report import figure5

    figure5.write(args.top, args.bottom, args.out_prefix, args.preset)
    return 0


def cmd_report_subspace(args) -> int:
    if args.artifact == "figure2":
        from gradguess.report import figure2

        figure2.write(args.subspace, args.images, args.out_prefix, args.preset)
    else:
        from gradguess.report import figure10

        figure10.write(args.subspace, args.out_prefix, args.preset)
    return 0


def cmd_report_comparison(args) -> int:
    import json

    from gradguess.report import comparison
    from gradguess.report.claims import PAPER_DATASETS, PROMPT_DATASETS

    # which data each verdict used, and how much of it: every prepared data set of the paper's in this tree
    root = Path(args.data_root) if args.data_root else None
    data = {d: comparison.describe_data(root / f"{d}.pt") for d in (*PAPER_DATASETS, *PROMPT_DATASETS)
            if root is not None and (root / f"{d}.pt").is_file()}
    comparison.write(Path(args.figures), args.averaging, json.loads(args.settings), args.preset,
                     Path(args.out_prefix), data)
    return 0


def cmd_report_table1(args) -> int:
    from gradguess.report import table1

    table1.write({"adam": args.adam, "augment": args.augment, "augment_long": args.augment_long}, args.out_prefix,
                 args.preset)
    return 0


def cmd_report_figure8(args) -> int:
    from gradguess.report import figure8

    figure8.write(args.runs, args.out_prefix, args.preset)
    return 0


def cmd_report_figure4(args) -> int:
    import json

    from gradguess.report import figure4

    figure4.write(args.averaging, args.middle, args.right, args.out_prefix, args.preset, args.paper_mode,
                  json.loads(args.setting) if args.setting else None)
    return 0


def cmd_report_figure6(args) -> int:
    from gradguess.report import figure6

    figure6.write(args.runs, args.out_prefix, args.preset)
    return 0


def cmd_report_figure7(args) -> int:
    import json

    from gradguess.report import figure7

    figure7.write(args.runs, args.spectra, args.out_prefix, args.preset,
                  json.loads(args.jacobian) if args.jacobian else None)
    return 0


def cmd_report_gather(args) -> int:
    from gradguess.report.runs import gather_runs

    runs, curves = gather_runs(args.results)
    io.write_text(args.runs, runs.to_csv(index=False))
    io.write_text(args.curves, curves.to_csv(index=False))
    log.info("gathered %d runs (%d diverged)", len(runs), int((runs["status"] == "diverged").sum()))
    return 0


def cmd_report_artifact(args) -> int:
    import importlib

    module = importlib.import_module(f"gradguess.report.{args.artifact}")
    if args.artifact == "table2":
        module.write(args.source, args.out_prefix, args.preset, layout=args.layout)
    else:
        module.write(args.source, args.out_prefix, args.preset)
    log.info("wrote %s.*", args.out_prefix)
    return 0


def cmd_report_figure1(args) -> int:
    import json

    from gradguess.report import figure1

    figure1.write(args.measurements, args.figure_prefix, args.table_prefix, args.preset, args.average_from_epoch,
                  json.loads(args.setting) if args.setting else None)
    return 0


def cmd_report_summary(args) -> int:
    from gradguess.report.summary import rewrite

    rewrite(Path(args.readme), Path(args.comparison))
    return 0


def cmd_report_readme(args) -> int:
    import json

    from gradguess.report.readme import write_config, write_readme

    config = json.loads(args.config_json)
    write_config(args.config_out, config, args.configfiles)
    write_readme(args.out, [*args.artifacts, args.config_out], config, args.configfiles)
    return 0


def cmd_clean(args) -> int:
    from gradguess.housekeeping import clean

    keep = None
    if args.keep is not None:
        text = sys.stdin.read() if args.keep == "-" else args.keep
        keep = set(text.split())
    removed = clean(args.tree, keep_digests=keep, dry_run=args.dry_run)
    total = sum(size for _, size in removed)
    for path, size in removed:
        log.info("%s %s (%.1f MB)", "would remove" if args.dry_run else "removed", path, size / 2**20)
    log.info("%s %d file(s), %.1f MB", "would free" if args.dry_run else "freed", len(removed), total / 2**20)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradguess", description=__doc__)
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    method_names = methods.names()

    p = sub.add_parser("train", help="train one MLP with one gradient-guessing method",
                       description="Train one MLP with one method; writes config.json, provenance.json, "
                                   "metrics.csv and (last) result.json into --out, and resumes from --checkpoint.")
    p.add_argument("--dataset", type=_choice_error("dataset", catalog.DATASETS), default="synthetic")
    p.add_argument("--data-root", default="data", help="directory of prepared datasets (default: data)")
    p.add_argument("--method", type=_choice_error("method", method_names), default="backprop",
                   help=f"one of: {', '.join(method_names)}")
    p.add_argument("--method-option", type=_method_option, action="append", default=[], metavar="KEY=VALUE",
                   help="method option, e.g. mode=per_layer, layers=2, cosine=0.03, power=2 (repeatable)")
    p.add_argument("--reference-from-epoch", type=int, default=1,
                   help="average the reference measurements from this epoch on, as Figure 1's table does (default 1)")
    p.add_argument("--reference-table", nargs="+", default=None, metavar="CSV",
                   help="resolves an option given as 'auto' (cosine_matched_directional's cosine) to W^T's mean "
                        "joint-mode cosine in Figure 1's per-epoch measurements (`gradguess cosine` CSVs), or in "
                        "Figure 1's table")
    p.add_argument("--depth", type=int, default=3, help="number of linear layers (default: 3)")
    p.add_argument("--width", type=int, default=128, help="hidden units per layer (default: 128)")
    p.add_argument("--model", choices=("mlp", "localmixer"), default="mlp",
                   help="mlp (--depth, --width) or Ren et al.'s LocalMixer (--mixer-*; default sizes: their CIFAR-10 "
                        "M/8/16)")
    p.add_argument("--mixer-blocks", type=int, default=4)
    p.add_argument("--mixer-channels", type=int, default=512)
    p.add_argument("--mixer-patch", type=int, default=4, help="patch side in pixels")
    p.add_argument("--mixer-groups", type=int, default=16)
    p.add_argument("--augment", action="store_true",
                   help="random crop (padding 4) and horizontal flip of every batch, on the device (Table 1 (b), (c))")
    p.add_argument("--optimizer", type=_choice_error("optimizer", catalog.OPTIMIZERS), default="adamw")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default: 0)")
    p.add_argument("--weight-decay", type=float, default=None,
                   help="default: the optimizer's (AdamW and StableAdamW 0.01, SGD 0)")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, nargs="+", default=[0],
                   help="one seed, or several: the same run for each, one after another, in this process")
    p.add_argument("--out", required=True, help="run directory; with several seeds a pattern holding {seed}")
    p.add_argument("--checkpoint", default=None,
                   help="checkpoint path (default: OUT/checkpoint.pt); with several seeds a pattern holding {seed}")
    p.add_argument("--checkpoint-minutes", type=float, default=None,
                   help="save a checkpoint to resume from at the end of an epoch once this many minutes have passed "
                        "since the last (0: every epoch; default: $GRADGUESS_CHECKPOINT_MINUTES or 10); a finished "
                        "run deletes it")
    p.add_argument("--monitor-every", type=int, default=0, metavar="STEPS",
                   help="every STEPS steps, record the estimate's cosine with backprop's gradient and the weights' "
                        "effective ranks in monitor.csv (costs one backprop each time; default 0: off)")
    p.add_argument("--snapshot-dir", default=None, help="also save the weights after every epoch here")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:1, ...")
    p.add_argument("--preset", default=os.environ.get("GRADGUESS_PRESET"),
                   help="name of the config preset, stamped on the results (default: $GRADGUESS_PRESET)")
    p.add_argument("--progress", choices=("auto", "bar", "log"), default="auto",
                   help="progress bar or log lines (default: a bar on a terminal)")
    p.set_defaults(func=cmd_train)

    d = sub.add_parser("data", help="dataset preparation").add_subparsers(dest="data_command", required=True,
                                                                          metavar="SUBCOMMAND")
    p = d.add_parser("prepare", help="download or import a dataset into one cached tensor file",
                     description="Write ROOT/DATASET.pt from a torchvision download or from local files "
                                 "(--source: MNIST idx[.gz], CIFAR python batches or .npz, SVHN .mat; CUB-200-2011, "
                                 "Stanford Cars and Stanford Dogs in their official layouts, decoded once to "
                                 "224x224, never downloaded).")
    p.add_argument("--dataset", type=_choice_error("dataset", catalog.DATASETS), required=True)
    p.add_argument("--root", required=True, help="where the cached file goes")
    p.add_argument("--source", default=None, help="directory of local files to import instead of downloading "
                                                  "(required for cub200, stanford_cars, stanford_dogs)")
    p.add_argument("--no-download", action="store_true", help="fail rather than download")
    p.add_argument("--max-train", type=int, default=None, metavar="N", help="keep the first N training examples")
    p.add_argument("--max-test", type=int, default=None, metavar="N", help="keep the first N test examples")
    p.set_defaults(func=cmd_data_prepare)

    p = sub.add_parser("cosine", help="cosine similarity and 1-step effectiveness of methods at a checkpoint",
                       description="For a few training batches, compare each method's guess with backprop's "
                                   "gradient at the given weights; one CSV row per batch, method and JVP mode.")
    p.add_argument("--checkpoint", required=True, help="weights: an epoch snapshot or a training checkpoint")
    p.add_argument("--dataset", type=_choice_error("dataset", catalog.DATASETS), required=True)
    p.add_argument("--data-root", default="data")
    p.add_argument("--methods", nargs="+", required=True, metavar="METHOD[:KEY=VALUE,...]",
                   help=f"methods to measure, from: {', '.join(method_names)}")
    p.add_argument("--modes", nargs="+", choices=methods.MODES, default=["joint"],
                   help="JVP modes for activation-space methods (default: joint)")
    p.add_argument("--batches", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--seed", type=int, default=0,
                   help="with --epoch, picks this epoch's batches and guesses (each epoch gets its own)")
    p.add_argument("--device", default="auto")
    p.add_argument("--epoch", type=int, default=None, help="epoch the weights are from, written as a column")
    p.add_argument("--out", default=None, help="CSV path (default: stdout)")
    p.set_defaults(func=cmd_cosine)

    p = sub.add_parser("averaging", help="cosine of the mean of n guesses of one example (Figure 4, left)",
                       description="For a few examples of one seeded training batch, the cosine between each "
                                   "example's gradient and the mean of n = 2, 4, ... of a method's estimates for it.")
    p.add_argument("--checkpoint", required=True, help="weights: an epoch snapshot, weights.pt or a checkpoint")
    p.add_argument("--dataset", type=_choice_error("dataset", catalog.DATASETS), required=True)
    p.add_argument("--data-root", default="data")
    p.add_argument("--methods", nargs="+", required=True, metavar="METHOD[:KEY=VALUE,...]")
    p.add_argument("--examples", type=int, default=8)
    p.add_argument("--max-guesses", type=int, default=8192)
    p.add_argument("--chunk", type=int, default=1024, help="guesses per engine pass (bounds memory)")
    p.add_argument("--modes", nargs="+", choices=methods.MODES, default=["joint"],
                   help="JVP modes for activation-space methods (default: joint)")
    p.add_argument("--batch-size", type=int, default=512, help="the examples' training batch (mixing's pool)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_averaging)

    p = sub.add_parser("jacobian", help="singular values of dx_{i+k}/ds_i through k layers (Figure 7, right)",
                       description="Per example of a seeded batch, at the run's initialisation and its final weights.")
    p.add_argument("--run", required=True, help="a seed directory of a training run (config.json, weights.pt)")
    p.add_argument("--data-root", default="data")
    p.add_argument("--layer", type=int, default=0, help="i: the pre-activations s_i (0-based)")
    p.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3, 4], help="k: layers the Jacobian spans")
    p.add_argument("--examples", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_jacobian)

    for name, helptext, func in (
            ("subspace", "per epoch of a trajectory, each hidden layer's gradient projected onto the top-k principal "
                         "directions of its activations and onto a random k-dim subspace (Figures 2 right, 10)",
             cmd_subspace),
            ("class-images", "per class, the first principal direction of the input gradients and of the inputs, "
                             "and a random mix of inputs, at a trajectory's first and last snapshot (Figure 2 left)",
             cmd_class_images)):
        images = name == "class-images"
        p = sub.add_parser(name, help=helptext, description=helptext[0].upper() + helptext[1:] + ".")
        p.add_argument("--trajectory", required=True, help="a trajectory's directory (config.json, snapshots/)")
        p.add_argument("--data-root", default="data")
        p.add_argument("--examples", type=int, default=512,
                       help="the seeded batch whose examples, per class, are measured at both snapshots" if images
                       else "the seeded batch measured at every epoch")
        p.add_argument("--center", action=argparse.BooleanOptionalAction, default=False,
                       help="PCA of centred gradients and inputs (default: of the vectors as they are)" if images
                       else "PCA of centred activations (default: of the activations as they are)")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--device", default="auto")
        p.add_argument("--out", required=True)
        p.set_defaults(func=func)

    r = sub.add_parser("report", help="gather results into the paper's tables and figures").add_subparsers(
        dest="report_command", required=True, metavar="ARTIFACT")
    p = r.add_parser("gather", help="one table of runs and one of per-epoch curves from run directories")
    p.add_argument("--results", nargs="+", required=True, help="result.json of each run")
    p.add_argument("--runs", required=True, help="output CSV, one row per run")
    p.add_argument("--curves", required=True, help="output CSV, one row per run and epoch")
    p.set_defaults(func=cmd_report_gather)
    for name, source, helptext in (("table2", "--runs", "Table 2 as CSV, Markdown and LaTeX"),
                                   ("figure3", "--runs", "Figure 3 as PNG and PDF"),
                                   ("figure11", "--curves", "Figure 11 as PNG and PDF")):
        p = r.add_parser(name, help=helptext)
        p.add_argument(source, required=True, dest="source", help="CSV from `gradguess report gather`")
        p.add_argument("--out-prefix", required=True, help="path without suffix, e.g. paper_figures/table2")
        p.add_argument("--preset", required=True, help="preset name, stamped on the artifact")
        if name == "table2":
            p.add_argument("--layout", choices=("stacked", "wide"), default="stacked",
                           help="stacked: the paper's train block above a test block (default); "
                                "wide: train and test side by side")
        p.set_defaults(func=cmd_report_artifact, artifact=name)
    p = r.add_parser("figure1", help="Figure 1 (PNG, PDF) and its table (CSV, Markdown, LaTeX)")
    p.add_argument("--measurements", nargs="+", required=True, help="CSVs from `gradguess cosine --epoch`")
    p.add_argument("--figure-prefix", required=True)
    p.add_argument("--table-prefix", required=True)
    p.add_argument("--preset", required=True)
    p.add_argument("--average-from-epoch", type=int, default=1,
                   help="the table averages epochs from this one on (default 1: the paper measures after each "
                        "epoch, so the initialisation is drawn but not averaged)")
    p.add_argument("--setting", default=None, help='the trajectory as JSON {"dataset":..,"depth":..,"width":..}, for '
                                                    "the titles")
    p.set_defaults(func=cmd_report_figure1)
    p = r.add_parser("figure4", help="Figure 4 (PNG, PDF) and its data (CSV)")
    p.add_argument("--averaging", required=True, help="CSV from `gradguess averaging`")
    p.add_argument("--middle", nargs="*", default=[], help="run directories of the middle panel (none: no panel)")
    p.add_argument("--right", nargs="*", default=[], help="run directories of the right panel (none: no panel)")
    p.add_argument("--paper-mode", choices=methods.MODES, default="per_layer",
                   help="the JVP mode marked as the paper's reading (config figure4.paper_mode)")
    p.add_argument("--setting", default=None, help="the averaged model's setting as JSON, for the title")
    p.add_argument("--out-prefix", required=True)
    p.add_argument("--preset", required=True)
    p.set_defaults(func=cmd_report_figure4)
    p = r.add_parser("figure6", help="Figure 6 (PNG, PDF), the sweep with the chosen learning rates (CSV)")
    p.add_argument("--runs", nargs="+", required=True, help="run directories of the sweep")
    p.add_argument("--out-prefix", required=True)
    p.add_argument("--preset", required=True)
    p.set_defaults(func=cmd_report_figure6)
    p = r.add_parser("figure7", help="Figure 7 (PNG, PDF) and its data (CSV)")
    p.add_argument("--runs", nargs="*", default=[], help="run directories of the left panel (none: no panel)")
    p.add_argument("--spectra", required=True, help="CSV from `gradguess jacobian`")
    p.add_argument("--jacobian", default=None, help="the spectra's MLP as JSON (dataset, depth, width, layer)")
    p.add_argument("--out-prefix", required=True)
    p.add_argument("--preset", required=True)
    p.set_defaults(func=cmd_report_figure7)
    p = r.add_parser("figure5", help="Figure 5 (PNG, PDF) and its data (CSV)")
    p.add_argument("--top", nargs="+", required=True, help="monitored run directories of the top row")
    p.add_argument("--bottom", nargs="+", required=True, help="wt_sv_power run directories (one per power)")
    p.add_argument("--out-prefix", required=True)
    p.add_argument("--preset", required=True)
    p.set_defaults(func=cmd_report_figure5)
    for name in ("figure2", "figure10"):
        p = r.add_parser(name, help=f"{name.title()} (PNG, PDF) and its data (CSV)")
        p.add_argument("--subspace", nargs="+", required=True, help="CSVs from `gradguess subspace`")
        if name == "figure2":
            p.add_argument("--images", required=True, help="CSV from `gradguess class-images`")
        p.add_argument("--out-prefix", required=True)
        p.add_argument("--preset", required=True)
        p.set_defaults(func=cmd_report_subspace, artifact=name)
    p = r.add_parser("comparison", help="comparison.md/csv: the paper's numbers and claims against this preset's")
    p.add_argument("--figures", required=True, help="the preset's paper_figures directory")
    p.add_argument("--averaging", default=None, help="Figure 4 (left)'s averaging.csv")
    p.add_argument("--settings", required=True,
                   help="the measurements' settings as JSON: {figure1: {dataset, depth, width, trajectory_epochs, "
                        "optimizer, lr, batch_size, batches_per_epoch}, averaging: {..., snapshot_epoch, paper_mode}, "
                        "spectra: {dataset, depth, width}, table1: {dataset}}")
    p.add_argument("--data-root", default=None, help="the tree's prepared data sets, to say which data each used")
    p.add_argument("--out-prefix", required=True)
    p.add_argument("--preset", required=True)
    p.set_defaults(func=cmd_report_comparison)
    p = r.add_parser("table1", help="Table 1 (CSV, Markdown, LaTeX): LocalMixer test accuracy beside the paper's")
    for row in ("adam", "augment", "augment-long"):
        p.add_argument(f"--{row}", nargs="*", default=[], help=f"run directories of row {row}")
    p.add_argument("--out-prefix", required=True)
    p.add_argument("--preset", required=True)
    p.set_defaults(func=cmd_report_table1)
    p = r.add_parser("figure8", help="Figure 8 (PNG, PDF) and its data (CSV)")
    p.add_argument("--runs", nargs="+", required=True, help="LocalMixer run directories, with and without local losses")
    p.add_argument("--out-prefix", required=True)
    p.add_argument("--preset", required=True)
    p.set_defaults(func=cmd_report_figure8)
    p = r.add_parser("summary", help="rewrite a README's block of a preset's verdicts from its comparison.csv")
    p.add_argument("--comparison", required=True, help="paper_figures/<preset>/comparison.csv")
    p.add_argument("--readme", default="README.md", help="the file holding the block's markers")
    p.set_defaults(func=cmd_report_summary)
    p = r.add_parser("readme", help="paper_figures/README.md and the resolved config")
    p.add_argument("--out", required=True)
    p.add_argument("--config-out", required=True)
    p.add_argument("--config-json", required=True, help="the resolved config, as JSON")
    p.add_argument("--configfiles", nargs="*", default=[])
    p.add_argument("--artifacts", nargs="+", required=True)
    p.set_defaults(func=cmd_report_readme)

    p = sub.add_parser("clean", help="delete checkpoints nothing will resume from, never a result",
                       description="Under TREE, delete the checkpoints of finished runs, checkpoints whose digest is "
                                   "not in --keep (settings changed, or the run is no longer configured) and the "
                                   "temporary files of killed writes. Results, metrics, weights and snapshots stay.")
    p.add_argument("--tree", required=True, help="a preset's results directory, e.g. results/paper")
    p.add_argument("--keep", default=None, metavar="DIGESTS",
                   help="digests of the checkpoints the current config would resume from, separated by spaces "
                        "('-': read them from stdin); without it only finished runs' checkpoints go")
    p.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    p.set_defaults(func=cmd_clean)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    try:
        return args.func(args)
    except (ValueError, GradguessError) as exc:
        print(f"gradguess: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
