"""The PostgreSQL store's statements for workflows, executions and batch jobs (placeholders `$n`)."""

from __future__ import annotations

from .flow_rows import BATCH_COLUMNS, BATCH_VALUES, EXECUTION_COLUMNS, EXECUTION_VALUES, WORKFLOW_COLUMNS


def mark(n: int) -> str:
    """PostgreSQL's n-th placeholder."""
    return f"${n}"


def _marks(n: int) -> str:
    return ", ".join(mark(i + 1) for i in range(n))


RESET = ("DELETE FROM workflows", "DELETE FROM executions", "DELETE FROM batches", "DELETE FROM batch_items")

PUT_WORKFLOW = (f"INSERT INTO workflows ({WORKFLOW_COLUMNS}) VALUES ($1, $2, $3, $4, $5::json, $6, $7)"
                " ON CONFLICT (workflow_id) DO UPDATE SET name=excluded.name, state=excluded.state,"
                " topology=excluded.topology, updated=excluded.updated")
WORKFLOW = f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE bucket=$1 AND workflow_id=$2"
_WORKFLOW_WHERE = ("bucket=$1 AND ($2 = '' OR substr(name, 1, length($2)) = $2)"
                   " AND (cardinality($3::text[]) = 0 OR workflow_id = ANY($3::text[]))")
COUNT_WORKFLOWS = f"SELECT COUNT(*) AS n FROM workflows WHERE {_WORKFLOW_WHERE}"
LIST_WORKFLOWS = (f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE {_WORKFLOW_WHERE}"
                  " ORDER BY created, workflow_id LIMIT $4 OFFSET $5")
DELETE_WORKFLOW = "DELETE FROM workflows WHERE bucket=$1 AND workflow_id=$2 RETURNING workflow_id"
ACTIVE_WORKFLOWS = (f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE bucket=$1 AND state='Active'"
                    " ORDER BY created, workflow_id")

INSERT_EXECUTION = (f"INSERT INTO executions ({', '.join(EXECUTION_VALUES)})"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::json)")
EXECUTION = f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE bucket=$1 AND run_id=$2"
LIST_EXECUTIONS = f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE {{where}}"
RUNNING_EXECUTIONS = (f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE state='Running' AND seq>$1"
                      " ORDER BY seq LIMIT $2")
ADVANCE_EXECUTION = ("UPDATE executions SET state=$1, ended=$2, detail=$3::json, version=version+1"
                     " WHERE run_id=$4 AND version=$5 RETURNING run_id")

INSERT_BATCH = (f"INSERT INTO batches ({', '.join(BATCH_VALUES)})"
                f" VALUES ({_marks(len(BATCH_VALUES) - 1)}, ${len(BATCH_VALUES)}::json)")
BATCH = f"SELECT {BATCH_COLUMNS} FROM batches WHERE bucket=$1 AND batch_id=$2"
LIST_BATCHES = f"SELECT {BATCH_COLUMNS} FROM batches WHERE {{where}}"
ACTIVE_BATCHES = (f"SELECT {BATCH_COLUMNS} FROM batches WHERE state IN ('Submitted', 'Running')"
                  " ORDER BY seq LIMIT $1")
ADVANCE_BATCH = ("UPDATE batches SET state=$1, started=$2, ended=$3, detail=$4::json, version=version+1"
                 " WHERE batch_id=$5 AND version=$6 RETURNING batch_id")
INSERT_ITEMS = ("INSERT INTO batch_items (batch_id, ref) SELECT $1, r FROM unnest($2::text[]) AS r"
                " ON CONFLICT DO NOTHING")
BATCH_COUNTS = ("SELECT j.state AS state, COUNT(*) AS n FROM batch_items b JOIN jobs j ON j.job_id=b.ref"
                " WHERE b.batch_id=$1 GROUP BY j.state UNION ALL"
                " SELECT e.state, COUNT(*) FROM batch_items b JOIN executions e ON e.run_id=b.ref"
                " WHERE b.batch_id=$1 GROUP BY e.state")
