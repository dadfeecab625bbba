"""POST Object: a browser form upload (multipart/form-data on the bucket), authorised by its signed policy.

The request carries no Authorization: the form's `q-signature` signs exactly the decoded `policy`
JSON (auth.verify_policy), and the policy's conditions (bucket, key, content-length-range, fields,
expiration) bound what the form may do. Fields are read up to `file` (later ones are ignored, as
COS does) within FIELDS_LIMIT bytes; the file streams into storage through the object use cases,
so it raises ObjectCreated and starts workflows like a PUT.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage

from ... import auth
from ...config import Bucket
from ...errors import (
    AccessDenied,
    EntityTooLarge,
    EntityTooSmall,
    InvalidAccessKeyId,
    InvalidArgument,
    MalformedPOSTRequest,
    NoSuchBucket,
)
from ...storage import STORED_HEADERS, content_type_for, safe_key
from ..hosts import resolve
from ..keys import OBJECTS, SETTINGS, TARGET
from ..xmlerrors import xml_response

MAX_FILE = 5 * 1024**3  # as a PUT: at most 5 GB
FIELDS_LIMIT = 64 * 1024  # all the fields before `file` together
MAX_FIELDS = 100
READ_CHUNK = 1 << 20
_STORED = {h.lower(): h for h in STORED_HEADERS}
# What aiohttp's multipart reader raises on a body that is not multipart/form-data: no boundary, a part
# header that is no header or too long, the stream ending inside a part.
_MALFORMED = (ValueError, BadHttpMessage)


@dataclass(frozen=True)
class Form:
    """The fields before `file` (names lower-cased) and the file part itself."""

    fields: Mapping[str, str]
    file: BodyPartReader


def is_form_upload(request: web.Request) -> bool:
    """A POST on the bucket itself with a multipart/form-data body and no subresource."""
    return (request.method == "POST" and request.content_type == "multipart/form-data"
            and request.path in ("", "/") and not request.query)


async def handle(request: web.Request) -> web.StreamResponse:
    """Verify the form's policy signature and conditions, then store its file; 204 / 200 / 201."""
    target = resolve(request, request.app[SETTINGS])
    request[TARGET] = target
    if target.bucket is None:
        raise NoSuchBucket(resource=target.host)
    form = await read_form(request)
    fields = form.fields
    policy_text = _verify(request, fields, target.bucket)
    key = safe_key(_required(fields, "key").replace("${filename}", form.file.filename or ""))
    low, high = check_policy(json_policy(policy_text), fields, target.bucket.name, key)
    status = _status(fields)
    meta = await request.app[OBJECTS].post(
        target.bucket.name, key, _file_chunks(form.file, low, high),
        content_type=fields.get("content-type") or content_type_for(key),
        headers={_STORED.get(k, k): v for k, v in fields.items() if k.startswith("x-cos-meta-") or k in _STORED})
    location = f"http://{target.bucket.name}.cos.{target.bucket.region}.myqcloud.com/{quote(key)}"
    headers = {"ETag": f'"{meta.etag}"', "Location": location, "x-cos-hash-crc64ecma": meta.crc64}
    if status == 201:
        resp = xml_response(request, "PostResponse", {"Location": location, "Bucket": target.bucket.name,
                                                      "Key": key, "ETag": f'"{meta.etag}"'}, status=201)
        resp.headers.update(headers)
        return resp
    return web.Response(status=status, headers=headers)


async def read_form(request: web.Request) -> Form:
    """The fields up to `file`, bounded by FIELDS_LIMIT and MAX_FIELDS; InvalidArgument without a file,
    MalformedPOSTRequest for a body that is not multipart/form-data."""
    try:
        reader = await request.multipart()
    except _MALFORMED as exc:
        raise MalformedPOSTRequest(f"{MalformedPOSTRequest.__doc__} ({_short(exc)})") from exc
    fields: dict[str, str] = {}
    budget = FIELDS_LIMIT
    for _ in range(MAX_FIELDS):
        try:
            part = await reader.next()
        except _MALFORMED as exc:
            raise MalformedPOSTRequest(f"{MalformedPOSTRequest.__doc__} ({_short(exc)})") from exc
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise InvalidArgument("A form field must not be a nested multipart body.")
        name = (part.name or "").lower()
        if name == "file":
            return Form(fields, part)
        value = await _field(part, budget)
        budget -= len(value)
        fields[name] = value.decode("utf-8", errors="replace")
    raise InvalidArgument(f"The form has no file field within its first {MAX_FIELDS} fields.")


async def _field(part: BodyPartReader, budget: int) -> bytes:
    value = bytearray()
    while chunk := await _chunk(part, 8192):
        value += chunk
        if len(value) > budget:
            raise EntityTooLarge(f"The form fields before file exceed {FIELDS_LIMIT} bytes.")
    return bytes(value)


async def _chunk(part: BodyPartReader, size: int) -> bytes:
    """The part's next bytes; b"" once its closing boundary was read. A body that ends before it (the
    reader then answers b"" too, without being at the part's end) is MalformedPOSTRequest."""
    try:
        chunk = await part.read_chunk(size)
    except _MALFORMED as exc:
        raise MalformedPOSTRequest(f"{MalformedPOSTRequest.__doc__} ({_short(exc)})") from exc
    if not chunk and not part.at_eof():
        raise MalformedPOSTRequest(f"The form's body ends inside its {part.name or 'unnamed'} part, before "
                                   "the boundary that closes it.")
    return chunk


def _short(exc: Exception) -> str:
    """The first line of what the reader said (aiohttp's HTTP errors carry it as `message`)."""
    said = str(getattr(exc, "message", "") or exc).strip()
    return said.splitlines()[0][:200] if said else type(exc).__name__


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name, "")
    if not value:
        raise InvalidArgument(f"The form field {name} is required.")
    return value


def _verify(request: web.Request, fields: Mapping[str, str], bucket: Bucket) -> bytes:
    """The decoded policy, once its q-signature holds for a key of the bucket's APPID."""
    if "policy" not in fields or "q-signature" not in fields:
        raise AccessDenied("A form upload needs a policy and its q-signature.")
    if fields.get("q-sign-algorithm", "").lower() != "sha1":
        raise InvalidArgument("The form field q-sign-algorithm must be sha1.")
    settings = request.app[SETTINGS]
    account = settings.account(_required(fields, "q-ak"))
    if account is None:
        raise InvalidAccessKeyId()
    try:
        policy = base64.b64decode(fields["policy"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidArgument("The form field policy is not base64.") from exc
    auth.verify_policy(account.secret_key, _required(fields, "q-key-time"), policy, fields["q-signature"],
                       max_skew=settings.server.max_skew_seconds)
    if account.appid != bucket.appid:
        raise AccessDenied("Access Denied.")
    return policy


def json_policy(text: bytes) -> dict[str, Any]:
    """The policy document: `expiration` (ISO 8601, not past) and a `conditions` list."""
    try:
        doc = json.loads(text)
        expiration = datetime.fromisoformat(str(doc["expiration"])).timestamp()
        conditions = doc.get("conditions", [])
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise InvalidArgument("The policy must be JSON with an ISO 8601 expiration.") from exc
    if not isinstance(conditions, list):
        raise InvalidArgument("The policy's conditions must be a list.")
    if expiration < time.time():
        raise AccessDenied("The form's policy has expired.")
    return {"conditions": conditions}


def check_policy(policy: Mapping[str, Any], fields: Mapping[str, str], bucket: str, key: str) -> tuple[int, int]:
    """Raise AccessDenied unless every condition holds; return the content-length-range (0, MAX_FILE default)."""
    values = {**fields, "bucket": bucket, "key": key}
    values.setdefault("q-sign-time", fields.get("q-key-time", ""))
    low, high = 0, MAX_FILE
    for cond in policy["conditions"]:
        if isinstance(cond, dict):
            for name, want in cond.items():
                _holds("eq", str(name).lower(), str(want), values)
        elif isinstance(cond, list) and len(cond) == 3 and str(cond[0]).lower() == "content-length-range":
            try:
                low, high = max(low, int(cond[1])), min(high, int(cond[2]))
            except (TypeError, ValueError) as exc:
                raise InvalidArgument(f"Bad policy condition {cond!r}.") from exc
        elif isinstance(cond, list) and len(cond) == 3 and str(cond[1]).startswith("$"):
            _holds(str(cond[0]).lower(), str(cond[1])[1:].lower(), str(cond[2]), values)
        else:
            raise InvalidArgument(f"Unsupported policy condition {cond!r}.")
    return low, high


def _holds(op: str, name: str, want: str, values: Mapping[str, str]) -> None:
    have = values.get(name, "")
    if op == "eq":
        ok = have == want
    elif op == "starts-with":
        ok = have.startswith(want)
    else:
        raise InvalidArgument(f"Unsupported policy operator {op!r}.")
    if not ok:
        raise AccessDenied(f"The form does not satisfy the policy condition [{op}, ${name}, {want!r}].")


def _status(fields: Mapping[str, str]) -> int:
    if "success_action_redirect" in fields:
        raise InvalidArgument("success_action_redirect is not supported; use success_action_status.")
    raw = fields.get("success_action_status", "204")
    return int(raw) if raw in ("200", "201", "204") else 204


async def _file_chunks(part: BodyPartReader, low: int, high: int) -> AsyncIterator[bytes]:
    """The file's bytes; past `high` or (at the end, before the object commits) under `low` raises."""
    size = 0
    while chunk := await _chunk(part, READ_CHUNK):
        size += len(chunk)
        if size > high:
            raise EntityTooLarge(f"The file exceeds the policy's content-length-range maximum of {high} bytes.")
        yield chunk
    if size < low:
        raise EntityTooSmall(f"The file is below the policy's content-length-range minimum of {low} bytes.")

