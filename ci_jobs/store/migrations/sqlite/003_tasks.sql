-- ci-jobs store, version 3: tasks (a group of jobs, committed with them; `k` + 32 hex).
-- Jobs stored before this version belong to no task: their task_id is ''.
CREATE TABLE tasks (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL UNIQUE,
    bucket  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    origin  TEXT NOT NULL,
    created REAL NOT NULL,
    job_ids TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX tasks_list ON tasks (bucket, seq);

ALTER TABLE jobs ADD COLUMN task_id TEXT NOT NULL DEFAULT '';

-- Partial: jobs without a task are never looked up by it, and cost the index nothing on insert.
CREATE INDEX jobs_task ON jobs (task_id) WHERE task_id <> '';
