-- name: task_insert_many :one
-- Create tasks from a JSON array in one statement, so a batch lands whole or not
-- at all. Feature keys are resolved inside the project; an unknown one becomes
-- feature id -1, so that fk_tasks_feature refuses the statement instead of the
-- task silently losing its feature. No row is inserted when the project is missing.
WITH project AS (
    SELECT id FROM projects WHERE lower(key) = lower(%(project)s)
), inserted AS (
    INSERT INTO tasks AS t (
        project_id, feature_id, sprint_id, assignee_id, key, title, description, status,
        priority, agent_type, generator_name, inputs, expected_outputs, context_notes,
        completion_notes, blocked_reason, file_path, story_points, metadata)
    SELECT project.id,
           CASE WHEN r.feature IS NOT NULL THEN coalesce(f.id, -1) END,
           r.sprint, r.assignee, r.key, r.title, r.description, r.status,
           r.priority, r.agent_type, r.generator_name, r.inputs, r.expected_outputs, r.context_notes,
           r.completion_notes, r.blocked_reason, r.file_path, r.story_points, r.metadata
      FROM project
     CROSS JOIN ROWS FROM (jsonb_to_recordset(%(tasks)s::jsonb) AS (
                feature text, sprint bigint, assignee bigint, key text, title text,
                description text, status text, priority smallint, agent_type text,
                generator_name text, inputs jsonb, expected_outputs jsonb, context_notes text,
                completion_notes text, blocked_reason text, file_path text,
                story_points numeric, metadata jsonb))
           WITH ORDINALITY AS r
      LEFT JOIN features f ON f.project_id = project.id AND f.key = r.feature
     ORDER BY r.ordinality
    RETURNING t.id, task_json(t) AS doc
)
SELECT count(*) AS inserted, coalesce(json_agg(doc ORDER BY id), '[]'::json)::text AS items
  FROM inserted;

-- name: task_missing_features :one
-- Which of these feature keys the project lacks (to explain a refused insert).
SELECT coalesce(array_agg(wanted.key ORDER BY wanted.key), '{}')
  FROM unnest(%(features)s::text[]) AS wanted (key)
 WHERE NOT EXISTS (
        SELECT 1 FROM features f JOIN projects p ON p.id = f.project_id
         WHERE lower(p.key) = lower(%(project)s) AND f.key = wanted.key);

-- name: task_get :one
-- One task by project key and task key (served by uq_tasks_project_id_key).
SELECT task_json(t)::text
  FROM tasks t JOIN projects p ON p.id = t.project_id
 WHERE lower(p.key) = lower(%(project)s) AND t.key = %(key)s;

-- name: task_exists :one
SELECT EXISTS (
    SELECT 1 FROM tasks t JOIN projects p ON p.id = t.project_id
     WHERE lower(p.key) = lower(%(project)s) AND t.key = %(key)s);

-- name: task_list :one
-- A filtered page of tasks in (project_id, id) order after the cursor, within one
-- project or across all. Each filter is off when its parameter is NULL (the
-- service never prepares this statement, so each plan is made for the actual
-- values and the unused branches fold away). No row
-- at all when a project was named that does not exist.
WITH project AS (
    SELECT id FROM projects WHERE lower(key) = lower(%(project)s)
), page AS (
    SELECT t.project_id, t.id
      FROM tasks t
     WHERE (%(project)s::text IS NULL OR t.project_id = (SELECT id FROM project))
       AND (t.project_id, t.id) > (%(after_project_id)s, %(after_id)s)
       AND (%(statuses)s::text[] IS NULL OR t.status = ANY (%(statuses)s::text[]))
       AND (%(agent_type)s::text IS NULL OR t.agent_type = %(agent_type)s)
       AND t.priority BETWEEN %(priority_min)s AND %(priority_max)s
       AND (%(feature)s::text IS NULL OR t.feature_id IN (
                SELECT f.id FROM features f WHERE f.project_id = t.project_id AND f.key = %(feature)s))
       AND (%(epic)s::text IS NULL OR t.feature_id IN (
                SELECT f.id FROM features f JOIN epics e ON e.project_id = f.project_id AND e.id = f.epic_id
                 WHERE f.project_id = t.project_id AND e.key = %(epic)s))
       AND (%(sprint)s::bigint IS NULL OR t.sprint_id = %(sprint)s)
       AND (%(assignee)s::bigint IS NULL OR t.assignee_id = %(assignee)s)
       AND (%(input)s::jsonb IS NULL OR t.inputs @> %(input)s::jsonb)
       AND (%(text)s::text IS NULL OR t.title ILIKE %(text)s OR t.description ILIKE %(text)s)
     ORDER BY t.project_id, t.id
     LIMIT %(limit)s + 1
), numbered AS (
    SELECT project_id, id, row_number() OVER (ORDER BY project_id, id) AS n FROM page
)
-- Documents are built only for the rows of the page, after the sort and limit.
SELECT json_build_object(
    'items', coalesce(json_agg(task_json(t) ORDER BY n) FILTER (WHERE n <= %(limit)s), '[]'::json),
    'next', max(api_cursor(t.project_id::text, t.id::text)) FILTER (WHERE n = %(limit)s AND EXISTS (
                SELECT 1 FROM numbered later WHERE later.n > %(limit)s)))::text
  FROM numbered
  JOIN tasks t ON t.project_id = numbered.project_id AND t.id = numbered.id
HAVING %(project)s::text IS NULL OR EXISTS (SELECT 1 FROM project);

-- name: task_update :one
-- A partial update: fields present in the patch replace the row's values. The
-- feature is named by key and resolved in the task's project (-1 when unknown,
-- so fk_tasks_feature refuses it). Status changes go through task_set_status.
UPDATE tasks t
   SET (title, description, priority, agent_type, generator_name, assignee_id, sprint_id,
        inputs, expected_outputs, context_notes, completion_notes, blocked_reason, file_path,
        story_points, metadata) =
       (SELECT r.title, r.description, r.priority, r.agent_type, r.generator_name, r.assignee_id,
               r.sprint_id, r.inputs, r.expected_outputs, r.context_notes, r.completion_notes,
               r.blocked_reason, r.file_path, r.story_points, r.metadata
          FROM jsonb_populate_record(t, %(patch)s::jsonb) r),
       feature_id = CASE
           WHEN NOT %(patch)s::jsonb ? 'feature' THEN t.feature_id
           WHEN %(patch)s::jsonb ->> 'feature' IS NULL THEN NULL
           ELSE coalesce((SELECT f.id FROM features f
                           WHERE f.project_id = t.project_id AND f.key = %(patch)s::jsonb ->> 'feature'), -1)
       END
  FROM projects p
 WHERE p.id = t.project_id AND lower(p.key) = lower(%(project)s) AND t.key = %(key)s
RETURNING task_json(t)::text;

-- name: task_set_status :one
-- Move a task to another status. The lifecycle trigger refuses a move the
-- transitions table does not allow; the history trigger records it with the
-- actor and note set here for this statement only. A note also becomes the
-- blocked reason or the completion notes when the task is blocked or completed.
-- Evidence (a JSON object: commit, tests, files) replaces the task's and is
-- recorded on the history row of this change.
-- No row when the task is missing, or held by another agent than the one named.
WITH who AS (
    SELECT set_config('worktrack.actor', %(actor)s, true) AS actor,
           set_config('worktrack.note', coalesce(%(note)s, ''), true) AS note
)
UPDATE tasks t
   SET status = %(status)s,
       blocked_reason = CASE WHEN %(status)s = 'blocked' THEN coalesce(%(note)s, t.blocked_reason)
                             ELSE t.blocked_reason END,
       completion_notes = CASE WHEN %(status)s = 'completed' THEN coalesce(%(note)s, t.completion_notes)
                               ELSE t.completion_notes END,
       evidence = coalesce(%(evidence)s::jsonb, t.evidence)
  FROM projects p, who
 WHERE p.id = t.project_id AND lower(p.key) = lower(%(project)s) AND t.key = %(key)s
   -- An agent that names itself must still hold the task it moves out of in_progress.
   AND (%(agent)s::text IS NULL OR t.status <> 'in_progress'
        OR (t.claimed_by = %(agent)s AND t.lease_expires_at > now()))
RETURNING task_json(t)::text;

-- name: task_delete :one
-- Delete a task; its history and dependency edges go with it.
DELETE FROM tasks t
 USING projects p
 WHERE p.id = t.project_id AND lower(p.key) = lower(%(project)s) AND t.key = %(key)s
RETURNING t.id;
