-- name: report_insert :one
INSERT INTO reports AS r (report_type, title, sprint_id, project_id, created_by, parameters, content)
SELECT %(report_type)s, %(title)s, %(sprint_id)s,
       CASE WHEN %(project)s::text IS NOT NULL
            THEN coalesce((SELECT id FROM projects WHERE lower(key) = lower(%(project)s)), -1) END,
       %(created_by)s, %(parameters)s, %(content)s
RETURNING row_to_json(r)::text;

-- name: report_get :one
SELECT row_to_json(r)::text FROM reports r WHERE r.id = %(id)s;

-- name: report_list :one
-- A page of saved reports, newest id last, optionally of one sprint or type.
WITH page AS (
    SELECT r.id FROM reports r
     WHERE r.id > %(after_id)s
       AND (%(sprint_id)s::bigint IS NULL OR r.sprint_id = %(sprint_id)s)
       AND (%(report_type)s::text IS NULL OR r.report_type = %(report_type)s)
     ORDER BY r.id
     LIMIT %(limit)s + 1
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM page
)
SELECT json_build_object(
    'items', coalesce(json_agg(row_to_json(r) ORDER BY n) FILTER (WHERE n <= %(limit)s), '[]'::json),
    'next', max(api_cursor(r.id::text)) FILTER (WHERE n = %(limit)s AND EXISTS (
                SELECT 1 FROM numbered later WHERE later.n > %(limit)s)))::text
  FROM numbered JOIN reports r ON r.id = numbered.id;

-- name: report_delete :one
DELETE FROM reports WHERE id = %(id)s RETURNING id;

-- name: capacity_upsert :one
-- Set a person's capacity and allocation in a sprint. Answers it and whether it is new.
INSERT INTO team_capacities AS c (sprint_id, user_id, capacity_points, allocated_points)
VALUES (%(sprint_id)s, %(user_id)s, %(capacity_points)s, %(allocated_points)s)
ON CONFLICT (sprint_id, user_id) DO UPDATE
   SET capacity_points = excluded.capacity_points, allocated_points = excluded.allocated_points
RETURNING row_to_json(c)::text, (xmax = 0) AS created;

-- name: capacity_list :one
SELECT json_build_object(
    'items', coalesce((SELECT json_agg(row_to_json(c) ORDER BY c.user_id)
                         FROM team_capacities c WHERE c.sprint_id = s.id), '[]'::json),
    'next', NULL)::text
  FROM sprints s
 WHERE s.id = %(sprint_id)s;

-- name: capacity_delete :one
DELETE FROM team_capacities WHERE sprint_id = %(sprint_id)s AND user_id = %(user_id)s RETURNING id;

-- name: queue_item_insert :one
-- Add a task (by project and key) or a note to a person's queue in a sprint; the
-- position defaults to the end of that person's queue.
INSERT INTO sprint_queue_items AS q (sprint_id, user_id, position, task_project_id, task_id, notes)
SELECT %(sprint_id)s, %(user_id)s,
       coalesce(%(position)s, (SELECT coalesce(max(position), 0) + 1 FROM sprint_queue_items
                                WHERE sprint_id = %(sprint_id)s AND user_id = %(user_id)s)),
       t.project_id, t.id, %(notes)s
  FROM (SELECT 1) one
  LEFT JOIN projects p ON lower(p.key) = lower(%(project)s)
  LEFT JOIN tasks t ON t.project_id = p.id AND t.key = %(task)s
 WHERE %(task)s::text IS NULL OR t.id IS NOT NULL
RETURNING row_to_json(q)::text;

-- name: queue_item_list :one
-- A sprint's queues, person by person in position order.
SELECT json_build_object(
    'items', coalesce((SELECT json_agg(to_jsonb(q) || jsonb_build_object('task', t.key, 'project', p.key)
                                       ORDER BY q.user_id, q.position)
                         FROM sprint_queue_items q
                         LEFT JOIN tasks t ON t.project_id = q.task_project_id AND t.id = q.task_id
                         LEFT JOIN projects p ON p.id = q.task_project_id
                        WHERE q.sprint_id = s.id
                          AND (%(user_id)s::bigint IS NULL OR q.user_id = %(user_id)s)), '[]'::json),
    'next', NULL)::text
  FROM sprints s
 WHERE s.id = %(sprint_id)s;

-- name: queue_item_delete :one
DELETE FROM sprint_queue_items WHERE sprint_id = %(sprint_id)s AND id = %(id)s RETURNING id;
