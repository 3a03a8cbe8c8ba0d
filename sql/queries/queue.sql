-- name: task_next :one
-- The ready task an agent would get next: pending, no dependency unfinished
-- (neither completed nor cancelled), highest priority first, oldest first. The
-- first entry of idx_tasks_ready, however many tasks wait. Changes nothing.
SELECT task_json(t)::text
  FROM tasks t
 WHERE t.project_id = (SELECT id FROM projects WHERE lower(key) = lower(%(project)s))
   AND t.status = 'pending' AND t.unfinished_dependencies = 0
 ORDER BY t.priority DESC, t.created_at, t.id
 LIMIT 1;

-- name: task_claim_next :one
-- Hand the best ready task of a project to an agent, with a lease, in one
-- statement. Concurrent claimers skip rows another claimer has locked, so no
-- task goes out twice and no claimer waits. A reopened dependency counts on
-- the task's own row, so the lock taken here also keeps out a task whose
-- dependency is being reopened (and the count is checked again on the locked
-- row). Each claim counts as an attempt; the history row names the agent.
-- Optional filters keep the claim within a feature, an epic or an agent type
-- (idx_tasks_ready_feature and _agent_type serve them). The lease is the
-- one asked for, else the project's default, and never longer than its maximum.
WITH who AS (
    SELECT set_config('worktrack.actor', %(agent)s, true) AS actor,
           set_config('worktrack.note', 'claimed', true) AS note
), picked AS (
    SELECT t.project_id, t.id
      FROM tasks t
     WHERE t.project_id = (SELECT id FROM projects WHERE lower(key) = lower(%(project)s))
       AND t.status = 'pending' AND t.unfinished_dependencies = 0
       AND (%(agent_type)s::text IS NULL OR t.agent_type = %(agent_type)s)
       AND (%(feature)s::text IS NULL OR t.feature_id = (
                SELECT f.id FROM features f
                 WHERE f.project_id = (SELECT id FROM projects WHERE lower(key) = lower(%(project)s))
                   AND f.key = %(feature)s))
       AND (%(epic)s::text IS NULL OR t.feature_id = ANY (ARRAY(
                SELECT f.id FROM features f JOIN epics e ON e.project_id = f.project_id AND e.id = f.epic_id
                 WHERE f.project_id = (SELECT id FROM projects WHERE lower(key) = lower(%(project)s))
                   AND e.key = %(epic)s)))
     ORDER BY t.priority DESC, t.created_at, t.id
     LIMIT 1
       FOR UPDATE OF t SKIP LOCKED
)
UPDATE tasks t
   SET status = 'in_progress',
       claimed_by = %(agent)s,
       claimed_at = now(),
       lease_expires_at = now() + make_interval(secs => (
           SELECT least(coalesce(%(lease_seconds)s::int, p.default_lease_seconds), p.max_lease_seconds)
             FROM projects p WHERE p.id = t.project_id)),
       attempts = t.attempts + 1
  FROM picked, who
 WHERE t.project_id = picked.project_id AND t.id = picked.id
RETURNING task_json(t)::text;

-- name: task_heartbeat :one
-- Extend the lease of the agent that holds the task; no row when it does not hold
-- it, or its lease has already run out (the task may be handed to another agent).
-- The lease is the one asked for, else the project's default, at most its maximum.
UPDATE tasks t
   SET lease_expires_at = now() + make_interval(secs => least(coalesce(%(lease_seconds)s::int, p.default_lease_seconds),
                                            p.max_lease_seconds))
  FROM projects p
 WHERE p.id = t.project_id AND lower(p.key) = lower(%(project)s) AND t.key = %(key)s
   AND t.status = 'in_progress' AND t.claimed_by = %(agent)s AND t.lease_expires_at > now()
RETURNING task_json(t)::text;

-- name: task_reclaim_expired :many
-- Return a project's tasks whose lease ran out to pending, each with a history
-- row, so they can be claimed again; a task whose attempts reached the
-- project's max_attempts is blocked instead, with the reason, and no longer
-- handed out. Expired leases are found among the project's tasks in progress
-- (idx_tasks_project_status; no index names the lease, so heartbeats stay
-- HOT). A bounded batch per call; locked rows are skipped: an agent may be
-- completing that task right now.
WITH who AS (
    SELECT set_config('worktrack.actor', 'lease-expiry', true) AS actor,
           set_config('worktrack.note', 'lease expired', true) AS note
), project AS (
    SELECT id, max_attempts FROM projects WHERE lower(key) = lower(%(project)s)
), expired AS (
    SELECT project_id, id
      FROM tasks
     WHERE project_id = (SELECT id FROM project) AND status = 'in_progress'
       AND lease_expires_at < now()
     LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED
)
UPDATE tasks t
   SET status = CASE WHEN t.attempts >= project.max_attempts THEN 'blocked' ELSE 'pending' END,
       blocked_reason = CASE WHEN t.attempts >= project.max_attempts
                             THEN format('lease expired after %%s of %%s attempts', t.attempts,
                                         project.max_attempts)
                             ELSE t.blocked_reason END,
       claimed_by = CASE WHEN t.attempts >= project.max_attempts THEN NULL ELSE t.claimed_by END,
       claimed_at = CASE WHEN t.attempts >= project.max_attempts THEN NULL ELSE t.claimed_at END
  FROM expired, who, project
 WHERE t.project_id = expired.project_id AND t.id = expired.id
RETURNING t.id;
