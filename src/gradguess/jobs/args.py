"""Argument types the jobs share: a choice that names the valid ones, a method option KEY=VALUE."""
from __future__ import annotations

import argparse


def choice(kind: str, valid):
    def check(value: str) -> str:
        if value not in valid:
            raise argparse.ArgumentTypeError(f"unknown {kind} {value!r}; valid {kind}s: {', '.join(valid)}")
        return value
    return check


def device(p) -> None:
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:1, ...")


def output(p, required: bool = True) -> None:
    p.add_argument("--out", required=required, default=None, help="the CSV to write" +
                   ("" if required else " (default: stdout)"))
