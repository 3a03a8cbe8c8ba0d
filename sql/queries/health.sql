-- name: applied_migration_ids :many
-- Migrations recorded by yoyo in this database, for /readyz.
SELECT migration_id
  FROM _yoyo_migration
 ORDER BY migration_id;
