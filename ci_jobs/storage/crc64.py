"""CRC-64/XZ (ECMA-182, reflected, init and xorout all ones): COS's `x-cos-hash-crc64ecma`.

Computed by `anycrc` (a maintained C implementation, zlib licence: about 3.4 GB/s here, where the
hand-written numpy version it replaced managed 0.1-0.4 GB/s). `combine()` joins the CRCs of
multipart parts without reading the parts again.
"""

from __future__ import annotations

import anycrc

_XZ = anycrc.Model("CRC64-XZ")


def crc64(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-64/XZ of `data`, continuing from a previous `crc` (0 for a fresh start)."""
    value: int = _XZ.calc(data, crc)
    return value


def combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC of A + B from CRC(A), CRC(B) and len(B)."""
    value: int = _XZ.combine(crc1, crc2, len2)
    return value


class Crc64:
    """Incremental CRC-64/XZ with a hashlib-like interface."""

    def __init__(self, data: bytes | bytearray | memoryview = b"") -> None:
        self._value = 0
        if data:
            self.update(data)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed more bytes."""
        self._value = crc64(data, self._value)

    @property
    def value(self) -> int:
        """The CRC of everything fed so far."""
        return self._value

    def decimal(self) -> str:
        """The CRC as COS sends it in `x-cos-hash-crc64ecma` (unsigned decimal)."""
        return str(self._value)
