"""CRC-64/XZ (ECMA-182, reflected, init and xorout all ones): COS's `x-cos-hash-crc64ecma`.

The CRC is linear over GF(2), so a buffer is cut into 256-byte blocks whose CRCs (from a zero
register) are found all at once with numpy: every byte position has its own 256-entry table, one
gather looks every byte up and an XOR-reduction per block sums them. The block CRCs of a slice are
then merged with precomputed "shift the register over L zero bytes" tables. The same shift
operator lets `combine()` join the CRCs of multipart parts without reading the parts again.
Pure numpy, about 400 MB/s on one core (crcmod's C extension: about 350 MB/s on the same machine);
buffers below `SMALL` bytes take a plain table loop.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from functools import cache

import numpy as np

POLY = 0xC96C5795D7870F42  # ECMA-182 polynomial 0x42F0E1EBA9EA3693, bit-reflected
MASK = (1 << 64) - 1
BLOCK = 256  # bytes per vectorised block: offsets up to 256*256 fit uint16 indices
SMALL = 512  # below this a plain table loop is faster than numpy's per-call cost
GRID = 32  # a slice is GRID x GRID blocks, merged row by row with two table gathers
SLICE = GRID * GRID * BLOCK  # 256 KiB; per-thread scratch arrays are ~10x that


def _byte_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ POLY if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = _byte_table()

# --- GF(2) operators: a 64x64 bit matrix is a list of 64 column ints -------------------------


def _times(mat: Sequence[int], vec: int) -> int:
    out = 0
    i = 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def _square(mat: Sequence[int]) -> tuple[int, ...]:
    return tuple(_times(mat, col) for col in mat)


@cache
def _pow2_operator(k: int) -> tuple[int, ...]:
    """The operator that feeds 2**k zero bytes through the register."""
    if k == 0:
        return tuple(TABLE[(1 << j) & 0xFF] ^ ((1 << j) >> 8) for j in range(64))
    return _square(_pow2_operator(k - 1))


def shift(crc_register: int, nbytes: int) -> int:
    """Return the register after `nbytes` zero bytes (no init/xorout applied)."""
    k = 0
    while nbytes and crc_register:
        if nbytes & 1:
            crc_register = _times(_pow2_operator(k), crc_register)
        nbytes >>= 1
        k += 1
    return crc_register


def combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-64/XZ of A+B from crc(A), crc(B) and len(B) (init and xorout cancel out)."""
    return shift(crc1, len2) ^ crc2


# --- vectorised block CRCs --------------------------------------------------------------------


@cache
def _position_tables() -> np.ndarray:
    """Flat (BLOCK*256,) table: entry p*256+b = register of byte b at position p of a block."""
    rows = np.empty((BLOCK, 256), np.uint64)
    cur = list(TABLE)
    rows[BLOCK - 1] = cur
    for p in range(BLOCK - 2, -1, -1):
        cur = [TABLE[c & 0xFF] ^ (c >> 8) for c in cur]
        rows[p] = cur
    return rows.reshape(-1)


_LITTLE_ENDIAN = sys.byteorder == "little"
_POS_OFFSETS = (np.arange(BLOCK, dtype=np.uint16) * 256)[None, :]


@cache
def _fold_tables(count: int, step: int) -> np.ndarray:
    """Flat (count*8*256,) table shifting register i of `count` over (count-1-i)*step bytes."""
    out = np.zeros((count, 8, 256), np.uint64)
    for i in range(count):
        columns = [shift(1 << j, (count - 1 - i) * step) for j in range(64)]
        for k in range(8):
            row = [0] * 256
            for b in range(1, 256):
                low = b & -b
                row[b] = row[b ^ low] ^ columns[8 * k + low.bit_length() - 1]
            out[i, k] = row
    return out.reshape(-1)


def _fold(regs: np.ndarray, step: int) -> np.ndarray:
    """Per row of `regs` (rows, count): the register of its blocks laid end to end."""
    rows, count = regs.shape
    idx = regs.view(np.uint8).reshape(rows, count * 8) + np.arange(count * 8, dtype=np.uint32) * 256
    gathered = _fold_tables(count, step).take(idx, mode="clip")
    out: np.ndarray = np.bitwise_xor.reduce(gathered, axis=1)
    return out


class _Scratch(threading.local):
    """Per-thread work arrays: fresh multi-MiB temporaries would cost page faults every call."""

    def __init__(self) -> None:
        self.idx = np.empty((GRID * GRID, BLOCK), np.uint16)
        self.gathered = np.empty((GRID * GRID, BLOCK), np.uint64)
        self.grid = np.zeros(GRID * GRID, np.uint64)


_SCRATCH = _Scratch()


def _raw_blocks(data: np.ndarray) -> int:
    """Register (from zero) after at most SLICE bytes whose length is a multiple of BLOCK."""
    nb = data.size // BLOCK
    s = _SCRATCH
    idx, gathered = s.idx[:nb], s.gathered[:nb]
    np.add(data.reshape(nb, BLOCK), _POS_OFFSETS, out=idx)
    _position_tables().take(idx, mode="clip", out=gathered)
    # Leading zero blocks leave a zero register unchanged, so the grid is padded in front.
    grid = s.grid
    grid[: GRID * GRID - nb] = 0
    np.bitwise_xor.reduce(gathered, axis=1, out=grid[GRID * GRID - nb:])
    rows = _fold(grid.reshape(GRID, GRID), BLOCK)
    return int(_fold(rows.reshape(1, GRID), GRID * BLOCK)[0])


def _loop(register: int, data: bytes | memoryview) -> int:
    table = TABLE
    for b in data:
        register = table[(register ^ b) & 0xFF] ^ (register >> 8)
    return register


def update_register(register: int, data: bytes | bytearray | memoryview) -> int:
    """Feed `data` through a raw register (no init/xorout)."""
    view = memoryview(data).cast("B")
    if len(view) < SMALL:
        return _loop(register, view)
    if not _LITTLE_ENDIAN:  # pragma: no cover - the register views assume little endian
        return _loop(register, view)
    head = len(view) % BLOCK
    register = _loop(register, view[:head])
    for start in range(head, len(view), SLICE):
        body = np.frombuffer(view[start:start + SLICE], np.uint8)
        register = shift(register, body.size) ^ _raw_blocks(body)
    return register


def crc64(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-64/XZ of `data`, continuing from a previous `crc` (0 for a fresh start)."""
    return update_register(crc ^ MASK, data) ^ MASK


class Crc64:
    """Incremental CRC-64/XZ with a hashlib-like interface."""

    def __init__(self, data: bytes | bytearray | memoryview = b"") -> None:
        self._register = MASK
        if data:
            self.update(data)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed more bytes."""
        self._register = update_register(self._register, data)

    @property
    def value(self) -> int:
        """The CRC of everything fed so far."""
        return self._register ^ MASK

    def decimal(self) -> str:
        """The CRC as COS sends it in `x-cos-hash-crc64ecma` (unsigned decimal)."""
        return str(self.value)
