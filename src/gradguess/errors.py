"""The errors a user can fix: the command line prints their message and exits 2, without a traceback."""


class GradguessError(Exception):
    """Bad input: a missing or corrupt file, a setting that cannot work. The message says what to fix."""


class CheckpointError(GradguessError):
    """A checkpoint or weights file is missing, damaged, or from other settings."""
