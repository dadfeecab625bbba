-- ci-jobs store, version 5: workflows, their executions, and batch jobs over existing objects.
-- Executions and batches advance by compare-and-set on `version` (store/flows.py).
CREATE TABLE workflows (
    workflow_id TEXT PRIMARY KEY,
    bucket      TEXT NOT NULL,
    name        TEXT NOT NULL,
    state       TEXT NOT NULL,
    topology    TEXT NOT NULL,
    created     REAL NOT NULL,
    updated     REAL NOT NULL
);

CREATE INDEX workflows_bucket ON workflows (bucket, created);

CREATE TABLE executions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      TEXT NOT NULL UNIQUE,
    bucket      TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    batch_id    TEXT NOT NULL DEFAULT '',
    object      TEXT NOT NULL,
    state       TEXT NOT NULL,
    created     REAL NOT NULL,
    ended       REAL,
    version     INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX executions_workflow ON executions (bucket, workflow_id, seq);
CREATE INDEX executions_batch ON executions (batch_id, seq) WHERE batch_id <> '';
-- The resume sweep reads only the running ones.
CREATE INDEX executions_running ON executions (seq) WHERE state = 'Running';

CREATE TABLE batches (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id     TEXT NOT NULL UNIQUE,
    bucket       TEXT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    state        TEXT NOT NULL,
    workflow_ids TEXT NOT NULL DEFAULT '',
    created      REAL NOT NULL,
    started      REAL,
    ended        REAL,
    version      INTEGER NOT NULL DEFAULT 0,
    detail       TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX batches_bucket ON batches (bucket, seq);

-- The jobs (j...) and executions (i...) each batch made: its counts join them with their states.
CREATE TABLE batch_items (
    batch_id TEXT NOT NULL,
    ref      TEXT NOT NULL,
    PRIMARY KEY (batch_id, ref)
);
