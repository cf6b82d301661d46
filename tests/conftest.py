import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """The quick preset, run once per session in a copy of the workflow; tests read (never change) it."""
    from workflow_helpers import QUICK, copy_workflow, snakemake

    wf = copy_workflow(tmp_path_factory.mktemp("quick"))
    # every figure of the quick preset must show data in every panel (report/plots.py: an empty one fails its rule)
    snakemake(wf, "--profile", "profiles/local", *QUICK, "--cores", "2", env={"GRADGUESS_STRICT_FIGURES": "1"})
    return wf
