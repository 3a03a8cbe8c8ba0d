-- depends: 0044_security_definer_search_path
-- POST /tokens no longer takes an Idempotency-Key (its answer holds the new
-- token's secret, which is stored nowhere else in the clear); the answers kept
-- for such keys before are deleted here: any row whose stored body holds a
-- token's secret ("token":"wt_...). Retries of those requests within their 24
-- hours would now be refused anyway. The rollback cannot bring them back, and
-- does nothing.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DELETE FROM idempotency_keys WHERE position('"token":"wt_'::bytea IN body) > 0;
