-- ci-jobs store, version 6: a delivered callback is kept (delivered_at set, never due) with its attempts and
-- last error, so a job's callbacks and their delivery attempts can be shown (the console's subtask details).
ALTER TABLE callbacks ADD COLUMN delivered_at double precision;

CREATE INDEX callbacks_job ON callbacks (job_id);
