"""Why a job failed: one enum, whose values are the Code a job shows (CI's `JobsDetail.Code`)."""

from __future__ import annotations

from enum import StrEnum


class Failure(StrEnum):
    """The failure codes of a job (and `Success`, the Code of a job that did not fail)."""

    SUCCESS = "Success"
    INVALID_INPUT = "InvalidInput"        # the input is not decodable media; FFmpeg's words in Message
    INPUT_NOT_FOUND = "InputNotFound"     # the input (or another object the job names) does not exist
    INVALID_ARGUMENT = "InvalidArgument"  # parameters the media makes impossible
    PROCESS_CRASHED = "ProcessCrashed"    # the worker process died under this job (hostile input)
    WORKER_LOST = "WorkerLost"            # the node running it died too often
    CANCEL = "Cancel"                     # cancelled by the user
    INTERNAL_ERROR = "InternalError"      # a bug of ours


CANCELLED_MESSAGE = "The job was cancelled."
