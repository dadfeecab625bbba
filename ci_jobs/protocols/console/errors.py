"""The console's wire errors: JSON `{"error": {"code", "message"}}` and an HTTP status, one table by MRO."""

from __future__ import annotations

from aiohttp import web

from ... import errors


class NotSignedIn(errors.CiJobsError):
    """Sign in first: this console session has no account."""

    code = "NotSignedIn"


class CsrfRefused(errors.CiJobsError):
    """The request's CSRF token is missing or wrong: state changes need the X-CSRF-Token of this session."""

    code = "CsrfRefused"


class BadCredentials(errors.CiJobsError):
    """The SecretId or SecretKey is wrong."""

    code = "BadCredentials"


STATUS: dict[type[errors.CiJobsError], int] = {
    NotSignedIn: 401, BadCredentials: 401, CsrfRefused: 403, errors.AccessDenied: 403,
    errors.NoSuchBucket: 404, errors.NoSuchKey: 404, errors.NoSuchResource: 404, errors.NoSuchQueue: 404,
    errors.NoSuchJob: 404, errors.NoSuchTemplate: 404, errors.MethodNotAllowed: 405,
    errors.InvalidRange: 416, errors.ServiceUnavailable: 503, errors.InvalidArgument: 400,
    errors.InvalidRequest: 400, errors.MalformedXML: 400, errors.KeyTooLong: 400, errors.EntityTooLarge: 400,
}


def status_of(exc: errors.CiJobsError) -> int:
    """The HTTP status of an error: the first class of its MRO in STATUS (500 for none)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(exc: errors.CiJobsError) -> web.Response:
    """The JSON error answer."""
    return web.json_response({"error": {"code": exc.code, "message": exc.message}}, status=status_of(exc))
