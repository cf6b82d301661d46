"""The house's shape, checked: CONTRIBUTING.md's table of what each package may import is the rule (this test reads
it, so the doc and the code cannot drift apart), the modules it calls torch-free import without torch, and no source
file or function outgrows the house's limits."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PACKAGE = "gradguess"
MAX_FILE_LINES, MAX_FUNCTION_LINES = 400, 80


def modules() -> dict[str, Path]:
    """Every module of the package: dotted name (without 'gradguess.') -> file."""
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = path.relative_to(SRC / PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name or "__init__"] = path
    return out


MODULES = modules()


def as_module(token: str) -> str | None:
    """A backticked name of the table as a module of the package ('models.sites', 'methods/low_memory.py'), or None
    where it names something else (a function, a variable)."""
    name = token.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
    return name if name in MODULES else None


def rules() -> tuple[dict[str, dict], dict[str, str]]:
    """CONTRIBUTING.md's table: row -> {scope module: allowed modules}, and row -> its torch-free cell."""
    text = (REPO / "CONTRIBUTING.md").read_text()
    section = text.split("## What each package may import", 1)[1].split("\n## ", 1)[0]
    allowed, torch_free = {}, {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        row = cells[0].strip("`")
        assert row in MODULES, f"CONTRIBUTING.md's import table names `{row}`, which is no module of {PACKAGE}"
        may = re.split(r"\bnever\b|\bno other\b", cells[1])[0]  # what follows "never" is forbidden, not allowed
        scopes, scope = {row: set()}, row
        for token in re.findall(r"`([^`]+)`", may):
            module = as_module(token)
            if module is None:
                continue
            if "/" in token:  # "`calibration/measure.py` also ...": what follows is that module's
                scope = module
                scopes.setdefault(scope, set())
            else:
                scopes[scope].add(module)
        allowed[row], torch_free[row] = scopes, cells[2]
    return allowed, torch_free


ALLOWED, TORCH_FREE = rules()


def row_of(module: str) -> str | None:
    """The table row a module belongs to: itself, or the longest row that is its package."""
    rows = [r for r in ALLOWED if module == r or module.startswith(r + ".")]
    return max(rows, key=len) if rows else None


def imports(path: Path, module: str) -> list[tuple[str, bool]]:
    """(imported module of the package, at the module's top level) for every import in the file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = [PACKAGE, *package.split(".")] if package else [PACKAGE]
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # `from gradguess.models import sites` imports the submodule; `from gradguess.spec import RunSpec` the module
            names = [f"{base}.{a.name}" if f"{base}.{a.name}".removeprefix(PACKAGE + ".") in MODULES else base
                     for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith(PACKAGE + "."):
                found.append((name.removeprefix(PACKAGE + "."), id(node) in top))
    return found


def test_the_table_has_a_row_for_every_module():
    missing = sorted(m for m in MODULES if m != "__init__" and row_of(m) is None)
    assert not missing, f"modules with no row in CONTRIBUTING.md's import table: {missing}"


def test_every_import_is_one_the_table_allows():
    broken = []
    for module, path in MODULES.items():
        row = row_of(module)
        if row is None:
            continue
        scopes = ALLOWED[row]
        ok = set(scopes[row]) | {m for s, ms in scopes.items() if module == s or module.startswith(s + ".")
                                 for m in ms}
        for imported, at_top in imports(path, module):
            if row_of(imported) == row:
                continue  # a package may import its own modules
            if row == "jobs" and at_top:
                broken.append(f"{module} imports {imported} at its top (a job imports only inside add_arguments/run)")
            elif row != "jobs" and not any(imported == m or imported.startswith(m + ".") for m in ok):
                broken.append(f"{module} imports {imported}")
    assert not broken, "imports CONTRIBUTING.md's table does not allow:\n" + "\n".join(broken)


def test_the_checker_sees_a_forbidden_import(tmp_path):
    """The check can fail: a report module importing the trainer is caught."""
    fake = tmp_path / "figure99.py"
    fake.write_text("from gradguess.train import train\nfrom gradguess import io\n")
    found = imports(fake, "report.figure99")
    assert ("train", True) in found and ("io", True) in found
    ok = ALLOWED["report"]["report"]
    assert "io" in ok and "train" not in ok


def torch_free_modules() -> list[str]:
    """The modules the table's last column calls torch-free: a row's every module where the cell starts with yes
    (less those a later clause says no to), else the modules named in its clauses that say yes."""
    out = set()
    for row, cell in TORCH_FREE.items():
        clauses = cell.split(";")
        named = [[as_module(t) for t in re.findall(r"`([^`]+)`", c) if as_module(t)] for c in clauses]
        if clauses[0].strip().startswith("yes"):
            out |= {m for m in MODULES if row_of(m) == row}
            out -= {m for c, ms in zip(clauses[1:], named[1:]) if re.search(r"\bno\b", c) for m in ms}
        else:
            out |= {m for c, ms in zip(clauses, named) if re.search(r"\byes\b", c) for m in ms}
    return sorted(out - {"__main__"})  # __main__ runs the CLI when imported


def test_torch_free_modules_import_without_torch():
    names = torch_free_modules()
    assert {"plan", "spec", "lineage", "catalog", "config", "schedule", "jobsize"} <= set(names)
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module('gradguess.' + name if name != '__init__' else 'gradguess')\n"
            "    if 'torch' in sys.modules:\n"
            "        sys.exit(f'importing gradguess.{name} imported torch')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"})
    assert out.returncode == 0, f"a module CONTRIBUTING.md calls torch-free imports torch:\n{out.stderr[-3000:]}"


@pytest.mark.parametrize("path", sorted(MODULES.values()), ids=lambda p: str(p.relative_to(SRC)))
def test_no_source_file_or_function_outgrows_the_house(path):
    lines = path.read_text().splitlines()
    assert len(lines) <= MAX_FILE_LINES, f"{path} has {len(lines)} lines (at most {MAX_FILE_LINES})"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse("\n".join(lines)))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path}: functions over {MAX_FUNCTION_LINES} lines: {long}"
