"""Workflow and batch output variables that the use cases expand before a job is submitted.

`${RunId}`, `${InventoryTriggerJobId}` and the input's `${InputName}`, `${InputNameAndExt}`,
`${InputPath}` are known when a node's job is made (for a chained node they name the execution's
object, not the file its parent produced); `${Ext}` and `${Number}` are left for the runner, which
knows them only once the files exist. Spellings as CI's samples: case-insensitive, `$` optional.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

_VAR = re.compile(r"\$?\{([A-Za-z]+)\}")


def expand_known(value: Any, *, input_key: str, run_id: str = "", batch_id: str = "") -> Any:
    """`value` (a string, or a dict/list of them: an Output) with the variables known now expanded."""
    if isinstance(value, dict):
        return {k: expand_known(v, input_key=input_key, run_id=run_id, batch_id=batch_id) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_known(v, input_key=input_key, run_id=run_id, batch_id=batch_id) for v in value]
    if not isinstance(value, str) or "{" not in value:
        return value
    directory, name = posixpath.split(input_key)
    known = {"inputname": name.rsplit(".", 1)[0] if "." in name else name, "inputnameandext": name,
             "inputpath": directory, "runid": run_id, "inventorytriggerjobid": batch_id}
    return _VAR.sub(lambda m: known.get(m.group(1).lower(), m.group(0)), value)
