-- name: idempotency_lock :exec
-- Requests with the same caller and key take turns: the second waits for the
-- first to commit (or give up), then finds its answer. Waits are bounded by
-- lock_timeout.
SELECT pg_advisory_xact_lock(hashtextextended(%(caller)s || '/' || %(key)s, 0));

-- name: idempotency_find :one
-- The stored answer for the key, and whether it is still within 24 hours.
SELECT request_hash, status, headers, body, created_at > now() - interval '24 hours' AS is_fresh
  FROM idempotency_keys
 WHERE caller = %(caller)s AND key = %(key)s;

-- name: idempotency_forget :exec
-- An expired key is free again.
DELETE FROM idempotency_keys WHERE caller = %(caller)s AND key = %(key)s;

-- name: idempotency_save :exec
-- The answer, written in the transaction of the write it answers.
INSERT INTO idempotency_keys (caller, key, request_hash, status, headers, body)
VALUES (%(caller)s, %(key)s, %(request_hash)s, %(status)s, %(headers)s, %(body)s);

-- name: idempotency_purge :one
-- Delete keys older than 24 hours; how many went.
WITH gone AS (
    DELETE FROM idempotency_keys WHERE created_at <= now() - interval '24 hours' RETURNING 1
)
SELECT count(*) FROM gone;
