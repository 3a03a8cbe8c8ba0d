-- Statements about one project, written as sql/queries/tasks.sql says: filtered
-- by project_id = %(project_id)s, first column the project's key or NULL.

-- name: feature_insert :one
-- Create a feature under an epic of the project. Answers (project, document or
-- NULL when the epic does not exist).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), feature_rows AS (
    INSERT INTO features AS f (project_id, epic_id, key, title, description, metadata)
    SELECT %(project_id)s, e.id, %(key)s, %(title)s, %(description)s, %(metadata)s
      FROM epics e JOIN project ON project.id = e.project_id
     WHERE e.project_id = %(project_id)s AND e.key = %(epic)s
    RETURNING f.*
), documents AS (
    {{feature_document}}
)
SELECT (SELECT key FROM project), (SELECT doc FROM documents);

-- name: feature_get :one
-- Answers (project, document or NULL).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), feature_rows AS (
    SELECT f.* FROM features f JOIN project ON project.id = f.project_id
     WHERE f.project_id = %(project_id)s AND f.key = %(key)s
), documents AS (
    {{feature_document}}
)
SELECT (SELECT key FROM project), (SELECT doc FROM documents);

-- name: feature_list :one
-- A page of a project's features in id order (optionally one epic's), with
-- progress. Answers (project, page).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), page AS (
    SELECT f.*, row_number() OVER (ORDER BY f.id) AS n
      FROM features f
     WHERE f.project_id = %(project_id)s AND EXISTS (SELECT 1 FROM project) AND f.id > %(after_id)s
       AND (%(epic)s::text IS NULL OR f.epic_id = (
                SELECT e.id FROM epics e WHERE e.project_id = %(project_id)s AND e.key = %(epic)s))
     ORDER BY f.id
     LIMIT %(limit)s + 1
), feature_rows AS (
    SELECT * FROM page WHERE n <= %(limit)s
), documents AS (
    {{feature_document}}
)
SELECT (SELECT key FROM project),
       '{"items":[' || coalesce((SELECT string_agg(doc, ',' ORDER BY id) FROM documents), '')
       || '],"next":'
       || coalesce((SELECT to_json(api_cursor(id::text))::text
                      FROM page WHERE n = %(limit)s AND EXISTS (SELECT 1 FROM page WHERE n > %(limit)s)),
                   'null')
       || '}';

-- name: feature_update :one
-- Answers (project, document or NULL).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), feature_rows AS (
    UPDATE features f
       SET (title, description, metadata) =
           (SELECT r.title, r.description, r.metadata FROM jsonb_populate_record(f, %(patch)s::jsonb) r)
      FROM project
     WHERE f.project_id = %(project_id)s AND f.project_id = project.id AND f.key = %(key)s
    RETURNING f.*
), documents AS (
    {{feature_document}}
)
SELECT (SELECT key FROM project), (SELECT doc FROM documents);

-- name: feature_delete :one
-- Delete a feature; its tasks, their history and dependencies follow by cascade.
-- Answers (project, deleted).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), deleted AS (
    DELETE FROM features f
     USING project
     WHERE f.project_id = %(project_id)s AND f.project_id = project.id AND f.key = %(key)s
    RETURNING f.id
)
SELECT (SELECT key FROM project), EXISTS (SELECT 1 FROM deleted);
