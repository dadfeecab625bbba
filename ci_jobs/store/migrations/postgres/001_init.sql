-- ci-jobs store, version 1 (PostgreSQL). Times are unix seconds (double precision). JSON columns
-- are `json`, not `jsonb`: json keeps the text as written, so dict key order (which becomes XML
-- element order in responses) round-trips exactly.
CREATE TABLE queues (
    queue_id       text PRIMARY KEY,
    bucket         text NOT NULL,
    name           text NOT NULL,
    state          text NOT NULL DEFAULT 'Active',
    max_concurrent integer NOT NULL,
    max_size       integer NOT NULL DEFAULT 10000,
    notify         json NOT NULL DEFAULT '{}',
    category       text NOT NULL DEFAULT 'Transcoding',
    created        double precision NOT NULL,
    updated        double precision NOT NULL,
    running        integer NOT NULL DEFAULT 0,
    last_claim     double precision NOT NULL DEFAULT 0,
    UNIQUE (bucket, name)
);

CREATE TABLE jobs (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id           text NOT NULL UNIQUE,
    bucket           text NOT NULL,
    queue_id         text NOT NULL REFERENCES queues (queue_id),
    tag              text NOT NULL,
    state            text NOT NULL,
    level            integer NOT NULL DEFAULT 0,
    created          double precision NOT NULL,
    started          double precision,
    ended            double precision,
    progress         integer NOT NULL DEFAULT 0,
    code             text NOT NULL DEFAULT 'Success',
    message          text NOT NULL DEFAULT '',
    spec             json NOT NULL,
    result           json,
    attempts         integer NOT NULL DEFAULT 0,
    cancel_requested boolean NOT NULL DEFAULT false,
    lease_token      text,
    lease_until      double precision,
    node             text,
    input_object     text NOT NULL DEFAULT ''
);

-- Partial indexes: the claim and the lease rescue only ever look at waiting / running jobs.
CREATE INDEX jobs_runnable ON jobs (queue_id, level DESC, seq) WHERE state = 'Submitted';
CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'Running';
CREATE INDEX jobs_list ON jobs (bucket, tag, seq);
CREATE INDEX jobs_queue_state ON jobs (queue_id, state);

CREATE TABLE callbacks (
    callback_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id       text NOT NULL DEFAULT '',
    target       json NOT NULL,
    body         bytea NOT NULL,
    content_type text NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    next_at      double precision NOT NULL,
    last_error   text NOT NULL DEFAULT ''
);

CREATE INDEX callbacks_due ON callbacks (next_at);
