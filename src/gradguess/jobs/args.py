"""Argument types the jobs share: a choice that names the valid ones, a method option KEY=VALUE, the report jobs'
inputs. Wiring: in no code digest (gradguess.lineage)."""
from __future__ import annotations

import argparse
import json

RUNS = {"nargs": "+", "required": True, "help": "the runs' seed files (result.json)"}
GATHERED = {"required": True, "help": "CSV from `gradguess report gather`"}
SUBSPACE = {"nargs": "+", "required": True, "help": "CSVs from `gradguess subspace`"}


def json_setting(what: str) -> dict:
    return {"type": json.loads, "default": None, "help": f"{what} as JSON, for the titles"}


def panel(what: str) -> dict:
    return {"nargs": "*", "default": [], "help": f"{what} (none: no panel)"}


def choice(kind: str, valid):
    def check(value: str) -> str:
        if value not in valid:
            raise argparse.ArgumentTypeError(f"unknown {kind} {value!r}; valid {kind}s: {', '.join(valid)}")
        return value
    return check


def jvp_mode(value: str) -> str:
    """A JVP mode of the methods (gradguess.methods.MODES), or an error naming them."""
    from gradguess.methods import MODES

    return choice("JVP mode", MODES)(value)


def device(p) -> None:
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:1, ...")


def output(p, required: bool = True) -> None:
    p.add_argument("--out", required=required, default=None, help="the CSV to write" +
                   ("" if required else " (default: stdout)"))


def trajectory_measurement(p, batch_help: str) -> None:
    """The flags of a measurement along a trajectory's snapshots (Figure 2's subspaces and class pictures)."""
    import argparse

    p.add_argument("--trajectory", required=True, help="a trajectory's directory (config.json, snapshots/)")
    p.add_argument("--data-root", default="data")
    p.add_argument("--examples", type=int, default=512, help=batch_help)
    p.add_argument("--center", action=argparse.BooleanOptionalAction, default=False,
                   help="PCA of centred vectors (default: of the vectors as they are)")
    p.add_argument("--seed", type=int, default=0)
    device(p)
    output(p)
