"""Running the workflow from tests: a copy of it in a temporary directory, and Snakemake in a subprocess."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist"
WORKFLOW_FILES = ("Snakefile", "config.yaml", "workflow", "presets", "profiles", "envs", "src", "README.md")
QUICK = ("--configfile", "presets/quick.yaml", "local.yaml")


def copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, dest / name)
    # the quick preset's MNIST path is relative to the repository; point it at the real files
    local = {"data": {"sources": {"mnist": str(MNIST) if MNIST.is_dir() else None}}}
    (dest / "local.yaml").write_text(yaml.safe_dump(local))
    return dest


def snakemake(workdir: Path, *args, check=True, timeout=1200, env=None):
    cmd = [sys.executable, "-m", "snakemake", *args]
    out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, **(env or {})})
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-4000:]}\n{out.stderr[-8000:]}")
    return out
