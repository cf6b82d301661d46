"""Atomic file writes and run provenance.

Every artifact is written to a temporary file in the same directory and then
renamed over the target, so a killed job never leaves a half-written file that
a later step (or Snakemake) would mistake for a finished one. torch is imported
only where needed: the report commands write files without it.
"""
from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` on success. A full disk is a DiskFullError
    naming `path`; either way the temporary file goes and a previous `path` is left as it was."""
    path = Path(path)
    tmp_path = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; results are for the whole group
        os.replace(tmp_path, path)
    except OSError as exc:
        if exc.errno not in FULL:
            raise
        raise disk_full(path, exc) from exc
    finally:
        if tmp_path is not None and tmp_path.exists():
            tmp_path.unlink()


FULL = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded"}


def disk_full(path: Path, exc: OSError) -> Exception:
    from gradguess.errors import DiskFullError

    try:
        free = f"{shutil.disk_usage(path.parent).free / 2**20:.1f} MiB free there"
    except OSError:
        free = "free space unknown"
    kept = "its previous version is kept" if path.exists() else "nothing was written"
    return DiskFullError(f"{FULL[exc.errno]} writing {path} ({free}): {kept}; free some space and run again")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_csv(path: str | os.PathLike, rows: list[dict], columns, delimiter: str = ",") -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


class _Writes:
    """The file torch.save writes to, remembering why a write failed: torch's zip writer reports any failed write
    after the first as "unexpected pos", whatever the cause (a full disk, above all)."""

    def __init__(self, f):
        self.f, self.error = f, None

    def write(self, data) -> int:
        try:
            return self.f.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.f.flush()


def torch_save(obj: Any, path: str | os.PathLike) -> None:
    import torch

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        out = _Writes(f)
        try:
            torch.save(obj, out)
        except RuntimeError as exc:
            if out.error is None:
                raise
            raise out.error from exc


def code_version() -> str:
    """`git describe` of the checkout the package runs from, else the package version."""
    from gradguess import __version__

    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=here, capture_output=True, text=True, timeout=10,
        )
        if out.returncode == 0 and out.stdout.strip():
            return f"{__version__}+git.{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__


def provenance(device=None) -> dict[str, Any]:
    """What produced an artifact: code version, package versions, machine, device."""
    import importlib.metadata as md

    import torch

    packages = {}
    for name in ("torch", "torchvision", "numpy", "scipy", "tqdm"):
        try:
            packages[name] = md.version(name)
        except md.PackageNotFoundError:
            packages[name] = None
    info: dict[str, Any] = {
        "code_version": code_version(),
        "python": sys.version.split()[0],
        "executable": sys.executable,
        # the image a job ran in, where it ran in one (Apptainer and Singularity set these)
        "container": os.environ.get("APPTAINER_CONTAINER") or os.environ.get("SINGULARITY_CONTAINER"),
        "platform": platform.platform(),
        "packages": packages,
        "cuda_available": torch.cuda.is_available(),
    }
    if device is not None:
        device = torch.device(device)
        info["device"] = str(device)
        if device.type == "cuda":
            info["device_name"] = torch.cuda.get_device_name(device)
    return info


def read_checkpoint(path, device, advice: str = "") -> Any:
    """torch.load with one clear error, naming the file, for a missing or damaged checkpoint."""
    import torch

    from gradguess.errors import CheckpointError

    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({type(exc).__name__}: {exc}){advice}") from exc
