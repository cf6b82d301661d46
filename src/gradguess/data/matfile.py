"""A user's MATLAB v5 `.mat` file, read without trusting its sizes.

scipy decompresses a compressed variable whole and allocates a cell or struct array by the dimensions its
header declares before reading a byte of it: a few hundred bytes can ask for gigabytes. Here `scan` reads each
variable's header (class, dimensions, name, declared size) without decompressing the rest; the caller checks
them; `element` then decompresses at most the size the variable declares (within a cap) and walks it,
checking that every nested array's dimensions fit in the bytes that hold it. Numeric variables are then read
straight from those bytes (`numeric`); others go to scipy, which by then can allocate only what is there
(`loadmat`).

The format: a 128-byte header, then one element per variable: a tag (type, byte count) and its data, a
miMATRIX (array flags, dimensions, name, contents) or a miCOMPRESSED (a zlib stream of a miMATRIX element).
"""
from __future__ import annotations

import io
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradguess.data.core import DataError
from gradguess.data.untrusted import open_regular
from gradguess.data.limits import MAT_DEPTH, MAT_DIMS, MAT_NAME

MI_INT8, MI_INT32, MI_UINT32, MI_MATRIX, MI_COMPRESSED = 1, 5, 6, 14, 15
MI_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
CELL, STRUCT, CHAR = 1, 2, 4
NUMERIC = {6: "double", 7: "single", 8: "int8", 9: "uint8", 10: "int16", 11: "uint16", 12: "int32", 13: "uint32",
           14: "int64", 15: "uint64"}
CLASSES = {CELL: "cell", STRUCT: "struct", 3: "object", CHAR: "char", 5: "sparse", **NUMERIC}
HEAD = 512  # bytes of a variable's start that hold its header (flags, up to MAT_DIMS sizes, a MAT_NAME name)


@dataclass(frozen=True)
class Variable:
    name: str
    mclass: int
    dims: tuple[int, ...]
    size: int  # bytes of its miMATRIX element after the tag (decompressed)
    start: int  # where its element's tag is in the file
    stored: int  # bytes of the element in the file after its tag (compressed, if `compressed`)
    compressed: bool

    @property
    def kind(self) -> str:
        name = CLASSES.get(self.mclass, f"class {self.mclass}")
        return f"{'an' if name[0] in 'aeiou' else 'a'} {name} array"


class _Reader:
    """Tags and matrix headers in a buffer, each checked against the bytes that hold it."""

    def __init__(self, buf: bytes, order: str, where: str):
        self.buf, self.order, self.where = buf, order, where

    def fail(self, what: str):
        raise DataError(f"{self.where}: {what} (corrupt or hostile .mat file)")

    def tag(self, pos: int, end: int) -> tuple[int, int, int, int]:
        """(type, byte count, where its data starts, where the next element starts)."""
        if pos + 8 > end:
            self.fail("an element runs past its end")
        kind, count = struct.unpack_from(self.order + "II", self.buf, pos)
        if kind >> 16:  # the small format: type and count in 4 bytes, data in the next 4
            kind, count = kind & 0xFFFF, kind >> 16
            if count > 4:
                self.fail("a small element of more than 4 bytes")
            return kind, count, pos + 4, pos + 8
        if pos + 8 + count > end:
            self.fail(f"an element declares {count:,} bytes, more than the {end - pos - 8:,} that hold it")
        return kind, count, pos + 8, min(end, pos + 8 + count + (-count % 8))

    def header(self, pos: int, end: int) -> tuple[int, int, tuple[int, ...], str, int]:
        """A miMATRIX's (class, flags, dimensions, name, where its contents start), from its data at `pos`."""
        kind, count, data, pos = self.tag(pos, end)
        if kind != MI_UINT32 or count != 8:
            self.fail("a matrix without its array flags")
        flags = struct.unpack_from(self.order + "I", self.buf, data)[0]
        kind, count, data, pos = self.tag(pos, end)
        if kind != MI_INT32 or count % 4 or not 0 < count // 4 <= MAT_DIMS:
            self.fail(f"a matrix without 1 to {MAT_DIMS} dimensions")
        dims = struct.unpack_from(f"{self.order}{count // 4}i", self.buf, data)
        if min(dims) < 0:
            self.fail(f"a matrix of negative dimensions {dims}")
        kind, count, data, pos = self.tag(pos, end)
        if kind != MI_INT8 or count > MAT_NAME:
            self.fail(f"a matrix name that is not text of at most {MAT_NAME} bytes")
        name = self.buf[data:data + count].decode("latin1")
        return flags & 0xFF, flags, tuple(dims), name, pos

    def walk(self, pos: int, end: int, depth: int = 0) -> None:
        """Check the miMATRIX data in [pos, end): nested arrays' dimensions fit in their bytes."""
        if pos == end:
            return  # an empty matrix
        if depth > MAT_DEPTH:
            self.fail(f"cells or structs nested more than {MAT_DEPTH} deep")
        mclass, flags, dims, _, pos = self.header(pos, end)
        n = math.prod(dims)
        if mclass in NUMERIC:
            for _ in range(2 if flags & 0x800 else 1):  # real part, then imaginary
                kind, count, _, pos = self.tag(pos, end)
                if kind not in MI_DTYPES or count != n * np.dtype(MI_DTYPES[kind]).itemsize:
                    self.fail(f"a {CLASSES[mclass]} array of dimensions {dims} holding {count:,} bytes")
        elif mclass == CHAR:
            kind, count, _, pos = self.tag(pos, end)
            if n > count:
                self.fail(f"a char array of dimensions {dims} holding {count:,} bytes")
        elif mclass in (CELL, STRUCT):
            self._walk_elements(mclass, n, pos, end, depth)
        else:
            self.fail(f"{CLASSES.get(mclass, f'class {mclass}')} arrays, which no data set file holds")

    def _walk_elements(self, mclass: int, n: int, pos: int, end: int, depth: int) -> None:
        fields = 1
        if mclass == STRUCT:
            kind, count, data, pos = self.tag(pos, end)
            length = struct.unpack_from(self.order + "i", self.buf, data)[0] if count == 4 else 0
            kind, count, _, pos = self.tag(pos, end)
            if count and (not 0 < length <= MAT_NAME or count % length):
                self.fail("a struct whose field names do not parse")
            fields = count // length if count else 0
        # every element takes a tag at least: scipy allocates n x fields of them before reading one
        if n * fields * 8 > end - pos or (fields == 0 and n > 1):
            self.fail(f"{n:,} x {fields} elements declared in {end - pos:,} bytes")
        for _ in range(n * fields):
            kind, count, data, pos = self.tag(pos, end)
            if kind != MI_MATRIX:
                self.fail("a cell or field that is not a matrix")
            self.walk(data, data + count, depth + 1)


def _order(path: Path, head: bytes) -> str:
    if len(head) < 128 or head[126:128] not in (b"IM", b"MI"):
        raise DataError(f"cannot read {path}: not a MATLAB .mat file (no v5 header)")
    order = "<" if head[126:128] == b"IM" else ">"
    if struct.unpack(order + "H", head[124:126])[0] != 0x0100:
        raise DataError(f"cannot read {path}: not a MATLAB v5 (-v7 or older) .mat file; v7.3 files are HDF5")
    return order


def _inflate(stream, left: int, want: int) -> bytearray:
    """At most `want` bytes of the zlib stream in the next `left` bytes of `stream`, decompressed."""
    inflate, out = zlib.decompressobj(), bytearray()
    pending = b""
    while len(out) < want and not inflate.eof:
        if not pending:
            pending = stream.read(min(left, 1 << 20))
            left -= len(pending)
            if not pending:
                break
        out += inflate.decompress(pending, want - len(out))
        pending = inflate.unconsumed_tail
    return out


def scan(path: Path) -> tuple[bytes, str, dict[str, Variable]]:
    """The file's header, byte order and variables (headers only: nothing is decompressed past them)."""
    found = {}
    try:
        with open_regular(path) as f:
            head = f.read(128)
            order = _order(path, head)
            while len(tag := f.read(8)) == 8:  # (a few bytes of padding may end the file)
                start = f.tell() - 8
                kind, stored = struct.unpack(order + "II", tag)
                if kind not in (MI_MATRIX, MI_COMPRESSED):
                    raise DataError(f"{path}: an element of type {kind} at byte {start} where a variable belongs")
                first = _inflate(f, stored, 8 + HEAD) if kind == MI_COMPRESSED else tag + f.read(min(stored, HEAD))
                inner, size = struct.unpack_from(order + "II", first) if len(first) >= 8 else (0, 0)
                if inner != MI_MATRIX:
                    raise DataError(f"{path}: the variable at byte {start} is not a matrix")
                if size:  # (an empty matrix has no header)
                    mclass, _, dims, name, _ = _Reader(first, order, str(path)).header(8, min(len(first), 8 + size))
                    found.setdefault(name, Variable(name, mclass, dims, size, start, stored, kind == MI_COMPRESSED))
                f.seek(start + 8 + stored)
    except (OSError, zlib.error, struct.error) as e:
        raise DataError(f"cannot read {path}: {type(e).__name__}: {e}") from None  # see pickles.unpickle
    return head, order, found


def element(path: Path, order: str, var: Variable, cap: int, limit: str) -> bytes | bytearray:
    """`var`'s miMATRIX element (tag included), decompressed up to the size it declares, walked. `limit`
    says where `cap` comes from."""
    if var.size > cap:
        raise DataError(f"{path}: the variable {var.name} declares {var.size:,} bytes, more than the {cap:,} "
                        f"{limit}: refused before decompressing it")
    try:
        with open_regular(path) as f:
            f.seek(var.start + (8 if var.compressed else 0))
            body = _inflate(f, var.stored, 8 + var.size) if var.compressed else f.read(8 + var.size)
    except (OSError, zlib.error) as e:
        raise DataError(f"cannot read {path}: {type(e).__name__}: {e}") from None
    if len(body) < 8 + var.size:
        raise DataError(f"{path}: the variable {var.name} is truncated ({len(body) - 8:,} of {var.size:,} bytes)")
    _Reader(body, order, f"{path}, variable {var.name}").walk(8, len(body))
    return body


def numeric(path: Path, order: str, var: Variable) -> np.ndarray:
    """A real numeric variable as its class's dtype, dimensions in MATLAB's (column-major) order. The caller
    has checked its dimensions: it may take no more bytes than they do in its class (plus a header)."""
    if var.mclass not in NUMERIC:
        raise DataError(f"{path}: {var.name} is {var.kind}, expected a numeric array")
    cap = math.prod(var.dims) * np.dtype(NUMERIC[var.mclass]).itemsize + HEAD
    body = element(path, order, var, cap, f"its dimensions {var.dims} of {NUMERIC[var.mclass]} take")
    reader = _Reader(body, order, str(path))
    _, flags, dims, _, pos = reader.header(8, len(body))
    if flags & 0x800:
        raise DataError(f"{path}: {var.name} holds complex numbers, expected real ones")
    kind, count, data, _ = reader.tag(pos, len(body))
    values = np.frombuffer(body, np.dtype(MI_DTYPES[kind]).newbyteorder(order), math.prod(dims), data)
    return values.reshape(dims, order="F").astype(NUMERIC[var.mclass], copy=False)


def loadmat(path: Path, names: tuple[str, ...], cap: int, limit: str) -> dict:
    """`names` (those the file has) read by scipy as `scipy.io.loadmat(path, squeeze_me=True)` would, once
    each has been decompressed within `cap` bytes and walked."""
    import scipy.io  # lazily: `import gradguess.data` stays light

    head, order, found = scan(path)
    head = head[:116] + b"\0" * 8 + head[124:]  # no subsystem data: only the elements below are there
    stream = io.BytesIO(head + b"".join(element(path, order, found[n], cap, limit) for n in names if n in found))
    try:
        return scipy.io.loadmat(stream, squeeze_me=True)
    except Exception as e:  # scipy raises ValueError, MatReadError, ...
        raise DataError(f"cannot read {path}: {type(e).__name__}: {e}") from None
