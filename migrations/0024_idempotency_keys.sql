-- depends: 0023_backfill_sprint_membership
-- squawk-ignore-file prefer-bigint-over-smallint -- an HTTP status code is three digits
-- The first answer to each POST sent with an Idempotency-Key, so a retry with the
-- same key gets it again instead of doing the write twice. A row is written in
-- the transaction of the write it answers: both commit or neither does.
-- `caller` scopes the keys: today every client is the same caller ('anonymous');
-- with access control it is the token's id. A key older than 24 hours is free
-- again (the service deletes it when the key comes back; `worktrack maintain
-- purge-idempotency-keys` deletes the rest).
-- A new table: no lock on anything that serves traffic.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS idempotency_keys (
    caller       text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       smallint    NOT NULL,
    headers      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    body         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_idempotency_keys PRIMARY KEY (caller, key),
    CONSTRAINT chk_idempotency_keys_key_length CHECK (length(key) BETWEEN 1 AND 255),
    CONSTRAINT chk_idempotency_keys_request_hash_length CHECK (length(request_hash) = 32),
    CONSTRAINT chk_idempotency_keys_status_success CHECK (status BETWEEN 200 AND 299),
    CONSTRAINT chk_idempotency_keys_headers_object CHECK (jsonb_typeof(headers) = 'object')
);

-- Expired keys are found by age (the purge); the table is new and empty.
CREATE INDEX IF NOT EXISTS idx_idempotency_keys_created_at ON idempotency_keys (created_at);
