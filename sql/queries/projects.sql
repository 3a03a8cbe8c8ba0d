-- name: project_insert :one
-- Create a project; uq_projects_key_lower refuses a key that differs only in case.
INSERT INTO projects AS p (key, name, description, is_active, metadata, max_attempts)
VALUES (%(key)s, %(name)s, %(description)s, %(is_active)s, %(metadata)s, %(max_attempts)s)
RETURNING project_json(p)::text;

-- name: project_get :one
-- One project by key, ignoring case (served by uq_projects_key_lower).
SELECT project_json(p)::text FROM projects p WHERE lower(p.key) = lower(%(project)s);

-- name: project_exists :one
SELECT EXISTS (SELECT 1 FROM projects WHERE lower(key) = lower(%(project)s));

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
SELECT json_build_object(
    'items', coalesce(json_agg(doc ORDER BY n) FILTER (WHERE n <= %(limit)s), '[]'::json),
    'next', max(api_cursor(id::text)) FILTER (WHERE n = %(limit)s AND EXISTS (
                SELECT 1 FROM numbered later WHERE later.n > %(limit)s)))::text
  FROM numbered;

-- name: project_update :one
-- A partial update: the fields present in the patch replace the row's values.
UPDATE projects p
   SET (name, description, is_active, metadata, max_attempts) =
       (SELECT r.name, r.description, r.is_active, r.metadata, r.max_attempts
          FROM jsonb_populate_record(p, %(patch)s::jsonb) r)
 WHERE lower(p.key) = lower(%(project)s)
RETURNING project_json(p)::text;

-- name: project_delete :one
-- Delete a project and, by cascade, everything in it.
DELETE FROM projects WHERE lower(key) = lower(%(project)s) RETURNING id;

-- name: project_export :one
-- The whole project as one JSON document: the project, its epics and features
-- with progress, every task, dependency edge and history row.
SELECT json_build_object(
    'project', project_json(p),
    'epics', coalesce((SELECT json_agg(epic_json(e) ORDER BY e.id)
                         FROM epics e WHERE e.project_id = p.id), '[]'::json),
    'features', coalesce((SELECT json_agg(feature_json(f) ORDER BY f.id)
                            FROM features f WHERE f.project_id = p.id), '[]'::json),
    'tasks', coalesce((SELECT json_agg(task_json(t) ORDER BY t.id)
                         FROM tasks t WHERE t.project_id = p.id), '[]'::json),
    'dependencies', coalesce((SELECT json_agg(json_build_object('task', t.key, 'depends_on', o.key)
                                              ORDER BY t.key, o.key)
                                FROM task_dependencies d
                                JOIN tasks t ON t.project_id = d.project_id AND t.id = d.task_id
                                JOIN tasks o ON o.project_id = d.project_id AND o.id = d.depends_on_id
                               WHERE d.project_id = p.id), '[]'::json),
    'history', coalesce((SELECT json_agg(task_history_json(h, t.key) ORDER BY h.id)
                           FROM task_history h
                           JOIN tasks t ON t.project_id = h.project_id AND t.id = h.task_id
                          WHERE h.project_id = p.id), '[]'::json),
    'exported_at', now())::text
  FROM projects p
 WHERE lower(p.key) = lower(%(project)s);

-- name: set_local_statement_timeout :exec
-- A longer statement timeout for the rest of this transaction only.
SELECT set_config('statement_timeout', %(timeout)s, true);
