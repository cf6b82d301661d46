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


# what a dry run or a report writes into a working directory: Snakemake's own caches, locks and logs
SNAKEMAKE_SCRATCH = (".snakemake/iocache", ".snakemake/locks", ".snakemake/log")


def tree_state(root: Path) -> dict[str, tuple]:
    """Every file and directory under `root` with its size and modification time (Snakemake's scratch and Python's
    bytecode caches aside): equal states, an unchanged tree."""
    state = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in dirs + files:
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            if not rel.startswith(SNAKEMAKE_SCRATCH):
                st = path.lstat()
                state[rel] = (st.st_size, st.st_mtime_ns) if name in files else ("dir",)
    return state
