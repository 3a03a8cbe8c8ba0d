-- Catalog reads behind docs/database-schema.md (scripts/er-diagram).

-- name: doc_columns :many
-- worktrack's tables and their columns, with PK/FK markers for the diagram.
SELECT c.relname, a.attname, format_type(a.atttypid, NULL),
       CASE WHEN EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p'
                                                      AND a.attnum = ANY (k.conkey)) THEN 'PK'
            WHEN EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f'
                                                      AND a.attnum = ANY (k.conkey)) THEN 'FK'
            ELSE '' END
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname = 'public' AND c.relkind = 'r'
   AND c.relname NOT IN ('_yoyo_log', '_yoyo_migration', '_yoyo_version', 'yoyo_lock')
 ORDER BY c.oid, a.attnum;

-- name: doc_foreign_keys :many
SELECT con.conrelid::regclass::text, con.confrelid::regclass::text, con.conname
  FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
 WHERE n.nspname = 'public' AND con.contype = 'f'
 ORDER BY 1, 3;

-- name: doc_indexes :many
SELECT t.relname, pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE n.nspname = 'public' AND t.relname NOT IN ('_yoyo_log', '_yoyo_migration', '_yoyo_version', 'yoyo_lock')
 ORDER BY 1, 2;
