"""Which library code a result depends on, as one digest: the pipeline re-runs a result when it changes.

A job's result depends on the modules its entry point imports, transitively,
within this package: `gradguess.train` for a training run, `gradguess.analyses.guesses`
for Figure 1's measurements, a report module for a figure. The digest covers
those files' code only: comments, docstrings and formatting do not count, so
rewording a docstring re-runs nothing, while editing a guess rule re-runs the
runs that use it. The command line (`cli.py`) is a table of jobs (gradguess.jobs): a job module's flags and help
(its `add_arguments`, `HELP`, `DESCRIPTION`) are wiring and count for nothing; its `run` and what that imports
are the job's code (`job_digest`), so an edit to the science a job runs re-runs exactly the jobs that run it.

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
                          f"{PACKAGE}.jobs.report", f"{PACKAGE}.jobs.report.common"})
WIRING = frozenset({"add_arguments", "HELP", "DESCRIPTION"})  # a job's command-line face, in no digest


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


def job_digest(command: str, methods: tuple[str, ...] = (), models: tuple[str, ...] = (), src: Path = SRC) -> str:
    """The code a job of the command line (`train`, `report figure4`, ...) depends on: its module's `run` and what
    that imports, plus the methods and models it is given by name (the registries import them by name)."""
    from gradguess.jobs import module

    return code_digest(module(command), *method_modules(*methods), *model_modules(*models), src=src)


def training_digest(method: str, model: str = "mlp", src: Path = SRC) -> str:
    """The code a training run with `method` depends on: the trainer and that one method's module.

    Editing `methods/wt.py` re-runs the W^T runs (and those of its subclass
    `wt_sv_power`), not the other methods' runs. A run of a model that batches (an MLP) may be trained as a
    replicate of a batched job (gradguess.batched), so that code is its code too, whichever way it was trained.
    """
    from gradguess.batching import batches

    batched = (f"{PACKAGE}.batched",) if batches(model) else ()
    return code_digest(f"{PACKAGE}.train", *batched, *method_modules(method), *model_modules(model), src=src)
