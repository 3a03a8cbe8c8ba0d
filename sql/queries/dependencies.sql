-- name: dependency_add :one
-- Make a task wait for another of the same project. Answers whether the edge is
-- new; no row when either task is missing. The cycle trigger refuses a cycle.
WITH ends AS (
    SELECT t.project_id, t.id AS task_id, other.id AS depends_on_id
      FROM projects p
      JOIN tasks t ON t.project_id = p.id AND t.key = %(key)s
      JOIN tasks other ON other.project_id = p.id AND other.key = %(other)s
     WHERE lower(p.key) = lower(%(project)s)
), added AS (
    INSERT INTO task_dependencies (project_id, task_id, depends_on_id)
    SELECT project_id, task_id, depends_on_id FROM ends
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM added) AS created FROM ends;

-- name: dependency_remove :one
-- Remove an edge; no row when it did not exist.
DELETE FROM task_dependencies d
 USING projects p, tasks t, tasks other
 WHERE lower(p.key) = lower(%(project)s)
   AND t.project_id = p.id AND t.key = %(key)s
   AND other.project_id = p.id AND other.key = %(other)s
   AND d.project_id = p.id AND d.task_id = t.id AND d.depends_on_id = other.id
RETURNING 1;
