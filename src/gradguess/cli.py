"""`gradguess`: the command line the pipeline's rules call. A table of jobs (gradguess.jobs): each subcommand's
arguments and run live in a job module (its own, or a table of several alike: the report's artifacts), which
imports what it needs when it runs, so a report job does not pay for torch, nor a training job for seaborn."""
from __future__ import annotations

import argparse
import logging
import sys

from gradguess.errors import GradguessError
from gradguess.jobs import JOBS, load

log = logging.getLogger("gradguess")
GROUPS = {"data": "dataset preparation", "report": "gather results into the paper's tables and figures"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradguess", description=__doc__)
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups = {}
    for command in JOBS:
        job = load(command)
        group, _, name = command.rpartition(" ")
        where = sub
        if group:
            if group not in groups:
                groups[group] = sub.add_parser(group, help=GROUPS[group]).add_subparsers(
                    dest=f"{group}_command", required=True, metavar="SUBCOMMAND")
            where = groups[group]
        p = where.add_parser(name, help=job.HELP, description=getattr(job, "DESCRIPTION", job.__doc__))
        job.add_arguments(p)
        p.set_defaults(func=job.run)
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
