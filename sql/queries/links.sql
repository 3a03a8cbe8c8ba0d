-- Statements about one project, written as sql/queries/tasks.sql says: filtered
-- by project_id = %(project_id)s, first column the project's key or NULL.

-- name: link_add :one
-- Link a task to another of the same project without making it wait: `related`
-- (stored in both directions, so each task lists the other) or `discovered_from`
-- (the task was found while working on the other).
-- Answers (project, task found, other found, link new).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), task AS (
    SELECT t.id FROM tasks t JOIN project ON project.id = t.project_id
     WHERE t.project_id = %(project_id)s AND t.key = %(key)s
), other AS (
    SELECT t.id FROM tasks t JOIN project ON project.id = t.project_id
     WHERE t.project_id = %(project_id)s AND t.key = %(other)s
), added AS (
    INSERT INTO task_links (project_id, task_id, linked_task_id, kind)
    SELECT %(project_id)s, task.id, other.id, %(kind)s FROM task, other
    UNION ALL
    SELECT %(project_id)s, other.id, task.id, %(kind)s FROM task, other WHERE %(kind)s = 'related'
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT key FROM project), EXISTS (SELECT 1 FROM task), EXISTS (SELECT 1 FROM other),
       EXISTS (SELECT 1 FROM added);

-- name: link_remove :one
-- Remove a link (a related link in both directions). Answers (project, removed).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), ends AS (
    SELECT t.id AS task_id, other.id AS linked_task_id
      FROM project
      JOIN tasks t ON t.project_id = project.id AND t.key = %(key)s
      JOIN tasks other ON other.project_id = project.id AND other.key = %(other)s
     WHERE t.project_id = %(project_id)s AND other.project_id = %(project_id)s
), removed AS (
    DELETE FROM task_links l
     USING ends
     WHERE l.project_id = %(project_id)s AND l.kind = %(kind)s
       AND ((l.task_id = ends.task_id AND l.linked_task_id = ends.linked_task_id)
            OR (%(kind)s = 'related' AND l.task_id = ends.linked_task_id AND l.linked_task_id = ends.task_id))
    RETURNING 1
)
SELECT (SELECT key FROM project), EXISTS (SELECT 1 FROM removed);
