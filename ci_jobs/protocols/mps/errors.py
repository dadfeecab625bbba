"""MPS's wire errors: one class per code family, and the table that maps every ci-jobs error to one.

The codes are Tencent Cloud API 3.0's common codes and MPS's own (reference §3); a code with a
suffix (`InvalidParameterValue.Definition`, `ResourceNotFound.TaskNotFound`) is the family class
with `sub`. The table is walked by the exception's MRO, so a subclass inherits its base's code.
"""

from __future__ import annotations

from ... import errors


class MpsError(errors.CiJobsError):
    """An internal error occurred."""

    code = "InternalError"

    def __init__(self, message: str | None = None, *, sub: str = "") -> None:
        super().__init__(message)
        if sub:
            self.code = f"{type(self).code}.{sub}"


class SignatureFailure(MpsError):
    """The provided credentials could not be validated: the signature does not match."""

    code = "AuthFailure.SignatureFailure"


class SignatureExpire(MpsError):
    """The signature has expired: X-TC-Timestamp is too far from the server's time."""

    code = "AuthFailure.SignatureExpire"


class SecretIdNotFound(MpsError):
    """The SecretId does not exist."""

    code = "AuthFailure.SecretIdNotFound"


class InvalidAuthorization(MpsError):
    """The Authorization header is malformed."""

    code = "AuthFailure.InvalidAuthorization"


class TokenFailure(MpsError):
    """Temporary credentials (X-TC-Token) are not supported by ci-jobs."""

    code = "AuthFailure.TokenFailure"


class InvalidAction(MpsError):
    """The action does not exist."""

    code = "InvalidAction"


class NoSuchVersion(MpsError):
    """The API version does not exist."""

    code = "NoSuchVersion"


class InvalidParameter(MpsError):
    """A parameter is malformed."""

    code = "InvalidParameter"


class InvalidParameterValue(MpsError):
    """A parameter value is invalid."""

    code = "InvalidParameterValue"


class MissingParameter(MpsError):
    """A required parameter is missing."""

    code = "MissingParameter"


class UnknownParameter(MpsError):
    """A parameter is not part of the action's model."""

    code = "UnknownParameter"


class RequestSizeLimitExceeded(MpsError):
    """The request body is too large."""

    code = "RequestSizeLimitExceeded"


class ResourceNotFound(MpsError):
    """The resource does not exist."""

    code = "ResourceNotFound"


class LimitExceeded(MpsError):
    """A quota is exceeded."""

    code = "LimitExceeded"


class UnsupportedProtocol(MpsError):
    """The request must be an HTTP POST with a JSON body."""

    code = "UnsupportedProtocol"


# The engine's and the use cases' errors in MPS's words (first match along the MRO wins).
TABLE: dict[type[errors.CiJobsError], str] = {
    errors.InvalidArgument: "InvalidParameterValue",
    errors.InvalidAuthorization: "AuthFailure.InvalidAuthorization",
    errors.NoSuchBucket: "ResourceNotFound.CosBucketNotExist",
    errors.NoSuchKey: "ResourceNotFound",
    errors.NoSuchQueue: "ResourceNotFound",
    errors.NoSuchTemplate: "ResourceNotFound.TemplateNotExist",
    errors.NoSuchResource: "ResourceNotFound",
    errors.EntityTooLarge: "RequestSizeLimitExceeded",
    errors.ServiceUnavailable: "RequestLimitExceeded",
    errors.CiJobsError: "InternalError",
}


def code_of(exc: errors.CiJobsError) -> str:
    """The MPS error code of `exc`: its own for an MpsError, else the table's along its MRO."""
    if isinstance(exc, MpsError):
        return exc.code
    for cls in type(exc).__mro__:
        if cls in TABLE:
            return TABLE[cls]
    return "InternalError"
