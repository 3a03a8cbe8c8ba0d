-- Statements about one project, written as sql/queries/tasks.sql says: filtered
-- by project_id = %(project_id)s, first column the project's key or NULL.

-- name: dependency_add :one
-- Make a task wait for another of the same project. The cycle trigger refuses a
-- cycle. Answers (project, task found, other found, edge new).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), task AS (
    SELECT t.id FROM tasks t JOIN project ON project.id = t.project_id
     WHERE t.project_id = %(project_id)s AND t.key = %(key)s
), other AS (
    SELECT t.id FROM tasks t JOIN project ON project.id = t.project_id
     WHERE t.project_id = %(project_id)s AND t.key = %(other)s
), added AS (
    INSERT INTO task_dependencies (project_id, task_id, depends_on_id)
    SELECT %(project_id)s, task.id, other.id FROM task, other
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT key FROM project), EXISTS (SELECT 1 FROM task), EXISTS (SELECT 1 FROM other),
       EXISTS (SELECT 1 FROM added);

-- name: dependency_remove :one
-- Remove an edge. Answers (project, removed).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), removed AS (
    DELETE FROM task_dependencies d
     USING project, tasks t, tasks other
     WHERE d.project_id = %(project_id)s AND d.project_id = project.id
       AND t.project_id = %(project_id)s AND t.key = %(key)s
       AND other.project_id = %(project_id)s AND other.key = %(other)s
       AND d.task_id = t.id AND d.depends_on_id = other.id
    RETURNING 1
)
SELECT (SELECT key FROM project), EXISTS (SELECT 1 FROM removed);
