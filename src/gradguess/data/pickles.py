"""CIFAR's python batches are pickles: a restricted unpickler that builds plain data only, within bounds.

A plain unpickler calls whatever callable a pickle names: a data directory from elsewhere could run code here.
`SafeUnpickler` resolves only the few globals those files name (numpy's array and scalar reconstructors, dtype,
two builtins of Python 3's protocol 2) and refuses every other before anything is called. It also checks what
numpy is asked to build: an array starts empty and is filled from pickled bytes of exactly its size; a dtype is a
fresh plain number type. (Unchecked, numpy builds an object array of any length from a short list and crashes,
and a pickle may rewrite numpy's shared uint8 type.)

It is Python's pure-Python unpickler: every operation is counted (each builds at most one object, so the count
bounds what unpickling allocates), and its memo is a dict (the C unpickler sizes an array by the largest memo
index a pickle names: 9 bytes can ask for gigabytes). The file is read whole first, within a size cap, so a
length a pickle declares is never allocated ahead of bytes that exist.
"""
from __future__ import annotations

import codecs
import io
import math
import os
import pickle
from pathlib import Path

import numpy as np
from numpy._core.multiarray import _reconstruct, scalar
from numpy._core.numeric import _frombuffer

from gradguess.data.core import DataError
from gradguess.data.untrusted import open_regular
from gradguess.data.limits import PICKLE_BYTES_PER_ROW, PICKLE_OPS_PER_ROW, PICKLE_SLACK_BYTES, PICKLE_SLACK_OPS


def _plain(dtype) -> np.dtype:
    if not (isinstance(dtype, np.dtype) and dtype.kind in "biuf" and not dtype.hasobject
            and dtype.fields is None and dtype.subdtype is None):
        raise pickle.UnpicklingError(f"dtype {dtype} is not a plain number type (CIFAR batches hold uint8 "
                                     "arrays; an object array would hold whatever the pickle builds)")
    return dtype


def _dtype(obj, align=False, copy=False) -> np.dtype:
    # Always a fresh copy (numpy's own pickles ask for one): the pickle's BUILD then sets this one's state,
    # never that of numpy's shared type.
    return _plain(np.dtype(obj, align=bool(align), copy=True))


def _empty_array(subtype, shape, dtype) -> np.ndarray:
    # numpy pickles an array as an empty one (shape (0,)) that BUILD fills with its bytes; any other shape
    # would be allocated here, before a byte of it is read.
    if subtype is not np.ndarray or type(shape) is not tuple or shape != (0,):
        raise pickle.UnpicklingError("an array reconstructed with a shape other than (0,)")
    return _reconstruct(np.ndarray, (0,), dtype)


def _scalar(dtype, obj=None):
    return scalar(_plain(dtype), obj)


def _from_buffer(buf, dtype, shape, order):
    return _frombuffer(buf, _plain(dtype), shape, order)


def _latin1(text: str, encoding: str = "latin1") -> bytes:
    # Python 3 pickles bytes at protocols 0-2 as _codecs.encode(text, "latin1"); other codecs are not needed.
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not admitted")
    return codecs.encode(text, "latin1")


def _empty_bytes() -> bytes:
    return b""  # Python 3 pickles b"" at protocols 0-2 as bytes()


# What the CIFAR files name, written by Python 2 (numpy.core.*) or re-pickled by Python 3
# with numpy 2 (numpy._core.*, _frombuffer at protocol 5; _codecs/bytes at protocols 0-2).
_ADMITTED = {
    ("numpy.core.multiarray", "_reconstruct"): _empty_array,
    ("numpy._core.multiarray", "_reconstruct"): _empty_array,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy.core.numeric", "_frombuffer"): _from_buffer,
    ("numpy._core.numeric", "_frombuffer"): _from_buffer,
    ("numpy", "ndarray"): np.ndarray,  # only ever an argument of _reconstruct: calling it is refused
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}
_BYTE_ORDERS = ("<", ">", "|", "=", b"<", b">", b"|", b"=")


def _check_dtype_state(state) -> None:
    # What numpy writes for a plain number type: (3, byte order, None, None, None, -1, -1, 0).
    if not (type(state) is tuple and len(state) in (8, 9) and state[0] in (3, 4) and state[1] in _BYTE_ORDERS
            and state[2:5] == (None, None, None) and state[5:8] == (-1, -1, 0) and state[8:] in ((), (None,))):
        raise pickle.UnpicklingError("a dtype state other than a plain number type's")


def _check_array_state(state) -> None:
    # (version, shape, dtype, Fortran order, the bytes): a plain dtype and exactly shape x itemsize bytes.
    if type(state) is not tuple or len(state) not in (4, 5):
        raise pickle.UnpicklingError("an array state that is not numpy's")
    _, shape, dtype, _, raw = state if len(state) == 5 else (1, *state)
    if type(shape) is not tuple or not all(type(d) is int and d >= 0 for d in shape):
        raise pickle.UnpicklingError(f"an array of shape {str(shape)[:60]}")
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != math.prod(shape) * _plain(dtype).itemsize:
        raise pickle.UnpicklingError(f"an array of shape {shape} whose pickled bytes do not match its size")


class SafeUnpickler(pickle._Unpickler):
    """An unpickler that admits numpy arrays, dicts, lists, bytes, strings and numbers only, and at most
    `most_ops` pickle operations."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, path: Path, most_ops: int):
        super().__init__(file, encoding="bytes")
        self.path, self.most_ops, self.ops = path, most_ops, 0

    def find_class(self, module: str, name: str):
        # Never import: the table holds the objects themselves, so a refused name is never even looked up.
        try:
            return _ADMITTED[(module, name)]
        except KeyError:
            raise DataError(
                f"refused to unpickle {self.path}: it names the global {module}.{name}, and CIFAR batches "
                "hold only numpy arrays, lists, dicts, bytes, strings and numbers (a file that names other "
                "callables may try to run code); use the official CIFAR files or a .npz") from None

    def persistent_load(self, pid):
        raise DataError(f"refused to unpickle {self.path}: it holds a persistent id, which CIFAR batches never do")

    def refuse(self, what: str):
        raise DataError(f"refused to unpickle {self.path}: it {what}, which CIFAR batches never do")


def _counted(load):
    def op(self: SafeUnpickler) -> None:
        self.ops += 1
        if self.ops > self.most_ops:
            raise DataError(f"refused to unpickle {self.path}: it takes more than {self.most_ops:,} pickle "
                            "operations, more than a CIFAR file of this name needs (limits.PICKLE_OPS_PER_ROW)")
        load(self)
    return op


def _load_reduce(self: SafeUnpickler) -> None:
    if self.stack[-2] is np.ndarray:
        self.refuse("calls numpy.ndarray directly (allocating whatever shape it is given)")
    pickle._Unpickler.load_reduce(self)


def _load_build(self: SafeUnpickler) -> None:
    state, inst = self.stack[-1], self.stack[-2]
    if type(inst) is np.ndarray:
        _check_array_state(state)
    elif isinstance(inst, np.dtype):
        _check_dtype_state(state)
    else:
        self.refuse(f"sets the state of a {type(inst).__name__}")
    pickle._Unpickler.load_build(self)


def _instantiates(self: SafeUnpickler) -> None:
    self.refuse("instantiates a class (NEWOBJ, INST or OBJ)")


for _code, _load in pickle._Unpickler.dispatch.items():
    SafeUnpickler.dispatch[_code] = _counted(_load)
for _op, _load in ((pickle.REDUCE, _load_reduce), (pickle.BUILD, _load_build), (pickle.NEWOBJ, _instantiates),
                   (pickle.NEWOBJ_EX, _instantiates), (pickle.INST, _instantiates), (pickle.OBJ, _instantiates)):
    SafeUnpickler.dispatch[_op[0]] = _counted(_load)


def _read(path: Path, rows: int) -> bytes:
    most = rows * PICKLE_BYTES_PER_ROW + PICKLE_SLACK_BYTES
    with open_regular(path) as f:
        # f.read() takes what is there; f.read(most + 1) would allocate all of it first
        blob = f.read() if os.fstat(f.fileno()).st_size <= most else None
    if blob is None or len(blob) > most:
        raise DataError(f"{path} is larger than the {most:,} bytes a CIFAR file of {rows:,} rows may take "
                        "(limits.PICKLE_BYTES_PER_ROW): refused before unpickling it")
    return blob


def unpickle(path: Path, rows: int) -> dict:
    """The dict a CIFAR batch of at most `rows` rows holds, with str keys; a DataError names a bad file."""
    try:
        blob = _read(path, rows)
        obj = SafeUnpickler(io.BytesIO(blob), path, rows * PICKLE_OPS_PER_ROW + PICKLE_SLACK_OPS).load()
    except DataError:
        raise
    except Exception as e:  # unpickling can fail in many ways (RecursionError included); all mean a bad file
        # Not chained (here and wherever a user's source file fails): the message already quotes the
        # cause, and GradguessError reads a chained UnpicklingError or EOFError as a damaged torch file.
        raise DataError(f"cannot unpickle {path}: {type(e).__name__}: {e}") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path} holds a {type(obj).__name__}, expected a pickled dict")
    # The original files were pickled by Python 2 and give bytes keys; files
    # re-pickled by Python 3 give str keys. Accept both.
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}
