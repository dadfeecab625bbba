"""Picture sizes declared by still-image file headers (PNG, GIF, JPEG, WebP, BMP), read without decoding.

FFmpeg's image demuxers (png_pipe, jpeg_pipe, ...) do not parse these headers: while opening the
file it decodes the whole picture to learn its size, so a 177-byte PNG claiming 16000x16000 costs
~800 MB before any stream can be looked at. Reading the few header bytes first lets the pixel
budget (common.check_pixels) refuse such a file by the size it declares.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

Size = tuple[int, int]
_HEAD = 64  # bytes that hold the size in every format here but JPEG
_JPEG_SEGMENTS = 256  # markers walked at most looking for the frame header
_SOF = {*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (not DHT, JPG, DAC)


def declared_size(path: str) -> Size | None:
    """(width, height) that the file's image header declares; None when it is no image this knows."""
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
        if head[:2] == b"\xff\xd8":
            return _jpeg(fh)
    return _png(head) or _gif(head) or _webp(head) or _bmp(head)


def _png(head: bytes) -> Size | None:
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _gif(head: bytes) -> Size | None:
    if head[:6] not in (b"GIF87a", b"GIF89a"):
        return None
    width, height = struct.unpack("<HH", head[6:10])  # the logical screen: every frame's size
    return width, height


def _webp(head: bytes) -> Size | None:
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP" or len(head) < 30:
        return None
    chunk = head[12:16]
    if chunk == b"VP8X":  # extended: 24-bit canvas width - 1 and height - 1
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    if chunk == b"VP8L":  # lossless: 14-bit width - 1 and height - 1 after the signature byte
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":  # lossy: the key frame header's 14-bit sizes
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _bmp(head: bytes) -> Size | None:
    if head[:2] != b"BM" or len(head) < 26 or struct.unpack("<I", head[14:18])[0] < 40:
        return None  # only the common BITMAPINFOHEADER family (not OS/2's 12-byte core header)
    width, height = struct.unpack("<ii", head[18:26])
    return abs(width), abs(height)  # a negative height is a top-down bitmap


def _jpeg(fh: BinaryIO) -> Size | None:
    """Walk the marker segments after SOI to the first frame header (SOFn)."""
    fh.seek(2)
    for _ in range(_JPEG_SEGMENTS):
        marker = fh.read(4)
        if len(marker) < 4 or marker[0] != 0xFF:
            return None
        kind, length = marker[1], struct.unpack(">H", marker[2:4])[0]
        if kind in _SOF:
            frame = fh.read(5)  # precision, height, width
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">HH", frame[1:5])
            return width, height
        if length < 2:
            return None
        fh.seek(length - 2, 1)
    return None
