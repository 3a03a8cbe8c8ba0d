-- Team capacities: what each person can take on in a sprint.

-- name: capacity_upsert :one
-- Set a person's capacity and allocation in a sprint. Answers it and whether it is
-- new; no row when the sprint does not exist.
INSERT INTO team_capacities AS c (sprint_id, user_id, capacity_points, allocated_points)
SELECT s.id, %(user_id)s, %(capacity_points)s, %(allocated_points)s
  FROM sprints s
 WHERE s.id = %(sprint_id)s
ON CONFLICT (sprint_id, user_id) DO UPDATE
   SET capacity_points = excluded.capacity_points, allocated_points = excluded.allocated_points
RETURNING capacity_json(c)::text, (xmax = 0) AS created;

-- name: capacity_list :one
-- A sprint's capacities, person by person; no row when the sprint does not exist.
SELECT api_page(
    coalesce((SELECT array_to_json(array_agg(capacity_json(c) ORDER BY c.user_id))
                         FROM team_capacities c WHERE c.sprint_id = s.id), '[]'::json),
    NULL)::text
  FROM sprints s
 WHERE s.id = %(sprint_id)s;

-- name: capacity_delete :one
DELETE FROM team_capacities WHERE sprint_id = %(sprint_id)s AND user_id = %(user_id)s RETURNING id;
