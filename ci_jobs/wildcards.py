"""Output object-name wildcards: ${ext}, ${Number}, ${jobid}, ${InputName}... (case-insensitive)."""

from __future__ import annotations

import posixpath
import re

_VAR = re.compile(r"\$?\{([A-Za-z]+)\}")


def has_number(pattern: str) -> bool:
    """True when `pattern` contains ${Number} in any spelling."""
    return any(m.group(1).lower() == "number" for m in _VAR.finditer(pattern))


def expand(pattern: str, *, ext: str = "", number: int | None = None, job_id: str = "",
           input_key: str = "", run_id: str = "") -> str:
    """Expand the wildcards CI documents; unknown ones are left as written."""
    directory, name = posixpath.split(input_key)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    values = {
        "ext": ext,
        "jobid": job_id,
        "inputname": stem,
        "inputnameandext": name,
        "inputpath": directory,
        "runid": run_id,
    }
    if number is not None:
        values["number"] = str(number)

    def sub(m: re.Match[str]) -> str:
        return values.get(m.group(1).lower(), m.group(0))

    return _VAR.sub(sub, pattern)
