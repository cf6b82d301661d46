"""scripts/build-image on every path, without the minutes of a real build: a stand-in runtime on
APPTAINER writes what `apptainer build` would (an image file; a directory for --sandbox), and a
stand-in Python answers `pip wheel` with an empty wheel directory. The real build is the container test's.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "build-image"

RUNTIME = """#!/usr/bin/env bash
echo "$*" >> "$STANDIN_LOG"
if [ "$1" = build ] && [ "$2" = --sandbox ]; then
    mkdir -p "$3"; cp "$4" "$3/image"
    if [ -n "${STANDIN_HANG:-}" ]; then touch "$STANDIN_HANG"; sleep 60; fi
    exit 0
fi
if [ "$1" = build ]; then
    echo "building from $3"
    if [ -n "${STANDIN_FAIL:-}" ]; then echo "FATAL: the stand-in build fails"; exit 255; fi
    cp "$3" "$2"
    if [ -n "${STANDIN_HANG:-}" ]; then touch "$STANDIN_HANG"; sleep 60; fi
    exit 0
fi
exit 3
"""

PYTHON = f"""#!/usr/bin/env bash
if [ "$1 $2 $3" = "-m pip wheel" ]; then
    while [ $# -gt 0 ]; do [ "$1" = --wheel-dir ] && mkdir -p "$2" && touch "$2/stand-in.whl"; shift; done
    exit 0
fi
exec {sys.executable} "$@"
"""


@pytest.fixture
def standin(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("apptainer", RUNTIME), ("python", PYTHON)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    cache = tmp_path / "cache"
    env = {**os.environ, "APPTAINER": str(bin_dir / "apptainer"), "PYTHON": str(bin_dir / "python"),
           "GRADGUESS_IMAGE_CACHE": str(cache), "DEBIAN_MIRROR": "http://mirror.invalid/debian",
           "STANDIN_LOG": str(tmp_path / "runtime.log")}
    for key in ("STANDIN_HANG", "STANDIN_FAIL"):
        env.pop(key, None)
    return env, cache, tmp_path / "runtime.log"


def build(env, *args, **extra):
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          env={**env, **extra})


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def kinds(log: Path) -> list[str]:
    """What each runtime call built: an image (`build X.sif recipe`) or a sandbox (`build --sandbox`)."""
    return ["sandbox" if c.split()[1] == "--sandbox" else "image" for c in calls(log)]


def leftovers(cache: Path) -> list[str]:
    """Anything in the cache that is not a finished image, sandbox or build log."""
    return sorted(p.name for p in cache.iterdir()
                  if not p.name.endswith((".sif", ".sandbox", ".build.log")))


def test_cache_miss_builds_the_image_then_a_hit_reuses_it(standin):
    env, cache, log = standin
    first = build(env)
    assert first.returncode == 0, first.stderr
    image = Path(first.stdout.strip())
    assert first.stdout.count("\n") == 1 and image.parent == cache and image.suffix == ".sif"
    recipe = image.read_text()  # the stand-in copies the filled-in recipe: the mirror and wheels went in
    assert "MirrorURL: http://mirror.invalid/debian" in recipe and "@WHEELS@" not in recipe
    assert image.with_suffix(".build.log").exists() and leftovers(cache) == []
    assert len(calls(log)) == 1
    second = build(env)
    assert second.returncode == 0 and second.stdout == first.stdout
    assert len(calls(log)) == 1  # nothing built again


def test_sandbox_on_a_cache_miss_builds_then_unpacks_and_exits_zero(standin):
    """The fresh-machine path that failed with 'tmp: unbound variable' after unpacking."""
    env, cache, log = standin
    out = build(env, "--sandbox")
    assert out.returncode == 0, out.stderr
    assert "unbound variable" not in out.stderr
    sandbox = Path(out.stdout.strip())
    assert out.stdout.count("\n") == 1 and sandbox.suffix == ".sandbox" and sandbox.is_dir()
    assert (sandbox / "image").read_text() == sandbox.with_suffix(".sif").read_text()
    assert kinds(log) == ["image", "sandbox"]
    assert leftovers(cache) == []
    again = build(env, "--sandbox")  # cache hit: neither built nor unpacked again
    assert again.returncode == 0 and again.stdout == out.stdout and len(calls(log)) == 2


def test_sandbox_from_a_cached_image_only_unpacks(standin):
    env, cache, log = standin
    assert build(env).returncode == 0
    out = build(env, "--sandbox")
    assert out.returncode == 0, out.stderr
    assert kinds(log) == ["image", "sandbox"]
    assert leftovers(cache) == []


def test_a_failed_build_reports_its_log_and_leaves_nothing(standin):
    env, cache, _ = standin
    out = build(env, STANDIN_FAIL="1")
    assert out.returncode == 1
    assert "FATAL: the stand-in build fails" in out.stderr
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("args", [(), ("--sandbox",)], ids=["build", "unpack"])
def test_an_interrupted_build_or_unpack_leaves_nothing_half_made(standin, tmp_path, args):
    env, cache, _ = standin
    if args:  # interrupt the unpack: the image is already there
        assert build(env).returncode == 0
    started = tmp_path / "started"
    proc = subprocess.Popen(["bash", str(SCRIPT), *args], env={**env, "STANDIN_HANG": str(started)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while not started.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)  # as Ctrl-C or a job's kill reaches the whole process group
    proc.wait(timeout=30)
    assert proc.returncode != 0
    assert leftovers(cache) == []
    assert not list(cache.glob("*.sandbox"))
    assert bool(list(cache.glob("*.sif"))) == bool(args)  # only the image finished before the unpack


@pytest.mark.parametrize("args", [(), ("--sandbox",)], ids=["build", "unpack"])
def test_a_full_disk_is_named_before_anything_starts(standin, tmp_path, args):
    """The cache's free space is checked first: a full disk otherwise fails minutes in, inside pip."""
    env, cache, log = standin
    if args:
        assert build(env).returncode == 0
    before = calls(log)
    bin_dir = tmp_path / "df-bin"
    bin_dir.mkdir()
    (bin_dir / "df").write_text("#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted'\n"
                                "echo '/dev/x 100000000 99000000 1048576 99% /'\n")  # 1 GB free
    (bin_dir / "df").chmod(0o755)
    out = build(env, *args, PATH=f"{bin_dir}:{env['PATH']}")
    assert out.returncode == 1
    assert f"GB free in {cache}; 1 GB are" in out.stderr and "GRADGUESS_IMAGE_CACHE" in out.stderr
    assert calls(log) == before and leftovers(cache) == []


def test_prune_removes_only_other_keys_images(standin):
    env, cache, log = standin
    assert build(env, "--sandbox").returncode == 0
    ours = sorted(p.name for p in cache.iterdir())
    stale = ["gradguess-debian-000000000000.sif", "gradguess-debian-000000000000.build.log"]
    for name in stale:
        (cache / name).write_text("an image of older pins")
    (cache / "gradguess-debian-000000000000.sandbox").mkdir()
    (cache / "unrelated.txt").write_text("not ours to remove")
    out = build(env, "--sandbox", "--prune")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in cache.iterdir()) == sorted(ours + ["unrelated.txt"])
    assert "removing" in out.stderr and len(calls(log)) == 2  # the current image was neither built nor unpacked again


def test_an_unknown_argument_is_named(standin):
    env, _, _ = standin
    out = build(env, "--sandbx")
    assert out.returncode == 2 and "'--sandbx'" in out.stderr
