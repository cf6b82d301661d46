"""The command line's jobs: a module per subcommand, `add_arguments(parser)` (its flags: wiring, in no code
digest) and `run(args)` (what it does, through the library); or one module for several alike subcommands, its
`FLAGS` table (wiring too) and `job(name)` making each one's. cli.py is the table of them; a pipeline rule's code
digest is the import closure of the job it runs, and of what it imports by name (lineage.job_digest)."""
from __future__ import annotations

# subcommand -> module under gradguess.jobs
JOBS = {
    "plan": "plan",
    "cost": "cost",
    "train": "train",
    "data prepare": "data_prepare",
    "cosine": "cosine",
    "averaging": "averaging",
    "jacobian": "jacobian",
    "subspace": "snapshots",
    "class-images": "snapshots",
    "weights": "weights",
    "report gather": "report.gather",
    **{f"report {name}": "report.artifact" for name in ("table2", "figure3", "figure11", "figure1", "figure4",
                                                        "figure6", "figure7", "figure5", "figure2", "figure10",
                                                        "table1", "figure8", "figure9")},
    "report comparison": "report.comparison",
    "report summary": "report.summary",
    "report readme": "report.readme",
    "clean": "clean",
}
# a job module serving several commands, each by the module of its name in a package (imported by name, so no
# import statement leads there): module -> that package
BY_NAME = {"report.artifact": "gradguess.report"}


def module(command: str) -> str:
    return f"{__name__}.{JOBS[command]}"


def science(command: str) -> tuple[str, ...]:
    """The module a table-driven job runs for `command` (none for a job of its own): its digest names it."""
    package = BY_NAME.get(JOBS[command])
    return (f"{package}.{command.rpartition(' ')[2]}",) if package else ()


def load(command: str):
    """The job of `command`: its module (HELP, add_arguments, run), or the job a module serving several commands
    makes for this one (its `job(name)`)."""
    import importlib

    job = importlib.import_module(module(command))
    return job.job(command.rpartition(" ")[2]) if hasattr(job, "job") else job
