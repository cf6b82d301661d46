"""A user's `.npz` (a zip of `.npy` arrays), read without trusting its sizes.

`np.load` allocates whatever shape a member's header declares and a zip member decompresses to whatever its
stream holds: a 1 MB file can ask for gigabytes. Here each member's shape and dtype come from its `.npy` header
alone (nothing else is decompressed), must agree with the uncompressed size the zip declares, and must be
plain numbers (an object array would be a pickle). The caller checks the shapes against what it expects;
`read` then decompresses exactly the bytes the header declares and refuses a member that holds more.
"""
from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradguess.data.core import DataError
from gradguess.data.untrusted import open_regular
from gradguess.data.limits import NPZ_MEMBERS

CHUNK = 16 << 20  # bytes decompressed at a time


@dataclass(frozen=True)
class Member:
    """One array of the archive, as its header declares it."""

    name: str  # without `.npy`, as np.load names it
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool
    header: int  # bytes of the .npy header before the data
    info: zipfile.ZipInfo

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


class _Counted:
    """A stream that counts what numpy's header readers take from it (they do not say)."""

    def __init__(self, stream):
        self.stream, self.count = stream, 0

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        self.count += len(data)
        return data


class Npz:
    """The archive at `path`: `members` from the headers alone, `read(name)` bounded by them. Errors are
    `error` (a DataError for data sets, a CheckpointError for weights) and name the file as `label` does."""

    def __init__(self, path: str | Path, error: type[Exception] = DataError, label: str = ""):
        self.path, self.error = Path(path), error
        self.label = label or str(self.path)
        self.file = open_regular(self.path, error)
        try:
            self.zip = zipfile.ZipFile(self.file)
            infos = self.zip.infolist()
            if len(infos) > NPZ_MEMBERS:
                raise error(f"{self.label} holds {len(infos):,} members, more than the {NPZ_MEMBERS:,} a .npz "
                            "may hold here (limits.NPZ_MEMBERS)")
            self.members = {m.name: m for m in map(self._member, infos)}
        except Exception as e:
            self.close()
            if isinstance(e, error):
                raise
            # not chained: see pickles.unpickle
            raise error(f"cannot read {self.label}: {type(e).__name__}: {e}") from None

    def _member(self, info: zipfile.ZipInfo) -> Member:
        where = f"{self.label}, member {info.filename}"
        if not info.filename.endswith(".npy"):
            raise self.error(f"{where}: not a .npy array (a .npz holds only those)")
        with self.zip.open(info) as stream:
            counted = _Counted(stream)
            version = np.lib.format.read_magic(counted)
            readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in readers:
                raise self.error(f"{where}: .npy format version {version}, expected 1.0 or 2.0")
            shape, fortran, dtype = readers[version](counted)
        if any(d < 0 for d in shape):
            raise self.error(f"{where}: its header declares the shape {shape}, with a negative size")
        if dtype.hasobject or dtype.kind not in "biuf" or dtype.subdtype is not None:
            raise self.error(f"{where}: dtype {dtype}, not plain numbers (an object array would be a pickle)")
        member = Member(info.filename[:-4], tuple(shape), dtype, bool(fortran), counted.count, info)
        if info.file_size != member.header + member.nbytes:
            raise self.error(f"{where}: the zip declares {info.file_size:,} bytes uncompressed, but its header's "
                             f"shape {member.shape} of {dtype} takes {member.header + member.nbytes:,}")
        return member

    def read(self, name: str) -> np.ndarray:
        """The member `name`, decompressing exactly the bytes its (already checked) header declares."""
        member = self.members[name]
        where = f"{self.label}, member {member.info.filename}"
        out = np.empty(math.prod(member.shape), member.dtype)
        view = memoryview(out).cast("B")
        try:
            with self.zip.open(member.info) as stream:
                stream.read(member.header)
                done = 0
                while done < member.nbytes:
                    chunk = stream.read(min(CHUNK, member.nbytes - done))
                    if not chunk:
                        raise self.error(f"{where} is truncated: {done:,} of {member.nbytes:,} bytes")
                    view[done:done + len(chunk)] = chunk
                    done += len(chunk)
                # To its end (zipfile stops at the size the zip declares, checked above), so that zipfile checks
                # the CRC: a stream that goes on fails it.
                if stream.read(1):
                    raise self.error(f"{where} holds more than the {member.nbytes:,} bytes its header declares")
        except Exception as e:
            if isinstance(e, self.error):
                raise
            raise self.error(f"cannot read {where}: {type(e).__name__}: {e}") from None
        return out.reshape(member.shape, order="F" if member.fortran else "C")

    def close(self) -> None:
        if getattr(self, "zip", None) is not None:
            self.zip.close()
        self.file.close()

    def __enter__(self) -> Npz:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
