-- name: epic_insert :one
-- Create an epic in a project named by key; no row when the project does not exist.
INSERT INTO epics AS e (project_id, key, title, description, metadata)
SELECT p.id, %(key)s, %(title)s, %(description)s, %(metadata)s
  FROM projects p
 WHERE lower(p.key) = lower(%(project)s)
RETURNING epic_json(e)::text;

-- name: epic_get :one
SELECT epic_json(e)::text
  FROM epics e JOIN projects p ON p.id = e.project_id
 WHERE lower(p.key) = lower(%(project)s) AND e.key = %(key)s;

-- name: epic_list :one
-- A page of a project's epics in id order, with their progress.
WITH project AS (
    SELECT id FROM projects WHERE lower(key) = lower(%(project)s)
), page AS (
    SELECT e.id, epic_json(e) AS doc
      FROM epics e
     WHERE e.project_id = (SELECT id FROM project) AND e.id > %(after_id)s
     ORDER BY e.id
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

-- name: epic_update :one
UPDATE epics e
   SET (title, description, metadata) =
       (SELECT r.title, r.description, r.metadata FROM jsonb_populate_record(e, %(patch)s::jsonb) r)
  FROM projects p
 WHERE p.id = e.project_id AND lower(p.key) = lower(%(project)s) AND e.key = %(key)s
RETURNING epic_json(e)::text;

-- name: epic_delete :one
-- Delete an epic; its features, their tasks, history and dependencies follow by cascade.
DELETE FROM epics e
 USING projects p
 WHERE p.id = e.project_id AND lower(p.key) = lower(%(project)s) AND e.key = %(key)s
RETURNING e.id;
