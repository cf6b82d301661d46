"""Write ROOT/DATASET.pt from a torchvision download or from local files."""
from __future__ import annotations

import logging

log = logging.getLogger("gradguess")
HELP = "download or import a dataset into one cached tensor file"
DESCRIPTION = ("Write ROOT/DATASET.pt from a torchvision download or from local files (--source: MNIST idx[.gz], "
               "CIFAR python batches or .npz, SVHN .mat; CUB-200-2011, Stanford Cars and Stanford Dogs in their "
               "official layouts, decoded once to 224x224, never downloaded).")


def add_arguments(p) -> None:
    from gradguess import catalog
    from gradguess.jobs.args import choice

    p.add_argument("--dataset", type=choice("dataset", catalog.DATASETS), required=True)
    p.add_argument("--root", required=True, help="where the cached file goes")
    p.add_argument("--source", default=None, help="directory of local files to import instead of downloading "
                                                  "(required for cub200, stanford_cars, stanford_dogs)")
    p.add_argument("--no-download", action="store_true", help="fail rather than download")
    p.add_argument("--max-train", type=int, default=None, metavar="N", help="keep the first N training examples")
    p.add_argument("--max-test", type=int, default=None, metavar="N", help="keep the first N test examples")


def run(args) -> int:
    from gradguess.data.preparing import prepare

    path = prepare(args.dataset, args.root, source=args.source, download=not args.no_download,
                   max_train=args.max_train, max_test=args.max_test)
    log.info("wrote %s", path)
    return 0
