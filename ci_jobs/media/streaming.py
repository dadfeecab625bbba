"""HLS and DASH packaging for Segment and Concat: a playlist or manifest, segment files, AES-128 keys.

FFmpeg's hls and dash muxers write the segments themselves, next to the playlist in the staging
dir, and name them in the playlist by their bare file names. Every such file comes back with
role "segment"; the runner publishes it beside the playlist's object (the playlist key's folder
plus the file name), which is exactly where the playlist's relative URIs point.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import Any

import av
from av.container import OutputContainer

from ..tags.streams import SEGMENT_SECONDS as SEGMENT_SECONDS  # Segment's and Concat's default too
from ..wildcards import expand
from . import OutputFile, Task
from .common import bad_input
from .mediainfo import probe

_KEY_INFO = ".keyinfo"  # hidden files in the staging dir are never published
_PROBE = ".probe.m3u8"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Package:
    """One HLS or DASH output being written into `outdir`."""

    container: OutputContainer
    outdir: str
    main: str  # the playlist / manifest file name
    key: str = ""  # the AES-128 key file name ('' when not encrypted)


def stem(task: Task, pattern: str, ext: str) -> str:
    """The file-name stem shared by a playlist's segments: the name of the output Object `pattern`,
    expanded for `task`, URI-safe.

    Segments are published in the playlist's folder, so they carry its (expanded) name to keep
    two playlists written to one folder apart.
    """
    key = expand(pattern, ext=ext, number=0, job_id=task.job_id, input_key=task.input_key)
    name = posixpath.basename(key)
    base = name.rsplit(".", 1)[0] if "." in name else name
    return _UNSAFE.sub("_", base).strip("._") or "media"


def open_hls(outdir: str, name: str, seconds: float, encrypt: str | None = None) -> Package:
    """Start `<name>.m3u8` with `.ts` segments of about `seconds`, AES-128 encrypted when `encrypt`
    is not None: it is then the key URI the playlist names (HlsEncrypt.UriKey; '' = the key's file name).

    With encryption a random 16-byte key is written to `<name>.key` and every segment is AES-128
    encrypted. `periodic_rekey` makes FFmpeg re-read the key info for each segment, so that each
    one gets its own IV (its media sequence number, the HLS default) instead of segment 0's IV
    being reused for all; the playlist states each IV explicitly either way.
    """
    options = {"hls_time": f"{seconds:g}", "hls_list_size": "0", "hls_playlist_type": "vod",
               "hls_segment_filename": os.path.join(outdir, f"{name}-%05d.ts")}
    key = ""
    if encrypt is not None:
        key = f"{name}.key"
        with open(os.path.join(outdir, key), "wb") as fh:
            fh.write(os.urandom(16))
        uri = encrypt or key
        info = os.path.join(outdir, _KEY_INFO)
        with open(info, "w", encoding="utf-8") as fh:
            fh.write(f"{uri}\n{os.path.join(outdir, key)}\n")
        options.update({"hls_key_info_file": info, "hls_flags": "periodic_rekey"})
    main = f"{name}.m3u8"
    container = av.open(os.path.join(outdir, main), "w", format="hls", options=options)
    return Package(container, outdir, main, key)


def open_dash(outdir: str, name: str, seconds: float) -> Package:
    """Start `<name>.mpd` with fragmented-MP4 segments of about `seconds` per representation.

    The muxer also writes HLS playlists over the same segments: FFmpeg here has no DASH demuxer,
    so MediaInfo is read through them; they are removed before publishing.
    """
    options = {"seg_duration": f"{seconds:g}", "use_template": "1", "use_timeline": "1",
               "init_seg_name": f"{name}-init-$RepresentationID$.m4s",
               "media_seg_name": f"{name}-$RepresentationID$-$Number%05d$.m4s",
               "hls_playlist": "1", "hls_master_name": _PROBE}
    main = f"{name}.mpd"
    container = av.open(os.path.join(outdir, main), "w", format="dash", options=options)
    return Package(container, outdir, main)


def finish(package: Package) -> tuple[tuple[OutputFile, ...], dict[str, Any]]:
    """Close the muxer; return the files (playlist first, then segments/key) and the MediaInfo."""
    try:
        package.container.close()
    except av.InvalidDataError as exc:  # a copied stream's bitstream filter meets damaged data as it drains
        raise bad_input(exc, "packaged") from exc
    info = _describe(package)
    _remove_helpers(package)
    names = sorted(n for n in os.listdir(package.outdir) if n != package.main and not n.startswith("."))
    files = (OutputFile(package.main),) + tuple(OutputFile(n, "segment") for n in names)
    return files, info


def _describe(package: Package) -> dict[str, Any]:
    path = os.path.join(package.outdir, package.main)
    if package.main.endswith(".mpd"):
        return probe(os.path.join(package.outdir, _PROBE))
    if not package.key:
        return probe(path)
    # FFmpeg's HLS demuxer opens no `.key` file by default, and a custom UriKey may point
    # anywhere: describe a copy whose key URI is the local key file.
    with open(path, encoding="utf-8") as fh:
        playlist = re.sub(r'URI="[^"]*"', f'URI="{package.key}"', fh.read())
    copy = os.path.join(package.outdir, _PROBE)
    with open(copy, "w", encoding="utf-8") as fh:
        fh.write(playlist)
    return probe(copy, {"allowed_extensions": "ALL"})


def _remove_helpers(package: Package) -> None:
    helpers = [_KEY_INFO, _PROBE]
    if package.main.endswith(".mpd"):
        helpers += [n for n in os.listdir(package.outdir) if re.fullmatch(r"media_\d+\.m3u8", n)]
    for name in helpers:
        path = os.path.join(package.outdir, name)
        if os.path.exists(path):
            os.remove(path)
