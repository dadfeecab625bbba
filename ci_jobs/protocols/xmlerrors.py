"""CI and COS response shapes: the error table, XML bodies and the standard headers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import errors, xmlio
from .keys import REQUEST_ID

# One table: error class -> HTTP status. Looked up along the class MRO, first hit wins.
STATUS: dict[type[errors.CiJobsError], int] = {
    errors.InvalidArgument: 400,
    errors.InvalidRequest: 400,
    errors.MalformedXML: 400,
    errors.MalformedPOSTRequest: 400,
    errors.MissingContent: 400,
    errors.EntityTooLarge: 400,
    errors.EntityTooSmall: 400,
    errors.InvalidPart: 400,
    errors.InvalidPartOrder: 400,
    errors.BadDigest: 400,
    errors.InvalidDigest: 400,
    errors.KeyTooLong: 400,
    errors.InvalidHost: 400,
    errors.InvalidAuthorization: 400,
    errors.AccessDenied: 403,
    errors.InvalidAccessKeyId: 403,
    errors.SignatureDoesNotMatch: 403,
    errors.RequestTimeTooSkewed: 403,
    errors.NoSuchBucket: 404,
    errors.NoSuchKey: 404,
    errors.NoSuchUpload: 404,
    errors.NoSuchQueue: 404,
    errors.NoSuchJob: 404,
    errors.NoSuchTemplate: 404,
    errors.NoSuchResource: 404,
    errors.MethodNotAllowed: 405,
    errors.PreconditionFailed: 412,
    errors.NotModified: 304,
    errors.InvalidRange: 416,
    errors.ServiceUnavailable: 503,
    errors.CiJobsError: 500,
}

XML = "application/xml"


def status_of(exc: errors.CiJobsError) -> int:
    """The HTTP status for an error, by walking its class MRO through the table."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def headers(service: str, request_id: str) -> dict[str, str]:
    """The standard response headers of a CI or COS response."""
    if service == "ci":
        return {"Server": "tencent-ci", "x-ci-request-id": request_id}
    return {"Server": "tencent-cos", "x-cos-request-id": request_id}


def error_response(exc: errors.CiJobsError, *, service: str, request_id: str, resource: str,
                   method: str) -> web.Response:
    """Render an error as the `<Error>` XML every SDK can read (Code, Message, Resource, RequestId)."""
    status = status_of(exc)
    hdrs = headers(service, request_id)
    hdrs["x-cos-trace-id"] = request_id
    if method == "HEAD" or status == 304:
        return web.Response(status=status, headers=hdrs)
    body = xmlio.dumps("Error", {
        "Code": exc.code,
        "Message": exc.message or exc.code,
        "Resource": exc.resource or resource or "-",
        "RequestId": request_id,
        "TraceId": request_id,
    })
    return web.Response(status=status, body=body, content_type=XML, headers=hdrs)


def xml_response(request: web.Request, root: str, value: dict[str, Any], status: int = 200) -> web.Response:
    """A 200 XML body; CI responses get the request id echoed as `RequestId` first."""
    rid = request[REQUEST_ID]
    if root == "Response":
        value = {"RequestId": rid, **value}
    return web.Response(status=status, body=xmlio.dumps(root, value), content_type=XML)
