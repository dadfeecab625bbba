-- ci-jobs store, version 2: templates.
CREATE TABLE templates (
    template_id TEXT PRIMARY KEY,
    bucket      TEXT NOT NULL,
    name        TEXT NOT NULL,
    tag         TEXT NOT NULL,
    params      JSON NOT NULL,
    created     DOUBLE PRECISION NOT NULL,
    updated     DOUBLE PRECISION NOT NULL
);

CREATE INDEX templates_list ON templates (bucket, tag, created);
