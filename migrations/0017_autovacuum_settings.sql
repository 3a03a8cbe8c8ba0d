-- depends: 0016_validate_sprint_constraints
-- Autovacuum for the two busiest tables. tasks is updated all day (claims,
-- heartbeats, transitions): vacuum and analyze it after 5% and 2% of its rows
-- change instead of the default 20% and 10%, so dead rows and the ready-queue
-- statistics stay fresh at a million rows. task_history only grows: vacuum it
-- after 5% new rows (default 20%) so its visibility map stays current for
-- index-only scans and freezing happens in small steps.
-- SET (...) on a table takes SHARE UPDATE EXCLUSIVE: reads and writes go on.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE tasks SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE task_history SET (autovacuum_vacuum_insert_scale_factor = 0.05,
                              autovacuum_analyze_scale_factor = 0.05);
