"""A matrix of vectors in an .npy file, whose rows are read from disk when asked for.

A library keeps about ten sentence vectors a paper (650k rows, 880 MB at 75k papers), and a
query needs the rows of its few hundred candidates. Memory-mapping the file looked right,
but the kernel maps page-cache folios of up to 2 MB at a fault, so a few dozen queries made
the whole file resident. Reading each candidate's run of rows with pread costs about a
millisecond a query and keeps resident only what a query holds.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np


class VectorFile:
    """Read-only (rows, dim) float32 matrix on disk; index it like an array."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd = -1
        self._close_lock = threading.Lock()
        with self.path.open("rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, fortran_order, dtype = read_header(fh)
            self._offset = fh.tell()
        if fortran_order or len(shape) != 2 or dtype != np.float32:
            raise ValueError(f"holds {dtype} of shape {shape}, not float32 rows")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(np.float32)
        self.ndim = 2
        self._row_bytes = self.shape[1] * self.dtype.itemsize
        if os.path.getsize(self.path) < self._offset + self.shape[0] * self._row_bytes:
            raise ValueError("the file is shorter than its header says")
        # Kept open: a newer library generation may delete the file while this one serves.
        self._fd = os.open(self.path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            if step != 1:
                return self[np.arange(start, stop, step)]
            return self._read(start, max(start, stop))
        rows = np.asarray(key, dtype=np.int64).ravel()
        if len(rows) == 0:
            return np.zeros((0, self.shape[1]), dtype=np.float32)
        if rows.min() < 0 or rows.max() >= self.shape[0]:
            raise IndexError("row out of range")
        # One read per run of consecutive rows (a paper's sentences are one run).
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        starts = np.concatenate([[0], breaks])
        ends = np.concatenate([breaks, [len(rows)]])
        return np.concatenate([self._read(int(rows[s]), int(rows[e - 1]) + 1)
                               for s, e in zip(starts, ends, strict=True)])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self._read(0, self.shape[0])
        return whole if dtype is None else whole.astype(dtype)

    def _read(self, start: int, stop: int) -> np.ndarray:
        size = (stop - start) * self._row_bytes
        data = os.pread(self._fd, size, self._offset + start * self._row_bytes)
        if len(data) != size:
            raise OSError(f"{self.path}: short read")
        return np.frombuffer(data, dtype=np.float32).reshape(stop - start, self.shape[1])

    def close(self) -> None:
        with self._close_lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __del__(self) -> None:
        self.close()
