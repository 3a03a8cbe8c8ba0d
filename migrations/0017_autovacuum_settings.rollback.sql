-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE task_history RESET (autovacuum_vacuum_insert_scale_factor, autovacuum_analyze_scale_factor);
ALTER TABLE tasks RESET (autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor);
