-- ci-jobs store, version 7: nonces, each key used once while live (a TC3 signature of a state-changing MPS
-- call until its clock-skew window closes), so every node sharing the store refuses a replay.
CREATE TABLE nonces (
    nonce TEXT PRIMARY KEY,
    until REAL NOT NULL
) WITHOUT ROWID;

CREATE INDEX nonces_until ON nonces (until);
