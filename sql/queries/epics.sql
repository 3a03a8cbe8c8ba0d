-- Statements about one project, written as sql/queries/tasks.sql says: filtered
-- by project_id = %(project_id)s, first column the project's key or NULL.

-- name: epic_insert :one
-- Create an epic in the project. Answers (project, document).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), epic_rows AS (
    INSERT INTO epics AS e (project_id, key, title, description, metadata)
    SELECT %(project_id)s, %(key)s, %(title)s, %(description)s, %(metadata)s FROM project
    RETURNING e.*
), documents AS (
    {{epic_document}}
)
SELECT (SELECT key FROM project), (SELECT doc FROM documents);

-- name: epic_get :one
-- Answers (project, document or NULL).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), epic_rows AS (
    SELECT e.* FROM epics e JOIN project ON project.id = e.project_id
     WHERE e.project_id = %(project_id)s AND e.key = %(key)s
), documents AS (
    {{epic_document}}
)
SELECT (SELECT key FROM project), (SELECT doc FROM documents);

-- name: epic_list :one
-- A page of a project's epics in id order, with their progress. Answers (project, page).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), page AS (
    SELECT e.*, row_number() OVER (ORDER BY e.id) AS n
      FROM epics e
     WHERE e.project_id = %(project_id)s AND EXISTS (SELECT 1 FROM project) AND e.id > %(after_id)s
     ORDER BY e.id
     LIMIT %(limit)s + 1
), epic_rows AS (
    SELECT * FROM page WHERE n <= %(limit)s
), documents AS (
    {{epic_document}}
)
SELECT (SELECT key FROM project),
       '{"items":[' || coalesce((SELECT string_agg(doc, ',' ORDER BY id) FROM documents), '')
       || '],"next":'
       || coalesce((SELECT to_json(api_cursor(id::text))::text
                      FROM page WHERE n = %(limit)s AND EXISTS (SELECT 1 FROM page WHERE n > %(limit)s)),
                   'null')
       || '}';

-- name: epic_update :one
-- Answers (project, document or NULL).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), epic_rows AS (
    UPDATE epics e
       SET (title, description, metadata) =
           (SELECT r.title, r.description, r.metadata FROM jsonb_populate_record(e, %(patch)s::jsonb) r)
      FROM project
     WHERE e.project_id = %(project_id)s AND e.project_id = project.id AND e.key = %(key)s
    RETURNING e.*
), documents AS (
    {{epic_document}}
)
SELECT (SELECT key FROM project), (SELECT doc FROM documents);

-- name: epic_delete :one
-- Delete an epic; its features, their tasks, history and dependencies follow by
-- cascade. Answers (project, deleted).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), deleted AS (
    DELETE FROM epics e
     USING project
     WHERE e.project_id = %(project_id)s AND e.project_id = project.id AND e.key = %(key)s
    RETURNING e.id
)
SELECT (SELECT key FROM project), EXISTS (SELECT 1 FROM deleted);
