"""Config values never reach a shell unquoted (issue 26, item 1): the schema refuses a path holding shell
metacharacters, naming the key, and every rule quotes every path anyway, so a path with a space works and one that
got past the schema cannot inject."""
import ast
import re

import pytest
import yaml

from gradguess import config as gconfig
from workflow_helpers import QUICK, REPO, copy_workflow, snakemake

SCHEMA = REPO / gconfig.SCHEMA
# every key whose value is a path (or the container image, also a path or URI); the schema test below finds any other
PATH_KEYS = ["results", "data.root", *(f"data.sources.{d}" for d in (
    "mnist", "svhn", "cifar10", "cifar100", "cub200", "stanford_cars", "stanford_dogs")), "figure9.weights", "container"]
# the issue's probes, and the other ways out of a quoted word
HOSTILE = ["/tmp/r;touch /tmp/PWNED;#", "r$(touch PWNED)", "r`touch PWNED`", "r\ntouch PWNED", "results\n",
           "r'; touch PWNED; '", 'r"x', "r && touch PWNED", "r | tee PWNED", "r > PWNED", "r{preset}", "-rf", "~/r",
           "r\\x", "r\x00"]


def config_with(value, *keys):
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    for key in keys:
        *parents, last = key.split(".")
        node = cfg
        for part in parents:
            node = node[part]
        node[last] = value
    return cfg


def refusal(key, value):
    return f"config key {key}: {value!r} refused: a path may hold spaces but no shell metacharacter"


@pytest.mark.parametrize("value", HOSTILE)
def test_a_path_with_shell_metacharacters_is_refused_naming_the_key(value):
    with pytest.raises(gconfig.ConfigError) as refused:
        gconfig.validate(config_with(value, "results"), SCHEMA)
    assert refusal("results", value) in str(refused.value)


@pytest.mark.parametrize("key", PATH_KEYS)
def test_every_path_key_refuses_the_issues_probe(key):
    with pytest.raises(gconfig.ConfigError) as refused:
        gconfig.validate(config_with(HOSTILE[0], key), SCHEMA)
    assert refusal(key, HOSTILE[0]) in str(refused.value)


@pytest.mark.parametrize("value", ["my results/run 1", "/scratch/Jürgen Müller/data-set_2.0+x@y,z=1%",
                                   "docker://ghcr.io/a/b:1.0"])
def test_a_path_with_a_space_is_accepted(value):
    gconfig.validate(config_with(value, *PATH_KEYS), SCHEMA)


def test_every_string_key_of_the_schema_is_a_path_or_a_fixed_word():
    """A new string-valued key must say what it holds: a path (the safe pattern), or an enum, const or pattern."""
    schema = yaml.safe_load(SCHEMA.read_text())
    loose = []

    def walk(node, where):
        if isinstance(node, dict):
            types = node.get("type", [])
            if "string" in ([types] if isinstance(types, str) else types) and not (
                    {"enum", "const", "pattern"} & set(node) or node.get("$ref") == "#/$defs/path"):
                loose.append(where)
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for k, value in enumerate(node):
                walk(value, f"{where}[{k}]")

    walk(schema, "schema")
    assert loose == []
    assert all(node is not None for node in (schema["$defs"]["path"]["pattern"], schema["$defs"]["path"]["errorMessage"]))


# ------------------------------------------------------------------ every rule quotes what it puts in a shell
def shell_commands():
    """(file, command) for every `shell:` of every rule file, and common.smk's TRAIN_SHELL."""
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = path.read_text()
        train = re.search(r"^TRAIN_SHELL = \((.*?)\)\n", text, re.S | re.M)
        if train:
            yield path.name, ast.literal_eval(f"({train.group(1)})")
        for block in re.finditer(r"^(\s+)shell:\n((?:\1    .*\n)+)", text, re.M):
            body = block.group(2).strip()
            if body != "TRAIN_SHELL":
                yield path.name, ast.literal_eval(f"({body})")


# placeholders that are no path: numbers, names from the schema's enums, or flags built (and quoted) in Python
UNQUOTED = {"threads", "resources.batch_seeds", "wildcards.dataset", "params.keep", "params.epoch", "params.batches",
            "params.batch_size", "params.seed", "params.examples", "params.max_guesses", "params.chunk",
            "params.layer", "params.depths", "params.limits", "params.center", "params.average_from",
            "params.dataset", "params.methods", "params.modes", "params.paper_mode", "params.image",
            # shlex.quote'd where they are built
            "params.job", "params.reference", "params.source", "params.averaging", "params.configfiles"}


def test_every_path_in_every_shell_command_is_quoted():
    commands = list(shell_commands())
    assert len(commands) >= 25 and any(name == "common.smk" for name, _ in commands)
    loose = sorted({(name, field) for name, command in commands
                    for field in re.findall(r"(?<!\{)\{([^{}]+)\}(?!\})", command)
                    if not field.endswith(":q") and field not in UNQUOTED})
    assert loose == [], "quote these with :q (or shlex.quote where the param is built)"


def test_every_flag_built_in_python_quotes_through_common_smks_helper():
    """A path in a flag a rule builds in Python goes through common.smk's quoted() (one way to quote, one place to
    read), never a shlex.quote of its own."""
    direct = {path.name: path.read_text().count("shlex.quote") for path in (REPO / "workflow" / "rules").glob("*.smk")}
    assert {name: n for name, n in direct.items() if n} == {"common.smk": 1}  # quoted() itself


@pytest.mark.pipeline
def test_a_hostile_results_path_runs_table2_and_injects_nothing(tmp_path):
    """The schema refuses the path; with the schema's pattern relaxed (in a copy), the quoting alone holds."""
    wf = copy_workflow(tmp_path / "wf")
    markers = [tmp_path / f"PWNED{k}" for k in range(3)]
    # command substitutions run while the first command is expanded; the `;` one where that command succeeds
    results = f"out dir/$(touch {markers[0]})/`touch {markers[1]}`/x;touch {markers[2]};#"
    # two of Table 2's runs (each rule of its path, not each method again): the test stays short
    table2 = {"datasets": ["synthetic"], "methods": ["wt", "backprop"]}
    (wf / "hostile.yaml").write_text(yaml.safe_dump({"results": results, "table2": table2}))
    refused = snakemake(wf, "-n", *QUICK, "hostile.yaml", check=False)
    assert refused.returncode != 0 and "config key results:" in refused.stdout + refused.stderr

    schema = wf / "workflow" / "schemas" / "config.schema.yaml"
    relaxed = yaml.safe_load(schema.read_text())
    relaxed["$defs"]["path"]["pattern"] = "^"
    schema.write_text(yaml.safe_dump(relaxed, sort_keys=False))
    tree = wf / results / "quick"
    targets = ["paper_figures/quick/table2.csv", f"{results}/quick/plan.tsv"]
    out = snakemake(wf, *targets, "--profile", "profiles/local", "--cores", "2", *QUICK, "hostile.yaml", check=False,
                    timeout=900)
    assert not [m.name for m in markers if m.exists()], "a path in a shell command ran as a command"
    assert out.returncode == 0, out.stderr[-6000:]
    assert (wf / "paper_figures" / "quick" / "table2.csv").is_file() and (tree / "tables" / "runs.csv").is_file()
    assert (tree / "plan.tsv").is_file() and (tree / "data" / "synthetic.pt").is_file()
    assert len(list((tree / "runs" / "synthetic").rglob("result.json"))) == 2 * 2
    assert (tree / "logs" / "table2.log").is_file() and (tree / "logs" / "gather_runs.log").is_file()
