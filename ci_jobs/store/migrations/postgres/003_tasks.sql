-- ci-jobs store, version 3: tasks (a group of jobs, committed with them; `k` + 32 hex).
-- Jobs stored before this version belong to no task: their task_id is '' (a constant default, so
-- adding the column rewrites no rows).
CREATE TABLE tasks (
    seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id text NOT NULL UNIQUE,
    bucket  text NOT NULL,
    kind    text NOT NULL,
    origin  text NOT NULL,
    created double precision NOT NULL,
    job_ids json NOT NULL,
    detail  json NOT NULL DEFAULT '{}'
);

CREATE INDEX tasks_list ON tasks (bucket, seq);

ALTER TABLE jobs ADD COLUMN task_id text NOT NULL DEFAULT '';

-- Partial: jobs without a task are never looked up by it, and cost the index nothing on insert.
CREATE INDEX jobs_task ON jobs (task_id) WHERE task_id <> '';
