"""COS response bodies: GET Bucket, the multipart results, and their paging rules.

Builders return plain dicts for `xmlio.dumps`; with `encoding-type=url` the key-like fields are
percent-encoded, because the Python SDK always asks for it and unquotes them itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ...errors import InvalidArgument
from ...storage import ListResult, PartInfo, UploadInfo

Encoder = Callable[[str], str]


def encoder(query: Mapping[str, str]) -> Encoder:
    """Identity, or URL-encoding when the request says `encoding-type=url`."""
    if query.get("encoding-type", "") == "url":
        return lambda s: quote(s, safe="/")
    return lambda s: s


def int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter, clamped to [low, high] above; InvalidArgument when not a number."""
    raw = query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidArgument(f"{name} must be an integer, got {raw!r}") from exc
    if value < low:
        raise InvalidArgument(f"{name} must be at least {low}, got {value}")
    return min(value, high)


def iso(ts: float) -> str:
    """Listing times: `2019-05-24T10:56:40.000Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


def owner(appid: str) -> dict[str, str]:
    """The Owner / Initiator container (the SDK ignores it; COS samples use this shape)."""
    return {"ID": f"qcs::cam::uin/{appid}:uin/{appid}", "DisplayName": appid}


def list_bucket(bucket: str, appid: str, query: Mapping[str, str], max_keys: int,
                result: ListResult) -> dict[str, Any]:
    """ListBucketResult for GET Bucket."""
    enc = encoder(query)
    body: dict[str, Any] = {"Name": bucket}
    if query.get("encoding-type"):
        body["EncodingType"] = query["encoding-type"]
    body.update({"Prefix": enc(query.get("prefix", "")), "Marker": enc(query.get("marker", "")),
                 "MaxKeys": max_keys})
    if query.get("delimiter"):
        body["Delimiter"] = query["delimiter"]
    body["IsTruncated"] = result.is_truncated
    if result.is_truncated:
        body["NextMarker"] = enc(result.next_marker)
    body["Contents"] = [{
        "Key": enc(o.key), "LastModified": iso(o.last_modified), "ETag": f'"{o.etag}"', "Size": o.size,
        "Owner": owner(appid), "StorageClass": "STANDARD",
    } for o in result.objects]
    body["CommonPrefixes"] = [{"Prefix": enc(p)} for p in result.common_prefixes]
    return body


@dataclass(frozen=True)
class UploadPage:
    """One page of ListMultipartUploads after markers, delimiter and max-uploads."""

    uploads: list[UploadInfo]
    prefixes: list[str]
    truncated: bool
    next_key: str
    next_upload_id: str


def page_uploads(uploads: Sequence[UploadInfo], query: Mapping[str, str], prefix: str,
                 max_uploads: int) -> UploadPage:
    """Apply key-marker / upload-id-marker / delimiter / max-uploads to uploads of `prefix`.

    Order: by key, and by initiation time within a key (the SDK resumes the last one listed).
    """
    key_marker, id_marker = query.get("key-marker", ""), query.get("upload-id-marker", "")
    delimiter = query.get("delimiter", "")
    ordered = sorted(uploads, key=lambda u: u.key)  # stable: keeps initiation order per key
    if key_marker:
        ids_after = _ids_after(ordered, key_marker, id_marker)
        ordered = [u for u in ordered if u.key > key_marker or u.upload_id in ids_after]
    page: list[UploadInfo] = []
    prefixes: list[str] = []
    last_key = last_id = ""
    for u in ordered:
        cut = u.key.find(delimiter, len(prefix)) if delimiter else -1
        rolled = u.key[:cut + len(delimiter)] if cut >= 0 else ""
        if rolled and (rolled in prefixes or rolled <= key_marker):
            continue
        if len(page) + len(prefixes) >= max_uploads:
            return UploadPage(page, prefixes, True, last_key, last_id)
        if rolled:
            prefixes.append(rolled)
            last_key, last_id = rolled, ""
        else:
            page.append(u)
            last_key, last_id = u.key, u.upload_id
    return UploadPage(page, prefixes, False, "", "")


def _ids_after(ordered: Sequence[UploadInfo], key: str, upload_id: str) -> set[str]:
    same = [u.upload_id for u in ordered if u.key == key]
    if not upload_id or upload_id not in same:
        return set()
    return set(same[same.index(upload_id) + 1:])


def list_uploads(bucket: str, appid: str, query: Mapping[str, str], prefix: str, max_uploads: int,
                 page: UploadPage) -> dict[str, Any]:
    """ListMultipartUploadsResult."""
    enc = encoder(query)
    body: dict[str, Any] = {"Bucket": bucket}
    if query.get("encoding-type"):
        body["Encoding-Type"] = query["encoding-type"]
    body.update({
        "KeyMarker": enc(query.get("key-marker", "")), "UploadIdMarker": query.get("upload-id-marker", ""),
        "NextKeyMarker": enc(page.next_key), "NextUploadIdMarker": page.next_upload_id,
        "MaxUploads": max_uploads, "IsTruncated": page.truncated, "Prefix": enc(prefix),
        "Delimiter": query.get("delimiter", ""),
        "Upload": [{"Key": enc(u.key), "UploadId": u.upload_id, "StorageClass": "STANDARD",
                    "Initiator": owner(appid), "Owner": owner(appid), "Initiated": iso(u.initiated)}
                   for u in page.uploads],
        "CommonPrefixes": [{"Prefix": enc(p)} for p in page.prefixes],
    })
    return body


def list_parts(bucket: str, appid: str, key: str, upload_id: str, query: Mapping[str, str],
               parts: Sequence[PartInfo]) -> dict[str, Any]:
    """ListPartsResult, paged by part-number-marker / max-parts."""
    enc = encoder(query)
    marker = int_param(query, "part-number-marker", 0, 0, 10000)
    max_parts = int_param(query, "max-parts", 1000, 0, 1000)
    after = [p for p in parts if p.part_number > marker]
    page, truncated = after[:max_parts], len(after) > max_parts
    body: dict[str, Any] = {"Bucket": bucket}
    if query.get("encoding-type"):
        body["Encoding-type"] = query["encoding-type"]
    body.update({
        "Key": enc(key), "UploadId": upload_id, "Initiator": owner(appid), "Owner": owner(appid),
        "PartNumberMarker": marker, "NextPartNumberMarker": page[-1].part_number if page else marker,
        "MaxParts": max_parts, "IsTruncated": truncated, "StorageClass": "STANDARD",
        "Part": [{"PartNumber": p.part_number, "LastModified": iso(p.last_modified),
                  "ETag": f'"{p.etag}"', "Size": p.size} for p in page],
    })
    return body
