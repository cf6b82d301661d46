"""scripts/setup: the SLURM profile it installs (once, never over one), and a .venv carried along when a checkout
is copied or moved (its scripts would run the old place's Python and code). The functions are tested one by one
(`source scripts/setup` defines them without running anything): the whole script would reinstall packages."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from workflow_helpers import REPO

SETUP = REPO / "scripts" / "setup"
TEMPLATE = REPO / "profiles" / "slurm" / "config.yaml"


def setup(*args, env=None, path=None):
    environ = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "XDG_CONFIG_DIRS")}
    environ.update(env or {})
    if path is not None:
        environ["PATH"] = path
    return subprocess.run(["bash", str(SETUP), *args], capture_output=True, text=True, env=environ, timeout=60)


def call(function_and_args: str, env=None, path=None):
    """Run one of scripts/setup's functions in bash."""
    environ = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "XDG_CONFIG_DIRS")}
    environ.update(env or {})
    if path is not None:
        environ["PATH"] = path
    return subprocess.run(["bash", "-c", f'source "{SETUP}" && {function_and_args}'], capture_output=True,
                          text=True, env=environ, timeout=60)


def test_the_slurm_profile_is_installed_once_and_never_over_yours(tmp_path):
    xdg = tmp_path / "xdg"
    profile = xdg / "snakemake" / "slurm" / "config.yaml"
    first = setup("--slurm-profile", env={"XDG_CONFIG_HOME": str(xdg)})
    assert first.returncode == 0 and "installed" in first.stdout, first.stderr
    assert profile.read_text() == TEMPLATE.read_text()
    profile.write_text(profile.read_text() + "default-resources:\n  slurm_account: mine\n")  # the user's edit
    mine = profile.read_text()
    again = setup("--slurm-profile", env={"XDG_CONFIG_HOME": str(xdg)})
    assert again.returncode == 0 and "keeping yours" in again.stdout
    assert profile.read_text() == mine and sorted(p.name for p in profile.parent.iterdir()) == ["config.yaml"]
    # without XDG_CONFIG_HOME: ~/.config, where Snakemake looks for `--profile slurm`
    home = tmp_path / "home"
    assert setup("--slurm-profile", env={"HOME": str(home)}).returncode == 0
    assert (home / ".config" / "snakemake" / "slurm" / "config.yaml").read_text() == TEMPLATE.read_text()


def test_snakemake_looks_where_setup_installs(tmp_path):
    """`--profile slurm` from any directory: the lookup Snakemake's command line does (its own function)."""
    xdg = tmp_path / "xdg"
    assert setup("--slurm-profile", env={"XDG_CONFIG_HOME": str(xdg)}).returncode == 0
    code = ("import os, sys; os.chdir(sys.argv[1]); from snakemake.cli import get_profile_dir; "
            "print(get_profile_dir('slurm')[1])")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                         env={**os.environ, "XDG_CONFIG_HOME": str(xdg)}, timeout=60)
    assert out.stdout.strip() == str(xdg / "snakemake" / "slurm" / "config.yaml"), out.stderr


def test_a_plain_setup_installs_only_where_slurm_is(tmp_path):
    xdg = tmp_path / "xdg"
    no_slurm = tmp_path / "bin-plain"
    no_slurm.mkdir()
    for tool in ("bash", "cat", "mkdir", "dirname", "python3"):
        found = shutil.which(tool)
        if found:
            (no_slurm / tool).symlink_to(found)
    out = call("install_slurm_profile", env={"XDG_CONFIG_HOME": str(xdg)}, path=str(no_slurm))
    assert out.returncode == 0 and "no sbatch here" in out.stdout and "--slurm-profile" in out.stdout
    assert not (xdg / "snakemake").exists()
    with_slurm = tmp_path / "bin-slurm"
    shutil.copytree(no_slurm, with_slurm, symlinks=True)
    (with_slurm / "sbatch").write_text("#!/bin/sh\nexit 1\n")
    (with_slurm / "sbatch").chmod(0o755)
    out = call("install_slurm_profile", env={"XDG_CONFIG_HOME": str(xdg)}, path=str(with_slurm))
    assert out.returncode == 0 and (xdg / "snakemake" / "slurm" / "config.yaml").is_file(), out.stdout + out.stderr


def test_a_profile_of_your_own_or_your_sites_is_kept_and_checked(tmp_path):
    xdg = tmp_path / "xdg"
    own = xdg / "snakemake" / "slurm"
    own.mkdir(parents=True)
    (own / "config.yaml").write_text(yaml.safe_dump({"executor": "slurm", "jobs": 50}))
    out = setup("--slurm-profile", env={"XDG_CONFIG_HOME": str(xdg)})
    assert "keeping yours" in out.stdout and "sets no GPU limit" in out.stdout
    (own / "config.yaml").write_text(yaml.safe_dump({"executor": "slurm", "resources": ["gpu=1", "mem_mb=9000"]}))
    assert "GPU limit" not in setup("--slurm-profile", env={"XDG_CONFIG_HOME": str(xdg)}).stdout
    # the site's profile (the first of XDG_CONFIG_DIRS) stays in charge: a user's copy would hide it
    site = tmp_path / "site"
    (site / "snakemake" / "slurm").mkdir(parents=True)
    (site / "snakemake" / "slurm" / "config.yaml").write_text("executor: slurm\n")
    other = tmp_path / "xdg2"
    out = setup("--slurm-profile", env={"XDG_CONFIG_HOME": str(other), "XDG_CONFIG_DIRS": f"{site}:/etc/xdg"})
    assert "your site provides" in out.stdout and not (other / "snakemake").exists()


def make_venv(where: Path) -> Path:
    """A small venv with a console script, as pip writes them (its Python on the #! line)."""
    venv = where / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    tool = venv / "bin" / "tool"
    tool.write_text(f"#!{venv.resolve()}/bin/python\nimport sys\nprint(sys.prefix)\n")
    tool.chmod(0o755)
    return venv


def test_a_venv_copied_with_its_checkout_is_found_and_repaired(tmp_path):
    old = make_venv(tmp_path / "home-checkout")
    assert call(f'venv_relocated "{old}"').returncode == 1          # where it was made: fine
    assert call(f'venv_broken "{old}"').returncode == 1
    new = tmp_path / "scratch-checkout" / ".venv"
    shutil.copytree(old, new, symlinks=True)                        # the checkout copied to scratch
    out = call(f'venv_recorded_at "{new}"')
    assert out.stdout.strip() == str(old.resolve())
    assert call(f'venv_relocated "{new}"').returncode == 0          # found
    # its script still runs the old place's Python (and so the old place's packages and code)
    ran = subprocess.run([str(new / "bin" / "tool")], capture_output=True, text=True, timeout=60)
    assert ran.stdout.strip() == str(old.resolve())
    repaired = call(f'repair_venv "{new}"')
    assert repaired.returncode == 0 and "repaired .venv" in repaired.stdout, repaired.stderr
    assert call(f'venv_relocated "{new}"').returncode == 1
    ran = subprocess.run([str(new / "bin" / "tool")], capture_output=True, text=True, timeout=60)
    assert ran.stdout.strip() == str(new.resolve())
    assert f'VIRTUAL_ENV="{new.resolve()}"' in (new / "bin" / "activate").read_text()
    assert str(old.resolve()) not in (new / "pyvenv.cfg").read_text()
    assert (old / "bin" / "tool").read_text().startswith(f"#!{old.resolve()}/")  # the original is untouched


def test_a_venv_whose_python_is_gone_is_broken(tmp_path):
    venv = make_venv(tmp_path / "checkout")
    for name in ("python", "python3", f"python3.{sys.version_info.minor}"):
        link = venv / "bin" / name
        if link.is_symlink() or link.exists():
            link.unlink()
            link.symlink_to(tmp_path / "gone" / "python3")
    assert call(f'venv_broken "{venv}"').returncode == 0


def test_setup_on_an_up_to_date_checkout_is_quick(tmp_path):
    """The README's first command runs setup every time: once installed, it only checks (no pip)."""
    stamp = REPO / ".venv" / ".gradguess-setup"
    key = call("setup_key")
    if not stamp.exists() or stamp.read_text() != key.stdout:
        pytest.skip("this checkout's .venv was not installed by the current scripts/setup")
    out = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert out.returncode == 0 and "(up to date)" in out.stdout, out.stdout + out.stderr
