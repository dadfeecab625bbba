-- ci-jobs store, version 1.
CREATE TABLE queues (
    queue_id       TEXT PRIMARY KEY,
    bucket         TEXT NOT NULL,
    name           TEXT NOT NULL,
    state          TEXT NOT NULL DEFAULT 'Active',
    max_concurrent INTEGER NOT NULL,
    max_size       INTEGER NOT NULL DEFAULT 10000,
    notify         TEXT NOT NULL DEFAULT '{}',
    category       TEXT NOT NULL DEFAULT 'Transcoding',
    created        REAL NOT NULL,
    updated        REAL NOT NULL,
    running        INTEGER NOT NULL DEFAULT 0,
    last_claim     REAL NOT NULL DEFAULT 0,
    UNIQUE (bucket, name)
);

CREATE TABLE jobs (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id           TEXT NOT NULL UNIQUE,
    bucket           TEXT NOT NULL,
    queue_id         TEXT NOT NULL REFERENCES queues (queue_id),
    tag              TEXT NOT NULL,
    state            TEXT NOT NULL,
    level            INTEGER NOT NULL DEFAULT 0,
    created          REAL NOT NULL,
    started          REAL,
    ended            REAL,
    progress         INTEGER NOT NULL DEFAULT 0,
    code             TEXT NOT NULL DEFAULT 'Success',
    message          TEXT NOT NULL DEFAULT '',
    spec             TEXT NOT NULL,
    result           TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    lease_token      TEXT,
    lease_until      REAL,
    node             TEXT,
    input_object     TEXT NOT NULL DEFAULT ''
);

CREATE INDEX jobs_runnable ON jobs (queue_id, state, level DESC, seq);
CREATE INDEX jobs_list ON jobs (bucket, tag, seq);
CREATE INDEX jobs_running ON jobs (state, lease_until);

CREATE TABLE callbacks (
    callback_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id       TEXT NOT NULL DEFAULT '',
    target       TEXT NOT NULL,
    body         BLOB NOT NULL,
    content_type TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      REAL NOT NULL,
    last_error   TEXT NOT NULL DEFAULT ''
);

CREATE INDEX callbacks_due ON callbacks (next_at);
