-- Statements about one project, written as sql/queries/tasks.sql says: filtered
-- by project_id = %(project_id)s, first column the project's key or NULL.

-- name: task_next :one
-- The ready task an agent would get next: pending, no dependency unfinished
-- (neither completed nor cancelled), highest priority first, oldest first. The
-- first entry of idx_tasks_ready, however many tasks wait. Changes nothing.
-- Answers (project, document or NULL when none is ready).
WITH project AS (
    SELECT p.id, p.key FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), task_rows AS (
    SELECT t.*
      FROM tasks t
     WHERE t.project_id = %(project_id)s AND EXISTS (SELECT 1 FROM project)
       AND t.status = 'pending' AND t.unfinished_dependencies = 0
     ORDER BY t.priority DESC, t.created_at, t.id
     LIMIT 1
), documents AS (
    {{task_document}}
)
SELECT (SELECT key FROM project), (SELECT doc FROM documents);

-- name: task_claim_context :fragment
-- The first CTEs of both claims: the project (its lease settings) and the agent
-- that history names for the claim.
project AS (
    SELECT p.id, p.key, p.default_lease_seconds, p.max_lease_seconds
      FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), who AS (
    SELECT set_config('worktrack.actor', %(agent)s, true) AS actor,
           set_config('worktrack.note', 'claimed', true) AS note
)

-- name: task_claim_update :fragment
-- The write of a claim, shared by task_claim_next_any and task_claim_next: the
-- row in `picked` goes in progress under the agent, with a lease; each claim
-- counts as an attempt; the history row names the agent. The lease is the one
-- asked for, else the project's default, and never longer than its maximum.
UPDATE tasks t
   SET status = 'in_progress',
       claimed_by = %(agent)s,
       claimed_at = now(),
       lease_expires_at = now() + make_interval(secs => least(
           coalesce(%(lease_seconds)s::int, project.default_lease_seconds), project.max_lease_seconds)),
       attempts = t.attempts + 1
  FROM picked, who, project
 WHERE t.project_id = %(project_id)s AND t.project_id = project.id
   AND t.project_id = picked.project_id AND t.id = picked.id
RETURNING t.*

-- name: task_claim_next_any :one
-- Hand the best ready task of a project to an agent, with a lease, in one
-- statement: the first entry of idx_tasks_ready. Concurrent claimers skip rows
-- another claimer has locked, so no task goes out twice and no claimer waits. A
-- reopened dependency counts on the task's own row, so the lock taken here also
-- keeps out a task whose dependency is being reopened (and the count is checked
-- again on the locked row). Written without the optional filters of
-- task_claim_next so that it is prepared with one generic plan: planning the
-- filtered statement each time costs more than running it.
-- Answers (project, document or NULL when none is ready).
WITH {{task_claim_context}}, picked AS (
    SELECT t.project_id, t.id
      FROM tasks t
     WHERE t.project_id = %(project_id)s
       AND t.status = 'pending' AND t.unfinished_dependencies = 0
     ORDER BY t.priority DESC, t.created_at, t.id
     LIMIT 1
       FOR UPDATE OF t SKIP LOCKED
), task_rows AS (
    {{task_claim_update}}
), documents AS (
    {{task_document}}
)
SELECT (SELECT key FROM project), (SELECT doc FROM documents);

-- name: task_claim_next :one
-- task_claim_next_any within a feature, an epic or an agent type, each filter
-- off when its parameter is NULL (idx_tasks_ready_feature and _agent_type serve
-- them). The service plans it for the actual values each time, so the plan
-- folds the unused filters away and walks the index of the one named.
-- Answers (project, document or NULL when none is ready).
WITH {{task_claim_context}}, picked AS (
    SELECT t.project_id, t.id
      FROM tasks t
     WHERE t.project_id = %(project_id)s
       AND t.status = 'pending' AND t.unfinished_dependencies = 0
       AND (%(agent_type)s::text IS NULL OR t.agent_type = %(agent_type)s)
       AND (%(feature)s::text IS NULL OR t.feature_id = (
                SELECT f.id FROM features f WHERE f.project_id = %(project_id)s AND f.key = %(feature)s))
       AND (%(epic)s::text IS NULL OR t.feature_id = ANY (ARRAY(
                SELECT f.id FROM features f JOIN epics e ON e.project_id = f.project_id AND e.id = f.epic_id
                 WHERE f.project_id = %(project_id)s AND e.key = %(epic)s)))
     ORDER BY t.priority DESC, t.created_at, t.id
     LIMIT 1
       FOR UPDATE OF t SKIP LOCKED
), task_rows AS (
    {{task_claim_update}}
), documents AS (
    {{task_document}}
)
SELECT (SELECT key FROM project), (SELECT doc FROM documents);

-- name: task_heartbeat :one
-- Extend the lease of the agent that holds the task, unless its lease has
-- already run out (the task may be handed to another agent). The lease is the
-- one asked for, else the project's default, at most its maximum.
-- Answers (project, task found, document or NULL when the agent does not hold it).
WITH project AS (
    SELECT p.id, p.key, p.default_lease_seconds, p.max_lease_seconds
      FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), task_rows AS (
    UPDATE tasks t
       SET lease_expires_at = now() + make_interval(secs => least(
               coalesce(%(lease_seconds)s::int, project.default_lease_seconds), project.max_lease_seconds))
      FROM project
     WHERE t.project_id = %(project_id)s AND t.project_id = project.id AND t.key = %(key)s
       AND t.status = 'in_progress' AND t.claimed_by = %(agent)s AND t.lease_expires_at > now()
    RETURNING t.*
), documents AS (
    {{task_document}}
)
SELECT (SELECT key FROM project),
       EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = %(project_id)s AND t.key = %(key)s),
       (SELECT doc FROM documents);

-- name: task_reclaim_expired :one
-- Return a project's tasks whose lease ran out to pending, each with a history
-- row, so they can be claimed again; a task whose attempts reached the
-- project's max_attempts is blocked instead, with the reason, and no longer
-- handed out. Expired leases are found among the project's tasks in progress
-- (idx_tasks_project_status; no index names the lease, so heartbeats stay
-- HOT). A bounded batch per call; locked rows are skipped: an agent may be
-- completing that task right now. Answers (project, how many were returned).
WITH who AS (
    SELECT set_config('worktrack.actor', 'lease-expiry', true) AS actor,
           set_config('worktrack.note', 'lease expired', true) AS note
), project AS (
    SELECT p.id, p.key, p.max_attempts
      FROM projects p WHERE p.id = %(project_id)s AND lower(p.key) = lower(%(project)s)
), expired AS (
    SELECT project_id, id
      FROM tasks
     WHERE project_id = %(project_id)s AND status = 'in_progress'
       AND lease_expires_at < now()
     LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED
), reclaimed AS (
    UPDATE tasks t
       SET status = CASE WHEN t.attempts >= project.max_attempts THEN 'blocked' ELSE 'pending' END,
           blocked_reason = CASE WHEN t.attempts >= project.max_attempts
                                 THEN format('lease expired after %%s of %%s attempts', t.attempts,
                                             project.max_attempts)
                                 ELSE t.blocked_reason END,
           claimed_by = CASE WHEN t.attempts >= project.max_attempts THEN NULL ELSE t.claimed_by END,
           claimed_at = CASE WHEN t.attempts >= project.max_attempts THEN NULL ELSE t.claimed_at END
      FROM expired, who, project
     WHERE t.project_id = %(project_id)s AND t.project_id = project.id
       AND t.project_id = expired.project_id AND t.id = expired.id
    RETURNING t.id
)
SELECT (SELECT key FROM project), (SELECT count(*) FROM reclaimed);
