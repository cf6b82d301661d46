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
def quick_tree(tmp_path_factory):
    """The quick preset, run once per session in a copy of the workflow (tests take it as `quick_run`)."""
    from workflow_helpers import QUICK, copy_workflow, snakemake

    wf = copy_workflow(tmp_path_factory.mktemp("quick"))
    # every figure of the quick preset must show data in every panel (report/plots.py: an empty one fails its rule)
    snakemake(wf, "--profile", "profiles/local", *QUICK, "--cores", "2", env={"GRADGUESS_STRICT_FIGURES": "1"})
    return wf


@pytest.fixture
def quick_run(quick_tree):
    """The session's finished quick tree, shared by every test that reads it: one that changes a file in it (writes a
    config file, a report, a result) fails, as the tests after it would see the change. Copy what a test must
    change (test_pipeline.py's `quick_copy`), or write beside it (tmp_path)."""
    from workflow_helpers import tree_state

    before = tree_state(quick_tree)
    yield quick_tree
    after = tree_state(quick_tree)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert not changed, f"this test changed the shared quick tree {quick_tree}: {changed[:10]}"
