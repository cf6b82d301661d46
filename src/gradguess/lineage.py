"""Which library code a result depends on, as one digest: the pipeline re-runs a result when it changes.

A job's result depends on the modules its entry point imports, transitively,
within this package: `gradguess.analyses.guesses` for Figure 1's measurements, a report module for a figure. The
digest covers those files' code only: comments, docstrings and formatting do not count, so
rewording a docstring re-runs nothing, while editing a guess rule re-runs the
runs that use it. The command line (`cli.py`) is a table of jobs (gradguess.jobs): a job module's flags and help
(its `add_arguments`, `HELP`, `DESCRIPTION`, `FLAGS`) are wiring and count for nothing; its `run` and what that
imports are the job's code (`job_digest`), so an edit to the science a job runs re-runs exactly the jobs that run it.
Code a job loads by name (a method, a model, a data set's importer, an artifact's report module) is named to it.

Training is the one exception, and has one digest (`training_digest`), the train rules' code param and every
checkpoint's and provenance.json's alike: what training executes (the trainer, the batched loop, the method and
the model the run names, the data loading), not what `gradguess train` does before (an 'auto' option resolved
from Figure 1's measurements, a data set prepared: their results reach a run as its input files), nor its flags.

Imports nothing heavy (no torch): the Snakefile calls it while it is parsed.
"""
from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

PACKAGE = "gradguess"
SRC = Path(__file__).resolve().parent.parent
# Left out of every digest: lists of names (adding a method or a dataset must not re-run the others' results;
# what a run computes lives in the modules they name, and those are in) and bookkeeping that computes nothing.
NOT_DIGESTED = frozenset({PACKAGE, f"{PACKAGE}.methods", f"{PACKAGE}.catalog", f"{PACKAGE}.lineage",
                          f"{PACKAGE}.errors", f"{PACKAGE}.cli", f"{PACKAGE}.jobs", f"{PACKAGE}.jobs.args",
                          f"{PACKAGE}.jobs.report", f"{PACKAGE}.report.artifacts"})
WIRING = frozenset({"add_arguments", "HELP", "DESCRIPTION", "FLAGS"})  # a job's command-line face: in no digest


def module_path(module: str, src: Path = SRC) -> Path:
    base = src.joinpath(*module.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Modules of this package that `module` imports (absolute or relative, at any depth)."""
    found = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            # `from gradguess import methods` imports a submodule
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


@lru_cache(maxsize=None)
def _parse(path: Path) -> ast.Module:
    """The module's AST without its command-line wiring (a job's `add_arguments`, `HELP`, `DESCRIPTION`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    tree.body = [node for node in tree.body if not (
        (isinstance(node, ast.FunctionDef) and node.name in WIRING)
        or (isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id in WIRING for t in node.targets)))]
    return tree


def closure(*modules: str, src: Path = SRC) -> dict[str, Path]:
    """The package modules `modules` import, transitively, as {module: file}."""
    seen: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        path = module_path(module, src)
        if not path.exists():
            continue  # an imported name that is not a module (a class or function)
        seen[module] = path
        todo.extend(_imports(_parse(path), module, path.name == "__init__.py") - seen.keys())
    return seen


def _code_only(tree: ast.Module) -> str:
    """The AST without docstrings, as text: comments and layout are not in an AST at all."""
    tree = ast.parse(ast.unparse(tree))  # a copy we may edit
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            body.pop(0)
            if not body:
                body.append(ast.Pass())
    return ast.dump(tree, include_attributes=False)


@lru_cache(maxsize=None)
def code_digest(*modules: str, src: Path = SRC) -> str:
    """12 hex digits over the code of `closure(*modules)`: equal iff no module in it changed its code."""
    h = hashlib.sha256()
    for module, path in sorted(closure(*modules, src=src).items()):
        if module in NOT_DIGESTED:
            continue
        h.update(module.encode() + b"\0" + _code_only(_parse(path)).encode() + b"\0")
    return h.hexdigest()[:12]


def method_modules(*names: str) -> tuple[str, ...]:
    """Method `name` lives in `gradguess/methods/<name>.py`; the registry loads it by name at run time,
    so no import statement leads there and a digest must name it."""
    return tuple(f"{PACKAGE}.methods.{name}" for name in names)


def model_modules(*names: str) -> tuple[str, ...]:
    """A model lives in `gradguess/models/<file>.py` (its facts' `module`); the registry loads it by name."""
    from gradguess.models import facts

    return tuple(f"{PACKAGE}.models.{facts.get(n).module}" for n in names
                 if n in facts.names() and facts.get(n).module)


def data_modules(*datasets: str) -> tuple[str, ...]:
    """A data set's importer lives in `gradguess/data/<file>.py` (catalog.IMPORTERS); `prepare` loads it by name."""
    from gradguess.catalog import IMPORTERS

    return tuple(f"{PACKAGE}.data.{IMPORTERS[d]}" for d in datasets)


def job_digest(command: str, *modules: str, src: Path = SRC) -> str:
    """The code a job of the command line (`cosine`, `report figure4`, ...) depends on: its module's `run` and what
    that imports, plus `modules` (method_modules, data_modules, ...: what the job loads by name) and the module a
    table-driven job runs for this command (gradguess.jobs.science)."""
    from gradguess.jobs import module, science

    if command == "train":
        raise ValueError("a training job's code is training_digest(method, model): what training executes")
    return code_digest(module(command), *science(command), *modules, src=src)


def training_modules(method: str, model: str = "mlp") -> tuple[str, ...]:
    """Where the code a training run executes starts: the trainer, the batched loop for a model that batches (a
    run of an MLP may be trained as a replicate of a batched job, so that code is its code too, whichever way it
    was trained), its method's module and its model's."""
    from gradguess.batching import batches

    batched = (f"{PACKAGE}.batched",) if batches(model) else ()
    return (f"{PACKAGE}.train", *batched, *method_modules(method), *model_modules(model))


def training_digest(method: str, model: str = "mlp", src: Path = SRC) -> str:
    """The code a training run with `method` and `model` depends on (training_modules and what they import): the
    train rules' code param and the digest a checkpoint is checked by. Editing `methods/wt.py` re-runs the W^T runs
    (and those of its subclass `wt_sv_power`), not the other methods' runs."""
    return code_digest(*training_modules(method, model), src=src)
