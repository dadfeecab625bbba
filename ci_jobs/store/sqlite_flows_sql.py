"""The SQLite store's statements for workflows, executions and batch jobs (placeholders `?`)."""

from __future__ import annotations

from .flow_rows import BATCH_COLUMNS, BATCH_VALUES, EXECUTION_COLUMNS, EXECUTION_VALUES, WORKFLOW_COLUMNS


def mark(n: int) -> str:
    """SQLite's placeholder (positional, whatever `n`)."""
    return "?"


RESET = ("DELETE FROM workflows", "DELETE FROM executions", "DELETE FROM batches", "DELETE FROM batch_items")

PUT_WORKFLOW = (f"INSERT INTO workflows ({WORKFLOW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (workflow_id) DO UPDATE SET name=excluded.name, state=excluded.state,"
                " topology=excluded.topology, updated=excluded.updated")
WORKFLOW = f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE bucket=? AND workflow_id=?"
COUNT_WORKFLOWS = "SELECT COUNT(*) FROM workflows WHERE {where}"
LIST_WORKFLOWS = (f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE {{where}}"
                  " ORDER BY created, workflow_id LIMIT ? OFFSET ?")
DELETE_WORKFLOW = "DELETE FROM workflows WHERE bucket=? AND workflow_id=?"
ACTIVE_WORKFLOWS = (f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE bucket=? AND state='Active'"
                    " ORDER BY created, workflow_id")

INSERT_EXECUTION = (f"INSERT INTO executions ({', '.join(EXECUTION_VALUES)})"
                    f" VALUES ({', '.join('?' * len(EXECUTION_VALUES))})")
EXECUTION = f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE bucket=? AND run_id=?"
LIST_EXECUTIONS = f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE {{where}}"
RUNNING_EXECUTIONS = (f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE state='Running' AND seq>?"
                      " ORDER BY seq LIMIT ?")
ADVANCE_EXECUTION = ("UPDATE executions SET state=?, ended=?, detail=?, version=version+1"
                     " WHERE run_id=? AND version=? RETURNING run_id")

INSERT_BATCH = f"INSERT INTO batches ({', '.join(BATCH_VALUES)}) VALUES ({', '.join('?' * len(BATCH_VALUES))})"
BATCH = f"SELECT {BATCH_COLUMNS} FROM batches WHERE bucket=? AND batch_id=?"
LIST_BATCHES = f"SELECT {BATCH_COLUMNS} FROM batches WHERE {{where}}"
ACTIVE_BATCHES = (f"SELECT {BATCH_COLUMNS} FROM batches WHERE state IN ('Submitted', 'Running')"
                  " ORDER BY seq LIMIT ?")
ADVANCE_BATCH = ("UPDATE batches SET state=?, started=?, ended=?, detail=?, version=version+1"
                 " WHERE batch_id=? AND version=? RETURNING batch_id")
INSERT_ITEM = "INSERT OR IGNORE INTO batch_items (batch_id, ref) VALUES (?, ?)"
BATCH_COUNTS = ("SELECT j.state, COUNT(*) FROM batch_items b JOIN jobs j ON j.job_id=b.ref WHERE b.batch_id=?"
                " GROUP BY j.state UNION ALL"
                " SELECT e.state, COUNT(*) FROM batch_items b JOIN executions e ON e.run_id=b.ref"
                " WHERE b.batch_id=? GROUP BY e.state")


def list_workflows(bucket: str, ids: list[str], name_prefix: str) -> tuple[str, list[object]]:
    """The `{where}` of COUNT_WORKFLOWS/LIST_WORKFLOWS for these filters and its arguments."""
    where: list[str] = ["bucket=?"]
    args: list[object] = [bucket]
    if name_prefix:
        where.append("substr(name, 1, ?)=?")
        args += [len(name_prefix), name_prefix]
    if ids:
        where.append(f"workflow_id IN ({','.join('?' * len(ids))})")
        args += ids
    return " AND ".join(where), list(args)
