-- Statements about one project, written as sql/queries/tasks.sql says: filtered
-- by project_id = %(project_id)s, first column the project's key or NULL.

-- name: task_history :one
-- A task's status history, oldest first (idx_task_history_project_task).
-- Answers (project, the history or NULL when the task does not exist).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), task AS (
    SELECT t.project_id, t.id, t.key FROM tasks t JOIN project ON project.id = t.project_id
     WHERE t.project_id = %(project_id)s AND t.key = %(key)s
)
SELECT (SELECT key FROM project),
       (SELECT api_page(
                   coalesce(array_to_json(array_agg(task_history_json(h, task.key) ORDER BY h.id)
                                         FILTER (WHERE h.id IS NOT NULL)), '[]'::json),
                   NULL)::text
          FROM task
          LEFT JOIN task_history h ON h.project_id = %(project_id)s AND h.task_id = task.id
         GROUP BY task.id);

-- name: project_history :one
-- The project's activity feed: changes newest first, optionally only those after
-- `since`, a page at a time before the cursor (idx_task_history_project_changed_at).
-- changed_at is the writing transaction's start, so `since` can miss a change
-- that committed late; the answer's `poll` token misses none.
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), page AS (
    SELECT h.id, h.changed_at, task_history_json(h, t.key) AS doc
      FROM task_history h
      JOIN tasks t ON t.project_id = %(project_id)s AND t.id = h.task_id
     WHERE h.project_id = %(project_id)s AND EXISTS (SELECT 1 FROM project)
       AND (%(since)s::timestamptz IS NULL OR h.changed_at > %(since)s::timestamptz)
       AND (%(before_changed_at)s::timestamptz IS NULL
            OR (h.changed_at, h.id) < (%(before_changed_at)s::timestamptz, %(before_id)s))
     ORDER BY h.changed_at DESC, h.id DESC
     LIMIT %(limit)s + 1
), numbered AS (
    SELECT id, changed_at, doc, row_number() OVER (ORDER BY changed_at DESC, id DESC) AS n FROM page
)
SELECT (SELECT key FROM project), row_to_json(d)::text
  FROM (SELECT coalesce(array_to_json(array_agg(doc ORDER BY n) FILTER (WHERE n <= %(limit)s)), '[]'::json)
                   AS items,
               max(api_cursor(to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                              id::text))
                   FILTER (WHERE n = %(limit)s AND EXISTS (SELECT 1 FROM numbered later WHERE later.n > %(limit)s))
                   AS next,
               -- Polling from here returns what this answer's snapshot did not see.
               api_cursor(pg_current_snapshot()::text, '-', '0', '0') AS poll
          FROM numbered) d;

-- name: project_history_poll :one
-- The changes committed since the answer that gave the poll token, oldest
-- transaction first, with the next token. A token holds the snapshot of that
-- answer (`lower`): a change is new when its transaction was not visible in
-- it. A page is bounded by a snapshot too (`upper`, the current one unless the
-- token continues a full page), so the rows of one window are paged in a fixed
-- order and the next window starts exactly where it ends: every committed
-- change is returned once, however transactions interleave; a transaction
-- still running is returned once it has committed
-- (idx_task_history_project_transaction).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), window_ AS (
    SELECT %(lower)s::pg_snapshot AS lower,
           coalesce(%(upper)s::pg_snapshot, pg_current_snapshot()) AS upper
), page AS (
    SELECT h.id, h.transaction_id, task_history_json(h, t.key) AS doc
      FROM window_ w, task_history h
      JOIN tasks t ON t.project_id = %(project_id)s AND t.id = h.task_id
     WHERE h.project_id = %(project_id)s AND EXISTS (SELECT 1 FROM project)
       AND h.transaction_id >= pg_snapshot_xmin(w.lower)
       AND (h.transaction_id, h.id) > (%(after_xid)s::xid8, %(after_id)s::bigint)
       AND NOT pg_visible_in_snapshot(h.transaction_id, w.lower)
       AND pg_visible_in_snapshot(h.transaction_id, w.upper)
     ORDER BY h.transaction_id, h.id
     LIMIT %(limit)s + 1
), numbered AS (
    SELECT id, transaction_id, doc, row_number() OVER (ORDER BY transaction_id, id) AS n FROM page
)
SELECT (SELECT key FROM project), row_to_json(d)::text
  FROM (SELECT coalesce(array_to_json(array_agg(doc ORDER BY n) FILTER (WHERE n <= %(limit)s)), '[]'::json)
                   AS items,
               NULL AS next,
               coalesce(
                   -- A full page: the same window, after its last row.
                   max(api_cursor((SELECT lower::text FROM window_), (SELECT upper::text FROM window_),
                                  transaction_id::text, id::text))
                       FILTER (WHERE n = %(limit)s AND EXISTS (SELECT 1 FROM numbered later
                                                                WHERE later.n > %(limit)s)),
                   -- Otherwise the window is done: the next one starts at its upper end.
                   (SELECT api_cursor(upper::text, '-', '0', '0') FROM window_)) AS poll
          FROM numbered) d;
