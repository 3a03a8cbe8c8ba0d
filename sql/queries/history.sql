-- name: task_history :one
-- A task's status history, oldest first (idx_task_history_project_task). No row
-- at all when the task does not exist.
SELECT json_build_object(
           'items', coalesce(json_agg(task_history_json(h, t.key) ORDER BY h.id)
                                 FILTER (WHERE h.id IS NOT NULL), '[]'::json),
           'next', NULL)::text
  FROM tasks t
  JOIN projects p ON p.id = t.project_id
  LEFT JOIN task_history h ON h.project_id = t.project_id AND h.task_id = t.id
 WHERE lower(p.key) = lower(%(project)s) AND t.key = %(key)s
 GROUP BY t.id;

-- name: project_history :one
-- The project's activity feed: changes newest first, optionally only those after
-- `since`, a page at a time before the cursor (idx_task_history_project_changed_at).
WITH project AS (
    SELECT id FROM projects WHERE lower(key) = lower(%(project)s)
), page AS (
    SELECT h.id, h.changed_at, task_history_json(h, t.key) AS doc
      FROM task_history h
      JOIN tasks t ON t.project_id = h.project_id AND t.id = h.task_id
     WHERE h.project_id = (SELECT id FROM project)
       AND (%(since)s::timestamptz IS NULL OR h.changed_at > %(since)s::timestamptz)
       AND (%(before_changed_at)s::timestamptz IS NULL
            OR (h.changed_at, h.id) < (%(before_changed_at)s::timestamptz, %(before_id)s))
     ORDER BY h.changed_at DESC, h.id DESC
     LIMIT %(limit)s + 1
), numbered AS (
    SELECT id, changed_at, doc, row_number() OVER (ORDER BY changed_at DESC, id DESC) AS n FROM page
)
SELECT json_build_object(
    'items', coalesce(json_agg(doc ORDER BY n) FILTER (WHERE n <= %(limit)s), '[]'::json),
    'next', max(api_cursor(to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                           id::text))
            FILTER (WHERE n = %(limit)s AND EXISTS (SELECT 1 FROM numbered later WHERE later.n > %(limit)s)))::text
  FROM numbered
HAVING EXISTS (SELECT 1 FROM project);
