"""A job given a GPU never falls back to the CPU; every job says where it runs."""
import subprocess
import sys

import pytest
import torch

from gradguess import device
from gradguess.device import DeviceError, resolve_device

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks what happens where no GPU is seen")

GPU_VARIABLES = device.SLURM_GPU_INDICES + device.SLURM_GPU_COUNTS + ("GRADGUESS_REQUIRE_GPU",)


@pytest.fixture
def no_gpu_env(monkeypatch):
    for name in GPU_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_a_laptop_without_a_gpu_runs_on_the_cpu(no_gpu_env):
    assert resolve_device("auto").type == "cpu"


@pytest.mark.parametrize("name,value", [("SLURM_JOB_GPUS", "0"), ("SLURM_STEP_GPUS", "2,3"),
                                        ("SLURM_GPUS_ON_NODE", "1"), ("GRADGUESS_REQUIRE_GPU", "1")])
def test_a_job_given_a_gpu_that_torch_cannot_see_stops_and_says_why(no_gpu_env, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(DeviceError) as err:
        resolve_device("auto")
    message = str(err.value)
    assert f"{name}={value}" in message and "--nv" in message and "driver" in message


def test_a_zero_gpu_count_is_no_gpu(no_gpu_env, monkeypatch):
    monkeypatch.setenv("SLURM_GPUS_ON_NODE", "0")
    assert resolve_device("auto").type == "cpu"


def test_the_train_command_fails_at_once_and_logs_its_device(tmp_path):
    spec = ('{"model": {"name": "mlp", "options": {"depth": 2, "width": 8}}, "method": {"name": "wt"}, '
            '"dataset": "synthetic", "epochs": 1}')
    cmd = [sys.executable, "-m", "gradguess", "train", "--spec", spec, "--data-root", str(tmp_path / "d"),
           "--out", str(tmp_path / "run")]
    env = {k: v for k, v in __import__("os").environ.items() if k not in GPU_VARIABLES}
    out = subprocess.run(cmd, capture_output=True, text=True, env={**env, "SLURM_JOB_GPUS": "0"}, timeout=120)
    assert out.returncode == 2 and "PyTorch sees none" in out.stderr
    assert not (tmp_path / "run" / "result.json").exists()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0 and "runs on cpu" in out.stderr
