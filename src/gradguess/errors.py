"""The errors a user can fix: the command line prints their message and exits 2, without a traceback."""
import pickle
import re

# PyTorch's text for a file that `torch.load(..., weights_only=True)` refuses advises loading it with
# weights_only=False or allow-listing its globals: how an untrusted pickle runs code. Never passed on.
_TORCH_ADVICE = re.compile(r"weights_only|safe_globals|Weights only load failed|arbitrary code execution")
RESTART = "delete it to make it again (the run that wrote it restarts from scratch)"


def is_load_failure(exc: BaseException) -> bool:
    """Whether `exc` is torch.load failing on a file's contents (not a missing file or a bad argument)."""
    text = str(exc)
    return (isinstance(exc, (pickle.UnpicklingError, EOFError)) or bool(_TORCH_ADVICE.search(text))
            or "PytorchStreamReader" in text or "zip archive" in text)


def load_failure(exc: BaseException) -> str:
    """What is wrong with a file torch.load could not read, in a few words, without PyTorch's advice."""
    text = str(exc)
    found = re.search(r"GLOBAL ([\w.]+)", text)
    if found:
        return (f"it holds a Python object ({found.group(1)}) where a gradguess file holds only tensors and plain "
                "values: it was written by something else or altered since, and it was not loaded")
    if "PytorchStreamReader" in text or "zip archive" in text or "central directory" in text:
        return "it is truncated or damaged: its zip archive cannot be read"
    if isinstance(exc, EOFError) or "Ran out of input" in text:
        return "it is empty or truncated"
    if isinstance(exc, pickle.UnpicklingError) or _TORCH_ADVICE.search(text):
        return "it is not a PyTorch file, or it is damaged"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


class GradguessError(Exception):
    """Bad input: a missing or corrupt file, a setting that cannot work. The message says what to fix.

    Raised `from` a failed torch.load whose text the message quotes, it says what is wrong with the file in its
    place (`load_failure`), and how to start again where the message does not. This lives here rather than where
    files are read because this module is in no code digest (lineage.NOT_DIGESTED): rewording an error must not
    re-run a finished result.
    """

    def __str__(self) -> str:
        message = super().__str__()
        cause = self.__cause__
        if cause is None or not is_load_failure(cause):
            return message
        plain = load_failure(cause)
        for quoted in (f"{type(cause).__name__}: {cause}", str(cause), repr(cause)):
            if quoted and quoted in message:
                message = message.replace(quoted, plain)
                break
        advice = _TORCH_ADVICE.search(message)
        if advice:  # quoted some other way: keep what precedes PyTorch's text
            message = f"{message[:advice.start()].rstrip(' (:;,.')}: {plain}"
        if "delete" not in message.lower():
            message = f"{message}; {RESTART}"
        return message


class CheckpointError(GradguessError):
    """A checkpoint or weights file is missing, damaged, or from other settings."""


class RunDirError(GradguessError):
    """A run directory this run may not write into: it holds a finished run of another specification."""


class DiskFullError(GradguessError, OSError):
    """A write that found no space left on its device (or over quota): the message names the file."""
