-- Every statement here is about one project: it is filtered by
-- `project_id = %(project_id)s` (the id service.queries.projects resolved from
-- the key, so a distributed planner can route it to one shard) and checks in
-- the same statement that the id still belongs to the key (`project`). Its
-- first column is the project's stored key, NULL when the project is missing
-- (or the id was stale: the caller then resolves the key again and retries
-- once); the other columns say what was found, so no second question is asked.

-- name: task_insert_many :one
-- Create tasks from a JSON array in one statement, so a batch lands whole or not
-- at all. Feature keys are resolved inside the project; when any is unknown,
-- nothing is inserted and the answer lists the unknown keys.
-- Answers (project, missing feature keys, count inserted, documents as a JSON array).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), wanted AS (
    SELECT r.*, f.id AS feature_id
      FROM ROWS FROM (jsonb_to_recordset(%(tasks)s::jsonb) AS (
                feature text, sprint bigint, assignee bigint, key text, title text,
                description text, status text, priority smallint, agent_type text,
                generator_name text, inputs jsonb, expected_outputs jsonb, context_notes text,
                completion_notes text, blocked_reason text, file_path text,
                story_points numeric, metadata jsonb))
           WITH ORDINALITY AS r
      LEFT JOIN features f ON f.project_id = %(project_id)s AND f.key = r.feature
), missing AS (
    SELECT array_agg(DISTINCT feature ORDER BY feature) AS keys
      FROM wanted WHERE feature IS NOT NULL AND feature_id IS NULL
), task_rows AS (
    INSERT INTO tasks AS t (
        project_id, feature_id, sprint_id, assignee_id, key, title, description, status,
        priority, agent_type, generator_name, inputs, expected_outputs, context_notes,
        completion_notes, blocked_reason, file_path, story_points, metadata)
    SELECT %(project_id)s, w.feature_id, w.sprint, w.assignee, w.key, w.title, w.description, w.status,
           w.priority, w.agent_type, w.generator_name, w.inputs, w.expected_outputs, w.context_notes,
           w.completion_notes, w.blocked_reason, w.file_path, w.story_points, w.metadata
      FROM project CROSS JOIN wanted w
     WHERE (SELECT keys FROM missing) IS NULL
     ORDER BY w.ordinality
    RETURNING t.*
), documents AS (
    {{task_document}}
)
SELECT (SELECT key FROM project), (SELECT keys FROM missing), count(*),
       '[' || coalesce(string_agg(doc, ',' ORDER BY id), '') || ']'
  FROM documents;

-- name: task_get :one
-- One task by key (uq_tasks_project_id_key). Answers (project, document or NULL).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), task_rows AS (
    SELECT t.* FROM tasks t JOIN project ON project.id = t.project_id
     WHERE t.project_id = %(project_id)s AND t.key = %(key)s
), documents AS (
    {{task_document}}
)
SELECT (SELECT key FROM project), (SELECT doc FROM documents);

-- name: task_list :one
-- A filtered page of a project's tasks in id order after the cursor. Each filter
-- is off when its parameter is NULL (the service never prepares this statement,
-- so each plan is made for the actual values and the unused branches fold
-- away); one status is compared with `=`, so idx_tasks_project_status_id gives
-- the page in order and the scan stops after it. Documents are built only for
-- the rows of the page, after the limit. Answers (project, page document).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), page AS (
    SELECT t.*, row_number() OVER (ORDER BY t.id) AS n
      FROM tasks t
     WHERE t.project_id = %(project_id)s AND EXISTS (SELECT 1 FROM project)
       AND t.id > %(after_id)s
       AND (%(status)s::text IS NULL OR t.status = %(status)s::text)
       AND (%(statuses)s::text[] IS NULL OR t.status = ANY (%(statuses)s::text[]))
       AND (%(agent_type)s::text IS NULL OR t.agent_type = %(agent_type)s)
       AND t.priority BETWEEN %(priority_min)s AND %(priority_max)s
       AND (%(feature)s::text IS NULL OR t.feature_id IN (
                SELECT f.id FROM features f WHERE f.project_id = %(project_id)s AND f.key = %(feature)s))
       AND (%(epic)s::text IS NULL OR t.feature_id IN (
                SELECT f.id FROM features f JOIN epics e ON e.project_id = f.project_id AND e.id = f.epic_id
                 WHERE f.project_id = %(project_id)s AND e.key = %(epic)s))
       AND (%(sprint)s::bigint IS NULL OR t.sprint_id = %(sprint)s)
       AND (%(assignee)s::bigint IS NULL OR t.assignee_id = %(assignee)s)
       AND (%(input)s::jsonb IS NULL OR t.inputs @> %(input)s::jsonb)
       AND (%(text)s::text IS NULL OR t.title ILIKE %(text)s OR t.description ILIKE %(text)s)
     ORDER BY t.id
     LIMIT %(limit)s + 1
), task_rows AS (
    SELECT * FROM page WHERE n <= %(limit)s
), documents AS (
    {{task_document}}
)
SELECT (SELECT key FROM project),
       '{"items":[' || coalesce((SELECT string_agg(doc, ',' ORDER BY id) FROM documents), '')
       || '],"next":'
       || coalesce((SELECT to_json(api_cursor(project_id::text, id::text))::text
                      FROM page WHERE n = %(limit)s AND EXISTS (SELECT 1 FROM page WHERE n > %(limit)s)),
                   'null')
       || '}';

-- name: task_list_status :one
-- task_list filtered by one status and nothing else: the board's and the
-- agents' common page, written without optional filters so that it can be
-- prepared (planning the whole page statement costs more than running it).
-- The page comes in order from idx_tasks_project_status_id. Answers (project, page).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), page AS (
    SELECT t.*, row_number() OVER (ORDER BY t.id) AS n
      FROM tasks t
     WHERE t.project_id = %(project_id)s AND EXISTS (SELECT 1 FROM project)
       AND t.status = %(status)s AND t.id > %(after_id)s
     ORDER BY t.id
     LIMIT %(limit)s + 1
), task_rows AS (
    SELECT * FROM page WHERE n <= %(limit)s
), documents AS (
    {{task_document}}
)
SELECT (SELECT key FROM project),
       '{"items":[' || coalesce((SELECT string_agg(doc, ',' ORDER BY id) FROM documents), '')
       || '],"next":'
       || coalesce((SELECT to_json(api_cursor(project_id::text, id::text))::text
                      FROM page WHERE n = %(limit)s AND EXISTS (SELECT 1 FROM page WHERE n > %(limit)s)),
                   'null')
       || '}';

-- name: task_list_all :one
-- A filtered page of tasks across all projects in (project_id, id) order after
-- the cursor: the one task statement not about one project (GET /tasks). It names
-- the projects the caller may see (row-level security filters projects), so the
-- scan reads those projects' index ranges and no other rows (the policies are
-- filters, not index conditions: 0043).
WITH page AS (
    SELECT t.*, row_number() OVER (ORDER BY t.project_id, t.id) AS n
      FROM tasks t
     WHERE t.project_id = ANY (ARRAY(SELECT p.id FROM projects p))
       AND (t.project_id, t.id) > (%(after_project_id)s, %(after_id)s)
       AND (%(status)s::text IS NULL OR t.status = %(status)s::text)
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
), task_rows AS (
    SELECT * FROM page WHERE n <= %(limit)s
), documents AS (
    {{task_document}}
)
SELECT '{"items":[' || coalesce((SELECT string_agg(doc, ',' ORDER BY project_id, id) FROM documents), '')
       || '],"next":'
       || coalesce((SELECT to_json(api_cursor(project_id::text, id::text))::text
                      FROM page WHERE n = %(limit)s AND EXISTS (SELECT 1 FROM page WHERE n > %(limit)s)),
                   'null')
       || '}';

-- name: task_update :one
-- A partial update: fields present in the patch replace the row's values. The
-- feature is named by key and resolved in the project; an unknown one changes
-- nothing and is answered as missing. Status changes go through task_set_status.
-- Answers (project, task found, feature missing, document or NULL).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), feature AS (
    SELECT %(patch)s::jsonb ->> 'feature' AS key,
           (SELECT f.id FROM features f
             WHERE f.project_id = %(project_id)s AND f.key = %(patch)s::jsonb ->> 'feature') AS id
), task_rows AS (
    UPDATE tasks t
       SET (title, description, priority, agent_type, generator_name, assignee_id, sprint_id,
            inputs, expected_outputs, context_notes, completion_notes, blocked_reason, file_path,
            story_points, metadata) =
           (SELECT r.title, r.description, r.priority, r.agent_type, r.generator_name, r.assignee_id,
                   r.sprint_id, r.inputs, r.expected_outputs, r.context_notes, r.completion_notes,
                   r.blocked_reason, r.file_path, r.story_points, r.metadata
              FROM jsonb_populate_record(t, %(patch)s::jsonb) r),
           feature_id = CASE WHEN %(patch)s::jsonb ? 'feature' THEN feature.id ELSE t.feature_id END
      FROM project, feature
     WHERE t.project_id = %(project_id)s AND t.project_id = project.id AND t.key = %(key)s
       AND (feature.key IS NULL OR feature.id IS NOT NULL)
    RETURNING t.*
), documents AS (
    {{task_document}}
)
SELECT (SELECT key FROM project),
       EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = %(project_id)s AND t.key = %(key)s),
       (SELECT key IS NOT NULL AND id IS NULL FROM feature),
       (SELECT doc FROM documents);

-- name: task_set_status :one
-- Move a task to another status. The lifecycle trigger refuses a move the
-- transitions table does not allow; the history trigger records it with the
-- actor and note set here for this statement only. A note also becomes the
-- blocked reason or the completion notes when the task is blocked or completed.
-- Evidence (a JSON object: commit, tests, files) replaces the task's and is
-- recorded on the history row of this change. An agent that names itself must
-- still hold the task it moves out of in_progress.
-- Answers (project, task found, document or NULL: held by another agent).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), who AS (
    SELECT set_config('worktrack.actor', %(actor)s, true) AS actor,
           set_config('worktrack.note', coalesce(%(note)s, ''), true) AS note
), task_rows AS (
    UPDATE tasks t
       SET status = %(status)s,
           blocked_reason = CASE WHEN %(status)s = 'blocked' THEN coalesce(%(note)s, t.blocked_reason)
                                 ELSE t.blocked_reason END,
           completion_notes = CASE WHEN %(status)s = 'completed' THEN coalesce(%(note)s, t.completion_notes)
                                   ELSE t.completion_notes END,
           evidence = coalesce(%(evidence)s::jsonb, t.evidence)
      FROM project, who
     WHERE t.project_id = %(project_id)s AND t.project_id = project.id AND t.key = %(key)s
       AND (%(agent)s::text IS NULL OR t.status <> 'in_progress'
            OR (t.claimed_by = %(agent)s AND t.lease_expires_at > now()))
    RETURNING t.*
), documents AS (
    {{task_document}}
)
SELECT (SELECT key FROM project),
       EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = %(project_id)s AND t.key = %(key)s),
       (SELECT doc FROM documents);

-- name: task_delete :one
-- Delete a task; its history and dependency edges go with it.
-- Answers (project, deleted).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), deleted AS (
    DELETE FROM tasks t
     USING project
     WHERE t.project_id = %(project_id)s AND t.project_id = project.id AND t.key = %(key)s
    RETURNING t.id
)
SELECT (SELECT key FROM project), EXISTS (SELECT 1 FROM deleted);

-- name: task_held_by :one
-- Whether the agent holds the task now (in progress, claimed by it, lease
-- running), with the task's row locked until the change that follows commits.
-- Answers (project, held or NULL when there is no such task).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), held AS (
    SELECT t.status = 'in_progress' AND t.claimed_by = %(agent)s AND t.lease_expires_at > now() AS held
      FROM tasks t JOIN project ON project.id = t.project_id
     WHERE t.project_id = %(project_id)s AND t.key = %(key)s
       FOR UPDATE OF t
)
SELECT (SELECT key FROM project), (SELECT held FROM held);
