-- Sprint queue items: each person's ordered list of work in a sprint (not the
-- agent queue, which is queue.sql).

-- name: sprint_queue_item_insert :one
-- Add a task (by project and key) or a note to a person's queue in a sprint; the
-- position defaults to the end of that person's queue. Answers the item, or none
-- and why: whether the sprint, the project and the task were found.
WITH found AS (
    SELECT s.id AS sprint_id, p.id AS project_id, p.key AS project_key, t.id AS task_id, t.key AS task_key
      FROM (SELECT 1) one
      LEFT JOIN sprints s ON s.id = %(sprint_id)s
      LEFT JOIN projects p ON lower(p.key) = lower(%(project)s)
      LEFT JOIN tasks t ON t.project_id = p.id AND t.key = %(task)s
), added AS (
    INSERT INTO sprint_queue_items AS q (sprint_id, user_id, position, task_project_id, task_id, notes)
    SELECT f.sprint_id, %(user_id)s,
           coalesce(%(position)s, (SELECT coalesce(max(position), 0) + 1 FROM sprint_queue_items
                                    WHERE sprint_id = %(sprint_id)s AND user_id = %(user_id)s)),
           CASE WHEN f.task_id IS NOT NULL THEN f.project_id END, f.task_id, %(notes)s
      FROM found f
     WHERE f.sprint_id IS NOT NULL AND (%(task)s::text IS NULL OR f.task_id IS NOT NULL)
    RETURNING q AS item
)
SELECT (SELECT sprint_queue_item_json(added.item, f.project_key, f.task_key)::text FROM added),
       f.sprint_id IS NOT NULL AS sprint_found,
       %(project)s::text IS NULL OR f.project_id IS NOT NULL AS project_found
  FROM found f;

-- name: sprint_queue_item_list :one
-- A sprint's queues, person by person in position order; no row when the sprint
-- does not exist.
SELECT api_page(
    coalesce((SELECT array_to_json(array_agg(sprint_queue_item_json(q, p.key, t.key) ORDER BY q.user_id, q.position))
                         FROM sprint_queue_items q
                         LEFT JOIN tasks t ON t.project_id = q.task_project_id AND t.id = q.task_id
                         LEFT JOIN projects p ON p.id = q.task_project_id
                        WHERE q.sprint_id = s.id
                          AND (%(user_id)s::bigint IS NULL OR q.user_id = %(user_id)s)), '[]'::json),
    NULL)::text
  FROM sprints s
 WHERE s.id = %(sprint_id)s;

-- name: sprint_queue_item_delete :one
DELETE FROM sprint_queue_items WHERE sprint_id = %(sprint_id)s AND id = %(id)s RETURNING id;
