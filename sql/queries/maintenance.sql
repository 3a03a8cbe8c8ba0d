-- Statements behind `worktrack maintain`.

-- name: worktrack_tables :many
-- worktrack's own tables, largest first.
SELECT c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
   AND c.relname NOT IN ('_yoyo_log', '_yoyo_migration', '_yoyo_version', 'yoyo_lock')
 ORDER BY pg_total_relation_size(c.oid) DESC, c.relname;

-- name: projects_with_expired_leases :many
SELECT DISTINCT p.key
  FROM tasks t JOIN projects p ON p.id = t.project_id
 WHERE t.lease_expires_at < now()
 ORDER BY p.key;

-- name: invalid_index_names :many
SELECT c.relname
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND NOT i.indisvalid
 ORDER BY c.relname;
