"""The conda environment and the Apptainer recipe agree with pyproject.toml."""
import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def pins(requirements):
    out = {}
    for req in requirements:
        name, sep, version = req.partition("==")
        assert sep, f"{req!r} is not pinned with =="
        out[re.sub(r"[-_.]+", "-", name.strip().lower())] = version.strip()
    return out


def test_conda_env_pins_the_same_versions_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "envs" / "gradguess.yaml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pins(pip_section) == pins(project["dependencies"])
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert python == "python=3.11" and ">=3.11" in project["requires-python"]


def test_apptainer_recipe_parses_and_builds_from_the_conda_env():
    from spython.main.parse.parsers import SingularityParser

    recipe = SingularityParser(str(REPO / "envs" / "gradguess.def")).recipe["spython-base"]
    assert recipe.fromHeader.startswith("condaforge/miniforge3:")  # conda inside: --sdm conda apptainer
    sources = {line.split()[0] for line in recipe.files}
    assert {"envs/gradguess.yaml", "pyproject.toml", "src"} <= sources
    post = "\n".join(recipe.install)
    assert "conda env create --yes --name gradguess --file /opt/gradguess/gradguess.yaml" in post
    assert "pip install --no-deps" in post
    assert any("/opt/conda/envs/gradguess/bin" in line for line in recipe.environ)
    assert recipe.cmd == 'exec python -m gradguess "$@"'
    for src in sources:  # every file the build copies exists in the repository
        assert (REPO / src).exists(), src


def test_every_rule_declares_its_software_environment():
    """Each `rule` block names both; a `use rule ... with:` inherits them from the rule it reuses."""
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        text = smk.read_text()
        rules = len(re.findall(r"^\s*rule \w+:", text, re.M))  # a rule defined under an `if` is indented
        conda, container = (len(re.findall(rf"^\s+{k}:$", text, re.M)) for k in ("conda", "container"))
        assert rules == conda == container, smk.name


def debian_recipe_pins():
    text = (REPO / "envs" / "gradguess-debian.def").read_text()
    install = text.split("%post", 1)[1].split("%environment", 1)[0]
    first = install.split("pip install", 2)[1]  # the pinned packages, before the project's own install
    return pins(re.findall(r"([A-Za-z0-9_.\-]+==[0-9][^\s\\]*)", first))


def test_debian_recipe_pins_the_same_versions_as_pyproject_and_names_no_mirror():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert debian_recipe_pins() == pins(project["dependencies"] + project["optional-dependencies"]["pipeline"])
    text = (REPO / "envs" / "gradguess-debian.def").read_text()
    assert re.search(r"^Bootstrap: debootstrap$", text, re.M) and re.search(r"^OSVersion: bookworm$", text, re.M)
    assert re.search(r"^MirrorURL: @DEBIAN_MIRROR@$", text, re.M)  # filled in by scripts/build-image
    assert "http" not in text.split("%labels")[0].split("MirrorURL")[1].splitlines()[0]
    assert "{{" not in text  # no build arguments: Singularity 3.4 and current Apptainer both build it
