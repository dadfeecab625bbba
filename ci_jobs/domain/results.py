"""What a finished job produced, in no API's words: stored objects by role, media facts, data.

The runner stores this (as JSON) with the outcome; each protocol presents it in its own shape
(CI: `MediaResult.OutputFile`, `MediaInfo`; MPS: its task output), so a Tag whose result is data (a
score, tags, a transcript) needs no change to the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FileHashes:
    """A finished file's size, MD5 (hex) and CRC-64/XZ (unsigned decimal): what storing it computes, worked
    out beforehand where that overlaps other work (a worker hashing one output piece while its driver writes
    the next). Plain values, so they cross a process pipe."""

    size: int
    md5: str
    crc64: str


@dataclass(frozen=True)
class StoredObject:
    """One published output object."""

    bucket: str
    region: str
    key: str
    etag: str


@dataclass(frozen=True)
class JobResult:
    """A successful job's products: objects per output role (in order), media info, data, and the input's
    media info where the job was asked for it (an MPS task's MetaData)."""

    outputs: dict[str, tuple[StoredObject, ...]] = field(default_factory=dict)
    media_info: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    input_info: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form kept in the store."""
        out = {"outputs": {role: [o.__dict__ for o in objs] for role, objs in self.outputs.items()},
               "media_info": self.media_info, "data": self.data}
        if self.input_info is not None:
            out["input_info"] = self.input_info
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> JobResult:
        """Back from `to_json`."""
        outputs = {role: tuple(StoredObject(**o) for o in objs) for role, objs in (value.get("outputs") or {}).items()}
        return cls(outputs, value.get("media_info"), value.get("data"), value.get("input_info"))

    @staticmethod
    def is_stored_form(value: dict[str, Any]) -> bool:
        """True for `to_json` output (jobs finished by servers before 0.2 stored CI's shape instead)."""
        return "outputs" in value
