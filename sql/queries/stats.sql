-- Statements behind `worktrack stats`.

-- name: table_sizes :many
SELECT c.relname, pg_size_pretty(pg_table_size(c.oid)), pg_size_pretty(pg_indexes_size(c.oid)),
       pg_total_relation_size(c.oid), coalesce(s.n_live_tup, 0)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
 ORDER BY pg_total_relation_size(c.oid) DESC, c.relname;

-- name: index_usage :many
-- Scans per index since statistics were reset; unique indexes enforce rules even
-- when never scanned, so only the others count as unused.
SELECT s.relname, s.indexrelname, s.idx_scan, pg_size_pretty(pg_relation_size(s.indexrelid)),
       s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary AS unused
  FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
 WHERE s.schemaname = 'public'
 ORDER BY s.idx_scan, s.relname, s.indexrelname;

-- name: cache_hit_ratios :one
-- Share of block reads served from shared buffers, for tables and for indexes.
SELECT round(100.0 * sum(heap_blks_hit) / nullif(sum(heap_blks_hit) + sum(heap_blks_read), 0), 2),
       round(100.0 * sum(idx_blks_hit) / nullif(sum(idx_blks_hit) + sum(idx_blks_read), 0), 2)
  FROM pg_statio_user_tables
 WHERE schemaname = 'public';

-- name: connections_by_state :many
SELECT coalesce(state, 'background'), count(*)
  FROM pg_stat_activity
 WHERE datname = current_database()
 GROUP BY 1
 ORDER BY 2 DESC, 1;

-- name: longest_transactions :many
SELECT pid, usename, application_name, state, round(extract(epoch FROM now() - xact_start)::numeric, 1),
       left(query, 120)
  FROM pg_stat_activity
 WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
 ORDER BY xact_start
 LIMIT 10;

-- name: lock_waits :many
-- Who waits on whose lock.
SELECT waiting.pid, left(waiting.query, 80), blocker.pid, left(blocker.query, 80),
       round(extract(epoch FROM now() - waiting.query_start)::numeric, 1)
  FROM pg_stat_activity waiting
  CROSS JOIN LATERAL unnest(pg_blocking_pids(waiting.pid)) AS blocking (pid)
  JOIN pg_stat_activity blocker ON blocker.pid = blocking.pid
 WHERE waiting.datname = current_database()
 ORDER BY 5 DESC;

-- name: statements_available :one
-- Whether pg_stat_statements is loaded by the server and created in this database.
SELECT current_setting('shared_preload_libraries') ~ 'pg_stat_statements',
       to_regclass('pg_stat_statements') IS NOT NULL;

-- name: slowest_statements :many
SELECT calls, round(mean_exec_time::numeric, 2), round(total_exec_time::numeric, 1), rows,
       left(regexp_replace(query, '\s+', ' ', 'g'), 120)
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY mean_exec_time DESC
 LIMIT 10;
