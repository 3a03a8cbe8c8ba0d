-- name: link_add :one
-- Link a task to another of the same project without making it wait: `related`
-- (stored in both directions, so each task lists the other) or `discovered_from`
-- (the task was found while working on the other). Answers whether the link is
-- new; no row when either task is missing.
WITH ends AS (
    SELECT t.project_id, t.id AS task_id, other.id AS linked_task_id
      FROM projects p
      JOIN tasks t ON t.project_id = p.id AND t.key = %(key)s
      JOIN tasks other ON other.project_id = p.id AND other.key = %(other)s
     WHERE lower(p.key) = lower(%(project)s)
), added AS (
    INSERT INTO task_links (project_id, task_id, linked_task_id, kind)
    SELECT project_id, task_id, linked_task_id, %(kind)s FROM ends
    UNION ALL
    SELECT project_id, linked_task_id, task_id, %(kind)s FROM ends WHERE %(kind)s = 'related'
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM added) AS created FROM ends;

-- name: link_remove :one
-- Remove a link (a related link in both directions); no row when there was none.
WITH ends AS (
    SELECT t.project_id, t.id AS task_id, other.id AS linked_task_id
      FROM projects p
      JOIN tasks t ON t.project_id = p.id AND t.key = %(key)s
      JOIN tasks other ON other.project_id = p.id AND other.key = %(other)s
     WHERE lower(p.key) = lower(%(project)s)
), removed AS (
    DELETE FROM task_links l
     USING ends
     WHERE l.project_id = ends.project_id AND l.kind = %(kind)s
       AND ((l.task_id = ends.task_id AND l.linked_task_id = ends.linked_task_id)
            OR (%(kind)s = 'related' AND l.task_id = ends.linked_task_id AND l.linked_task_id = ends.task_id))
    RETURNING 1
)
SELECT 1 FROM removed LIMIT 1;
