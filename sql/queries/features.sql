-- name: feature_insert :one
-- Create a feature under an epic of the same project; no row when either is missing.
INSERT INTO features AS f (project_id, epic_id, key, title, description, metadata)
SELECT e.project_id, e.id, %(key)s, %(title)s, %(description)s, %(metadata)s
  FROM epics e JOIN projects p ON p.id = e.project_id
 WHERE lower(p.key) = lower(%(project)s) AND e.key = %(epic)s
RETURNING feature_json(f)::text;

-- name: feature_get :one
SELECT feature_json(f)::text
  FROM features f JOIN projects p ON p.id = f.project_id
 WHERE lower(p.key) = lower(%(project)s) AND f.key = %(key)s;

-- name: feature_list :one
-- A page of a project's features in id order (optionally one epic's), with progress.
WITH project AS (
    SELECT id FROM projects WHERE lower(key) = lower(%(project)s)
), page AS (
    SELECT f.id, feature_json(f) AS doc
      FROM features f
     WHERE f.project_id = (SELECT id FROM project) AND f.id > %(after_id)s
       AND (%(epic)s::text IS NULL OR f.epic_id = (
                SELECT e.id FROM epics e WHERE e.project_id = f.project_id AND e.key = %(epic)s))
     ORDER BY f.id
     LIMIT %(limit)s + 1
), numbered AS (
    SELECT id, doc, row_number() OVER (ORDER BY id) AS n FROM page
)
SELECT json_build_object(
    'items', coalesce(json_agg(doc ORDER BY n) FILTER (WHERE n <= %(limit)s), '[]'::json),
    'next', max(api_cursor(id::text)) FILTER (WHERE n = %(limit)s AND EXISTS (
                SELECT 1 FROM numbered later WHERE later.n > %(limit)s)))::text
  FROM numbered
HAVING EXISTS (SELECT 1 FROM project);  -- no row at all: the project does not exist

-- name: feature_update :one
UPDATE features f
   SET (title, description, metadata) =
       (SELECT r.title, r.description, r.metadata FROM jsonb_populate_record(f, %(patch)s::jsonb) r)
  FROM projects p
 WHERE p.id = f.project_id AND lower(p.key) = lower(%(project)s) AND f.key = %(key)s
RETURNING feature_json(f)::text;

-- name: feature_delete :one
-- Delete a feature; its tasks, their history and dependencies follow by cascade.
DELETE FROM features f
 USING projects p
 WHERE p.id = f.project_id AND lower(p.key) = lower(%(project)s) AND f.key = %(key)s
RETURNING f.id;
