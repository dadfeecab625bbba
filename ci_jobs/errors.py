"""The one exception hierarchy of ci-jobs.

Each error is a class whose docstring is its default message and whose ``code`` is the CI/COS
error code. Errors never know HTTP statuses: the API layer maps classes to statuses with one table.
"""

from __future__ import annotations


class CiJobsError(Exception):
    """Internal error."""

    code = "InternalError"

    def __init__(self, message: str | None = None, *, resource: str = "") -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.resource = resource
        super().__init__(self.message)


# --- request problems -----------------------------------------------------------------------


class InvalidArgument(CiJobsError):
    """A request parameter is invalid."""

    code = "InvalidArgument"


class MalformedPOSTRequest(CiJobsError):
    """The body of your POST request is not well-formed multipart/form-data."""

    code = "MalformedPOSTRequest"


class MalformedXML(CiJobsError):
    """The XML you provided was not well-formed."""

    code = "MalformedXML"


class MissingContent(CiJobsError):
    """The request body is missing."""

    code = "MissingContent"


class EntityTooLarge(CiJobsError):
    """Your proposed upload exceeds the maximum allowed size."""

    code = "EntityTooLarge"


class EntityTooSmall(CiJobsError):
    """Your proposed upload is smaller than the minimum allowed size."""

    code = "EntityTooSmall"


class InvalidPart(CiJobsError):
    """One or more of the specified parts could not be found."""

    code = "InvalidPart"


class InvalidPartOrder(CiJobsError):
    """The list of parts was not in ascending order."""

    code = "InvalidPartOrder"


class BadDigest(CiJobsError):
    """The Content-MD5 you specified did not match what we received."""

    code = "BadDigest"


class InvalidDigest(CiJobsError):
    """The Content-MD5 you specified is not valid."""

    code = "InvalidDigest"


class KeyTooLong(CiJobsError):
    """Your key is too long."""

    code = "KeyTooLong"


class InvalidRange(CiJobsError):
    """The requested range is not satisfiable."""

    code = "InvalidRange"


class InvalidRequest(CiJobsError):
    """The request could not be read as HTTP (a request line or header too long, a bad method)."""

    code = "InvalidRequest"


class MethodNotAllowed(CiJobsError):
    """The specified method is not allowed against this resource."""

    code = "MethodNotAllowed"


class PreconditionFailed(CiJobsError):
    """At least one of the preconditions you specified did not hold."""

    code = "PreconditionFailed"


class NotModified(CiJobsError):
    """Not modified."""

    code = "NotModified"


class InvalidHost(CiJobsError):
    """The Host header does not name a bucket of this server."""

    code = "InvalidHost"


# --- authentication -------------------------------------------------------------------------


class AccessDenied(CiJobsError):
    """Access Denied."""

    code = "AccessDenied"


class InvalidAccessKeyId(CiJobsError):
    """InvalidAccessKeyId"""

    code = "InvalidAccessKeyId"


class SignatureDoesNotMatch(CiJobsError):
    """The Signature you specified is invalid."""

    code = "SignatureDoesNotMatch"


class RequestTimeTooSkewed(CiJobsError):
    """RequestTimeTooSkewed"""

    code = "RequestTimeTooSkewed"


class InvalidAuthorization(CiJobsError):
    """The Authorization header is malformed."""

    code = "InvalidArgument"


# --- missing things -------------------------------------------------------------------------


class NoSuchBucket(CiJobsError):
    """The specified bucket does not exist."""

    code = "NoSuchBucket"


class NoSuchKey(CiJobsError):
    """The specified key does not exist."""

    code = "NoSuchKey"


class NoSuchUpload(CiJobsError):
    """The specified multipart upload does not exist."""

    code = "NoSuchUpload"


class NoSuchQueue(CiJobsError):
    """The specified queue does not exist."""

    code = "NoSuchQueue"


class NoSuchJob(CiJobsError):
    """The specified job does not exist."""

    code = "NoSuchJob"


class NoSuchTemplate(CiJobsError):
    """The specified template does not exist."""

    code = "NoSuchTemplate"


class NoSuchResource(CiJobsError):
    """The specified resource does not exist."""

    code = "NoSuchResource"


# --- server side ----------------------------------------------------------------------------


class StoreError(CiJobsError):
    """The job store failed."""

    code = "InternalError"


class StorageError(CiJobsError):
    """The bucket storage failed."""

    code = "InternalError"


class CallbackError(CiJobsError):
    """The callback could not be delivered."""

    code = "CallbackFailed"


class CallbackPostponed(CiJobsError):
    """The callback is not due yet: try again later without counting an attempt."""

    code = "CallbackPostponed"


class ServiceUnavailable(CiJobsError):
    """Please reduce your request rate."""

    code = "ServiceUnavailable"


# --- job outcomes (data, not HTTP) -----------------------------------------------------------


class JobFailed(CiJobsError):
    """The job failed."""

    code = "InternalError"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
