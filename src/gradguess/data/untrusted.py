"""What every reader of a user's files shares: open regular files only, labels as class numbers, short
descriptions of what a file holds.

Kept apart from `core` (the cache's layout, which training imports): a change here re-runs no training run.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from gradguess.data.core import DataError

_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a directory"}


def open_regular(path: Path, error: type[Exception] = DataError):
    """`path` opened for binary reading, refusing anything but a regular file (a FIFO would block forever,
    a device never end). Non-blocking, so opening a FIFO returns at once; fstat then sees what was opened."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        kind = stat.S_IFMT(os.fstat(fd).st_mode)
        if kind != stat.S_IFREG:
            raise error(f"{path} is {_KINDS.get(kind, 'not a regular file')}, not a regular file: refused")
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def integer_labels(values: Any, where: str) -> np.ndarray:
    """Labels as int64 [N]: integers, or floats holding whole numbers (MATLAB files store labels as doubles).
    Anything else (text, fractions, NaN) is refused naming `where`, never truncated."""
    y = np.asarray(values).reshape(-1)
    if y.dtype.kind in "ui":
        return y.astype(np.int64)
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (np.abs(y) > 2.0 ** 53)
        bad[~bad] = y[~bad] != np.round(y[~bad])
        if bad.any():
            raise DataError(f"{where}: label {float(y[bad][0])} is not a whole number; labels are class numbers, "
                            "and a fraction is refused rather than truncated")
        return y.astype(np.int64)
    raise DataError(f"{where}: labels have dtype {y.dtype} (first: {show(y[0]) if len(y) else 'none'}), "
                    "expected integer class numbers")


def show(value: Any) -> str:
    """A short description of a value from a user's file (never a deep repr: a nested list could recurse)."""
    if isinstance(value, (str, bytes, int, float, np.generic)):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return f"a {type(value).__name__}"
