"""Invisible text watermark in video luma: embed per frame, extract by voting over frames.

The frame is divided into a grid of cells whose edges sit at fixed fractions of its width and height,
so the same cells are found at any resolution (a half-size copy has half-size cells). Each cell
carries six bits, one in each of the smooth patterns sin(ky pi v) sin(kx pi u) (u, v in [0, 1]
across the cell; (ky, kx) in BASES): all vanish at the cell edges, so the mark is a continuous,
low-frequency field that a rescale or an H.264 re-encode keeps. A bit is the coefficient c of the
luma on its pattern (least-squares amplitude), moved by quantisation index modulation to the nearest
point of k*STEP (bit 0) or k*STEP + STEP/2 (bit 1); where clipping to 0-255 moved it, a second
pass corrects it.

The payload (magic byte, length, UTF-8 text) is Reed-Solomon coded (`reedsolo`, GF(256)) with every
byte of the grid it leaves as parity (a short text is corrected the most), whitened by a fixed
pseudo-random sequence and spread over the slots in a fixed random order. The extractor adds soft
decisions cos(2 pi c / STEP) over every sampled frame, decodes the hard bits for each possible
length (and, failing that, again with the least reliable bytes as erasures) and accepts a message
only when the code, the magic and the length all check: unmarked video reports none rather than
garbage. A short message uses the coarse grid (robust to a half-size downscale followed by CRF 28),
a longer one the finer grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from reedsolo import ReedSolomonError, RSCodec

STEP = 8.0  # measured: luma PSNR ~39 dB (Y), ~37 dB (RGB luma after CRF 18); exact at half size + CRF 28 + cut
MAGIC = 0xB7
BASES = ((1, 1), (1, 2), (2, 1), (2, 2), (1, 3), (3, 1))  # (vertical, horizontal) half-periods per cell
MIN_CELL = 12.0  # pixels: a cell narrower than this cannot hold the three half-periods of (1, 3)
_KEY = 0x5EED
PASSES = 2  # at most: the second only where clipping at 0 or 255 moved the amplitudes


class TooSmall(ValueError):
    """The frame has too few pixels for the payload's grid."""


@dataclass(frozen=True)
class Grid:
    """One grid: cols x rows cells of len(BASES) slots, a Reed-Solomon code and where each bit goes."""

    cols: int
    rows: int
    parity: int  # Reed-Solomon parity bytes at least (a shorter message gets the spare bytes as parity too)
    slot_of_bit: np.ndarray = field(repr=False)
    flip: np.ndarray = field(repr=False)

    @property
    def size(self) -> int:
        """Codeword bytes."""
        return self.cols * self.rows * len(BASES) // 8

    @property
    def max_bytes(self) -> int:
        """UTF-8 bytes of text the grid carries."""
        return self.size - self.parity - 2

    def codec(self, length: int) -> RSCodec:
        """The code of a `length`-byte text: every byte the header and text leave is parity."""
        return RSCodec(self.size - 2 - length, nsize=self.size)


def _grid(cols: int, rows: int, parity: int) -> Grid:
    slots = cols * rows * len(BASES)
    rng = np.random.default_rng(_KEY + slots)
    bits = slots // 8 * 8
    return Grid(cols, rows, parity, rng.permutation(slots)[:bits], rng.integers(0, 2, bits).astype(np.uint8))


# (8, 6): 36 bytes, up to 20 of text and 14 parity (an 11-byte text has 23: 11 byte errors corrected);
# (12, 9): 81 bytes, up to 64 of text and 15 parity
GRIDS = (_grid(8, 6, 14), _grid(12, 9, 15))
MAX_BYTES = GRIDS[-1].max_bytes  # UTF-8 bytes of text a frame carries


def grid_for(size: int, width: int, height: int) -> Grid:
    """The coarsest grid carrying `size` bytes of text (TooSmall when its cells would be under MIN_CELL)."""
    for grid in GRIDS:
        if grid.max_bytes >= size:
            if min(width / grid.cols, height / grid.rows) < MIN_CELL:
                raise TooSmall(f"a {width}x{height} picture cannot carry {size} bytes of watermark text")
            return grid
    raise TooSmall(f"{size} bytes of watermark text are more than any grid carries ({MAX_BYTES})")


def codeword(message: str, grid: Grid) -> np.ndarray:
    """The whitened bits of a message on `grid`: RS(magic, length, UTF-8 bytes), parity filling the grid."""
    body = message.encode("utf-8")
    coded = bytes(grid.codec(len(body)).encode(bytes([MAGIC, len(body)]) + body))
    return np.asarray(np.unpackbits(np.frombuffer(coded, np.uint8)) ^ grid.flip)


_basis_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _basis(n: int, parts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """sin(k pi t) of each of n pixels over its cell (3, n) for k = 1..3, each cell's first pixel and
    its pixel count. Plain element-wise numpy (no BLAS: its threads contend on a busy machine)."""
    key = (n, parts)
    if key not in _basis_cache:
        t = (np.arange(n) + 0.5) / n * parts
        cell = np.minimum(t.astype(np.int64), parts - 1)
        weights = np.stack([np.sin(k * np.pi * (t - cell)) for k in (1, 2, 3)])
        starts = np.searchsorted(cell, np.arange(parts))
        if len(_basis_cache) > 32:
            _basis_cache.clear()
        _basis_cache[key] = (weights, starts, np.diff(np.append(starts, n)))
    return _basis_cache[key]


def coefficients(y: np.ndarray, grid: Grid) -> np.ndarray:
    """(len(BASES), rows, cols): the least-squares amplitude of each cell's luma on each pattern."""
    (wy, ys, _), (wx, xs, _) = _basis(y.shape[0], grid.rows), _basis(y.shape[1], grid.cols)
    plane = y.astype(np.float64)
    out = np.empty((len(BASES), grid.rows, grid.cols))
    rows = {}
    for i, (ky, kx) in enumerate(BASES):
        if ky not in rows:
            rows[ky] = np.add.reduceat(plane * wy[ky - 1][:, None], ys, axis=0)
        energy = np.outer(np.add.reduceat(wy[ky - 1] ** 2, ys), np.add.reduceat(wx[kx - 1] ** 2, xs))
        out[i] = np.add.reduceat(rows[ky] * wx[kx - 1], xs, axis=1) / energy
    return out


def _field(shape: tuple[int, int], amplitude: np.ndarray, grid: Grid) -> np.ndarray:
    (wy, _, hy), (wx, _, hx) = _basis(shape[0], grid.rows), _basis(shape[1], grid.cols)
    amplitude = amplitude.astype(np.float32)
    rows: dict[int, np.ndarray] = {}
    for i, (ky, kx) in enumerate(BASES):  # per vertical pattern: the cells' rows, then the full height
        part = np.repeat(amplitude[i], hx, axis=1) * wx[kx - 1]
        rows[ky] = rows[ky] + part if ky in rows else part
    out = np.zeros(shape, np.float32)
    for ky, part in rows.items():
        out += np.repeat(part, hy, axis=0) * wy[ky - 1][:, None]
    return out


def _slots(values: np.ndarray, grid: Grid) -> np.ndarray:
    return np.asarray(values.reshape(-1)[grid.slot_of_bit])


def embed(y: np.ndarray, bits: np.ndarray, grid: Grid) -> np.ndarray:
    """A luma plane (uint8) with the codeword `bits` embedded."""
    flat = np.zeros(grid.cols * grid.rows * len(BASES))
    flat[grid.slot_of_bit] = bits * STEP / 2
    offset = flat.reshape(len(BASES), grid.rows, grid.cols)
    out = y.astype(np.float32)
    c = coefficients(out, grid)
    target = np.round((c - offset) / STEP) * STEP + offset
    for _ in range(PASSES):
        out += _field(y.shape, target - c, grid)
        if out.min() >= 0 and out.max() <= 255:
            break  # rounding moves a cell's amplitude by a few hundredths: only clipping needs another pass
        out = np.clip(np.round(out), 0, 255)
        c = coefficients(out, grid)
    return np.asarray(np.clip(np.round(out), 0, 255).astype(np.uint8))


class Votes:
    """Soft decisions accumulated over frames, one set per grid."""

    def __init__(self) -> None:
        self.sums = [np.zeros(len(grid.flip)) for grid in GRIDS]
        self.frames = 0

    def add(self, y: np.ndarray) -> None:
        """Vote with one luma plane."""
        self.frames += 1
        for grid, total in zip(GRIDS, self.sums, strict=True):
            if min(y.shape[1] / grid.cols, y.shape[0] / grid.rows) < MIN_CELL / 4:
                continue
            soft = np.cos(2 * np.pi * _slots(coefficients(y, grid), grid) / STEP)
            total += np.where(grid.flip == 1, -soft, soft)

    def message(self) -> str | None:
        """The text whose code, magic and length check on some grid; None when no grid has one."""
        for grid, total in zip(GRIDS, self.sums, strict=True):
            if not total.any():
                continue
            found = _decode(grid, total)
            if found is not None:
                return found
        return None

    def bit_errors(self, message: str) -> int:
        """How many voted bits differ from `message`'s codeword on its grid (a measure for tests/bench)."""
        size = len(message.encode("utf-8"))
        grid = next(g for g in GRIDS if g.max_bytes >= size)
        total = self.sums[GRIDS.index(grid)]
        return int(((total < 0).astype(np.uint8) != (codeword(message, grid) ^ grid.flip)).sum())


def _decode(grid: Grid, total: np.ndarray) -> str | None:
    """The text of the voted bits: the length the received header says is tried first, then every other
    (each length has its own code); again with the least reliable bytes as erasures. A text is taken
    only when its code decodes and its magic and length bytes agree."""
    received = bytearray(np.packbits((total < 0).astype(np.uint8)).tobytes())
    unreliable = [int(i) for i in np.argsort(np.abs(total).reshape(-1, 8).min(1))]
    said = received[1] if received[1] <= grid.max_bytes else 0
    lengths = [said, *(n for n in range(grid.max_bytes + 1) if n != said)]
    for erasing in (False, True):  # then half the parity spent on the least reliable bytes as erasures
        for length in lengths:
            parity = grid.size - 2 - length
            erase = unreliable[:parity // 2] if erasing else []
            try:
                data = bytes(grid.codec(length).decode(received, erase_pos=erase or None)[0])
            except ReedSolomonError:
                continue
            if data[0] != MAGIC or data[1] != length:
                continue
            try:
                return data[2:].decode("utf-8")
            except UnicodeDecodeError:
                continue
    return None


class Marker:
    """Embeds one message in every frame a video lane encodes (8-bit 4:2:0 luma; other formats converted)."""

    def __init__(self, message: str, size: tuple[int, int]) -> None:
        self.grid = grid_for(len(message.encode("utf-8")), *size)  # TooSmall when the picture cannot carry it
        self.bits = codeword(message, self.grid)

    def mark(self, frame: Any) -> Any:
        """The frame with the message in its luma (same format, size and timing)."""
        import av  # noqa: PLC0415 - this module's numpy core stays importable without PyAV

        fmt = frame.format.name
        plain = frame if fmt == "yuv420p" else frame.reformat(format="yuv420p")
        data = plain.to_ndarray(format="yuv420p").copy()
        h = plain.height
        data[:h] = embed(data[:h], self.bits, self.grid)
        out = av.VideoFrame.from_ndarray(data, format="yuv420p")
        if fmt != "yuv420p":
            out = out.reformat(format=fmt)
        out.pts, out.time_base = frame.pts, frame.time_base
        return out
