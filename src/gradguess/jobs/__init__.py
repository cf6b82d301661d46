"""The command line's jobs, one module per subcommand: `add_arguments(parser)` (its flags: wiring, in no code
digest) and `run(args)` (what it does, through the library). cli.py is the table of them; a pipeline rule's code
digest is the import closure of the job it runs (lineage.job_digest)."""
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
    "subspace": "subspace",
    "class-images": "class_images",
    "weights": "weights",
    "report gather": "report.gather",
    "report table2": "report.table2",
    "report figure3": "report.figure3",
    "report figure11": "report.figure11",
    "report figure1": "report.figure1",
    "report figure4": "report.figure4",
    "report figure6": "report.figure6",
    "report figure7": "report.figure7",
    "report figure5": "report.figure5",
    "report figure2": "report.figure2",
    "report figure10": "report.figure10",
    "report table1": "report.table1",
    "report figure8": "report.figure8",
    "report figure9": "report.figure9",
    "report comparison": "report.comparison",
    "report summary": "report.summary",
    "report readme": "report.readme",
    "clean": "clean",
}


# a job module serving several commands, each by the module of its name in a package (imported by name, so no import
# statement leads there): module -> that package
BY_NAME: dict[str, str] = {}


def module(command: str) -> str:
    return f"{__name__}.{JOBS[command]}"


def science(command: str) -> tuple[str, ...]:
    """The module a table-driven job runs for `command` (none for a job of its own): its digest names it."""
    package = BY_NAME.get(JOBS[command])
    return (f"{package}.{command.rpartition(' ')[2]}",) if package else ()
