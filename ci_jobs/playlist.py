"""Private HLS playlists (`ci-process=pm3u8`): every URI in an m3u8 rewritten to a pre-signed URL.

Pure text work, no I/O. Each media-segment / sub-playlist URI line (a line not starting with
`#`) and each `URI="..."` attribute of an `#EXT` tag (EXT-X-KEY, EXT-X-MAP, EXT-X-MEDIA...)
gets the q-* query of a pre-signed GET for the object it resolves to (the playlist's folder +
the relative name), signing `host` only, valid from `now` for `expires` seconds. Relative URIs
stay relative (`demo-0.ts?q-sign-algorithm=...`); absolute URIs to another host are left alone.

Design choice (unconfirmed for real CI): a URI naming another `.m3u8` (a variant playlist of a
master playlist) is signed together with `ci-process=pm3u8&expires=<expires>`, so a player
that follows it gets that playlist with its own segments signed too, instead of a raw playlist
whose segments it could not fetch.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit

from .auth import presign, signature

_URI_ATTR = re.compile(r'(URI=")([^"]*)(")')
PLAYLIST_SUFFIX = ".m3u8"


@dataclass(frozen=True)
class Signer:
    """Who signs and for how long: the key pair, the Host the URLs are for, the time window."""

    secret_id: str
    secret_key: str
    host: str
    start: int
    end: int

    @classmethod
    def for_window(cls, secret_id: str, secret_key: str, host: str, expires: int,
                   now: float | None = None) -> Signer:
        """A signer valid from `now` (default: the current time) for `expires` seconds."""
        start = int(time.time() if now is None else now)
        return cls(secret_id, secret_key, host, start, start + expires)

    def query(self, path: str) -> str:
        """The q-* query of a pre-signed GET for the decoded object `path` (`/dir/name.ts`)."""
        if not path.lower().endswith(PLAYLIST_SUFFIX):
            return presign(self.secret_id, self.secret_key, "GET", path, self.host, self.start, self.end)
        params = [("ci-process", "pm3u8"), ("expires", str(self.end - self.start))]
        key_time = f"{self.start};{self.end}"
        sig = signature(self.secret_key, key_time, "GET", path, params, [("host", self.host)])
        kt = quote(key_time, safe="")
        return (f"q-sign-algorithm=sha1&q-ak={self.secret_id}&q-sign-time={kt}&q-key-time={kt}"
                f"&q-header-list=host&q-url-param-list=ci-process%3Bexpires&q-signature={sig}"
                f"&ci-process=pm3u8&expires={self.end - self.start}")


def sign(text: str, key: str, signer: Signer, base: str = "") -> str:
    """Rewrite the playlist `text` stored as object `key` (line endings are kept).

    With `base` (`http://<bucket>.cos.<region>.<suffix>`) relative URIs become absolute URLs on
    that origin: for a playlist served from somewhere else than its own object URL.
    """
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        stripped = body.strip()
        if stripped.startswith("#EXT"):
            body = _URI_ATTR.sub(lambda m: m[1] + _signed(m[2], key, signer, base) + m[3], body)
        elif stripped and not stripped.startswith("#"):
            body = body.replace(stripped, _signed(stripped, key, signer, base), 1)
        out.append(body + ending)
    return "".join(out)


def _signed(uri: str, key: str, signer: Signer, base: str) -> str:
    """`uri` with a pre-signed query appended; unchanged when it points to another host."""
    parts = urlsplit(uri)
    if parts.scheme or parts.netloc:
        if parts.scheme.lower() not in ("http", "https", "") or not _same_host(parts.netloc, signer.host):
            return uri
        path = parts.path or "/"
        prefix = ""
    else:
        path = urljoin("/" + quote(key, safe="/"), parts.path) if parts.path else "/" + quote(key, safe="/")
        prefix = f"{base}{quote(unquote(path), safe='/-_.~')}" if base else ""
    signed = signer.query(unquote(path))
    if prefix:
        uri = prefix + (f"?{parts.query}" if parts.query else "")
        parts = urlsplit(uri)
    joined = f"{uri.split('#', 1)[0]}{'&' if parts.query else '?'}{signed}"
    return joined + (f"#{parts.fragment}" if parts.fragment else "")


def _same_host(netloc: str, host: str) -> bool:
    """True when `netloc` names `host` (ports and user info ignored, case-insensitive)."""
    name = netloc.rsplit("@", 1)[-1].lower()
    return name.split(":", 1)[0] == host.lower().split(":", 1)[0]
