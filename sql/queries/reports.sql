-- Saved reports (the computed sprint report is report.sql).

-- name: report_insert :one
-- A saved report, of a project named by key or of none. Answers the report, or
-- none and whether the project was found.
WITH found AS (
    SELECT p.id AS project_id, p.key AS project_key
      FROM (SELECT 1) one
      LEFT JOIN projects p ON lower(p.key) = lower(%(project)s)
), added AS (
    INSERT INTO reports AS r (report_type, title, sprint_id, project_id, created_by, parameters, content)
    SELECT %(report_type)s, %(title)s, %(sprint_id)s, f.project_id, %(created_by)s, %(parameters)s,
           %(content)s
      FROM found f
     WHERE %(project)s::text IS NULL OR f.project_id IS NOT NULL
    RETURNING r AS report
)
SELECT (SELECT report_json(added.report, f.project_key)::text FROM added),
       %(project)s::text IS NULL OR f.project_id IS NOT NULL AS project_found
  FROM found f;

-- name: report_get :one
SELECT report_json(r, p.key)::text
  FROM reports r LEFT JOIN projects p ON p.id = r.project_id
 WHERE r.id = %(id)s;

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
SELECT api_page(
    coalesce(array_to_json(array_agg(report_json(r, p.key) ORDER BY n) FILTER (WHERE n <= %(limit)s)), '[]'::json),
    max(api_cursor(r.id::text)) FILTER (WHERE n = %(limit)s AND EXISTS (
                SELECT 1 FROM numbered later WHERE later.n > %(limit)s)))::text
  FROM numbered
  JOIN reports r ON r.id = numbered.id
  LEFT JOIN projects p ON p.id = r.project_id;

-- name: report_delete :one
DELETE FROM reports WHERE id = %(id)s RETURNING id;
