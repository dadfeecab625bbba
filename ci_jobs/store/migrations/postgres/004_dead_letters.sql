-- ci-jobs store, version 4: callbacks that ran out of retries stay as dead letters (dead_at set, never
-- due: next_at far in the future) until a user re-sends or drops them.
ALTER TABLE callbacks ADD COLUMN dead_at double precision;

CREATE INDEX callbacks_dead ON callbacks (callback_id) WHERE dead_at IS NOT NULL;
