-- name: project_insert :one
-- Create a project; uq_projects_key_lower refuses a key that differs only in case.
INSERT INTO projects AS p (key, name, description, is_active, metadata, default_lease_seconds,
                           max_lease_seconds, max_attempts)
VALUES (%(key)s, %(name)s, %(description)s, %(is_active)s, %(metadata)s, %(default_lease_seconds)s,
        %(max_lease_seconds)s, %(max_attempts)s)
RETURNING project_json(p)::text;

-- name: project_get :one
-- One project by key, ignoring case (served by uq_projects_key_lower).
SELECT project_json(p)::text FROM projects p WHERE lower(p.key) = lower(%(project)s);

-- name: project_id_of :one
-- The id of the project with this key (ignoring case), which the statements
-- about the project's work items are filtered by (service.queries.projects keeps
-- it in the process; the statements check it still belongs to the key).
SELECT id FROM projects WHERE lower(key) = lower(%(project)s);

-- name: project_list :one
-- A page of projects in id order after the cursor; one row more than the page is
-- read to know whether another page follows.
WITH page AS (
    SELECT p.id, project_json(p) AS doc
      FROM projects p
     WHERE p.id > %(after_id)s
       AND (%(is_active)s::boolean IS NULL OR p.is_active = %(is_active)s)
     ORDER BY p.id
     LIMIT %(limit)s + 1
), numbered AS (
    SELECT id, doc, row_number() OVER (ORDER BY id) AS n FROM page
)
SELECT api_page(
    coalesce(array_to_json(array_agg(doc ORDER BY n) FILTER (WHERE n <= %(limit)s)), '[]'::json),
    max(api_cursor(id::text)) FILTER (WHERE n = %(limit)s AND EXISTS (
                SELECT 1 FROM numbered later WHERE later.n > %(limit)s)))::text
  FROM numbered;

-- name: project_update :one
-- A partial update: the fields present in the patch replace the row's values.
UPDATE projects p
   SET (name, description, is_active, metadata, default_lease_seconds, max_lease_seconds, max_attempts) =
       (SELECT r.name, r.description, r.is_active, r.metadata, r.default_lease_seconds, r.max_lease_seconds,
               r.max_attempts
          FROM jsonb_populate_record(p, %(patch)s::jsonb) r)
 WHERE lower(p.key) = lower(%(project)s)
RETURNING project_json(p)::text;

-- name: project_delete :one
-- Delete a project and, by cascade, everything in it.
DELETE FROM projects WHERE lower(key) = lower(%(project)s) RETURNING id;

-- name: project_export_lock :exec
-- Wait for the tables here, before the first byte is sent: an export behind a
-- lock then answers 503 after lock_timeout instead of a 200 cut short.
LOCK TABLE projects, epics, features, tasks, task_dependencies, task_history IN ACCESS SHARE MODE;

-- name: project_export_head :one
-- The export's first part: the project's id, its document, and the instant of the
-- export's snapshot. The sections follow, each streamed through a cursor.
SELECT p.id, project_json(p)::text, to_json(now())::text
  FROM projects p
 WHERE lower(p.key) = lower(%(project)s);

-- name: project_export_epics :many
WITH epic_rows AS (
    SELECT e.* FROM epics e WHERE e.project_id = %(project_id)s
), documents AS (
    {{epic_document}}
)
SELECT doc FROM documents ORDER BY id;

-- name: project_export_features :many
WITH feature_rows AS (
    SELECT f.* FROM features f WHERE f.project_id = %(project_id)s
), documents AS (
    {{feature_document}}
)
SELECT doc FROM documents ORDER BY id;

-- name: project_export_tasks :many
WITH task_rows AS (
    SELECT t.* FROM tasks t WHERE t.project_id = %(project_id)s
), documents AS (
    {{task_document}}
)
SELECT doc FROM documents ORDER BY id;

-- name: project_export_dependencies :many
SELECT row_to_json(edge)::text
  FROM task_dependencies d
  JOIN tasks t ON t.project_id = %(project_id)s AND t.id = d.task_id
  JOIN tasks o ON o.project_id = %(project_id)s AND o.id = d.depends_on_id
 CROSS JOIN LATERAL (SELECT t.key AS task, o.key AS depends_on) edge
 WHERE d.project_id = %(project_id)s
 ORDER BY t.key, o.key;

-- name: project_export_history :many
SELECT task_history_json(h, t.key)::text
  FROM task_history h
  JOIN tasks t ON t.project_id = %(project_id)s AND t.id = h.task_id
 WHERE h.project_id = %(project_id)s
 ORDER BY h.id;

-- name: set_local_export_bounds :exec
-- The export's own bounds, for this transaction only: a longer statement timeout
-- than requests get, and the same as the longest pause while the client reads.
SELECT set_config('statement_timeout', %(timeout)s, true),
       set_config('idle_in_transaction_session_timeout', %(timeout)s, true);
