-- ci-jobs store, version 5: workflows, their executions, and batch jobs over existing objects.
-- Executions and batches advance by compare-and-set on `version` (store/flows.py).
CREATE TABLE workflows (
    workflow_id text PRIMARY KEY,
    bucket      text NOT NULL,
    name        text NOT NULL,
    state       text NOT NULL,
    topology    json NOT NULL,
    created     double precision NOT NULL,
    updated     double precision NOT NULL
);

CREATE INDEX workflows_bucket ON workflows (bucket, created);

CREATE TABLE executions (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      text NOT NULL UNIQUE,
    bucket      text NOT NULL,
    workflow_id text NOT NULL,
    batch_id    text NOT NULL DEFAULT '',
    object      text NOT NULL,
    state       text NOT NULL,
    created     double precision NOT NULL,
    ended       double precision,
    version     integer NOT NULL DEFAULT 0,
    detail      json NOT NULL DEFAULT '{}'
);

CREATE INDEX executions_workflow ON executions (bucket, workflow_id, seq);
CREATE INDEX executions_batch ON executions (batch_id, seq) WHERE batch_id <> '';
-- The resume sweep reads only the running ones.
CREATE INDEX executions_running ON executions (seq) WHERE state = 'Running';

CREATE TABLE batches (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id     text NOT NULL UNIQUE,
    bucket       text NOT NULL,
    name         text NOT NULL,
    kind         text NOT NULL,
    state        text NOT NULL,
    workflow_ids text NOT NULL DEFAULT '',
    created      double precision NOT NULL,
    started      double precision,
    ended        double precision,
    version      integer NOT NULL DEFAULT 0,
    detail       json NOT NULL DEFAULT '{}'
);

CREATE INDEX batches_bucket ON batches (bucket, seq);

-- The jobs (j...) and executions (i...) each batch made: its counts join them with their states.
CREATE TABLE batch_items (
    batch_id text NOT NULL,
    ref      text NOT NULL,
    PRIMARY KEY (batch_id, ref)
);
