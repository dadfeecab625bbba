-- ci-jobs store, version 7: nonces, each key used once while live (a TC3 signature of a state-changing MPS
-- call until its clock-skew window closes), so every node sharing the store refuses a replay.
CREATE TABLE nonces (
    nonce text PRIMARY KEY,
    until double precision NOT NULL
);

CREATE INDEX nonces_until ON nonces (until);
