-- squawk-ignore-file ban-drop-function -- a rollback drops only what its own migration created
-- Back to 0049: the documents as json_build_object writes them, no api_page.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP FUNCTION IF EXISTS api_page(json, text);

CREATE OR REPLACE FUNCTION capacity_json(c team_capacities) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'id', c.id,
        'sprint_id', c.sprint_id,
        'user_id', c.user_id,
        'capacity_points', c.capacity_points,
        'allocated_points', c.allocated_points,
        'created_at', c.created_at,
        'updated_at', c.updated_at)
$$;

CREATE OR REPLACE FUNCTION progress_json(counted bigint, completed bigint) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'tasks', counted,
        'completed', completed,
        'percent', round(100.0 * completed / nullif(counted, 0), 2))
$$;

CREATE OR REPLACE FUNCTION project_json(p projects) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'key', p.key,
        'name', p.name,
        'description', p.description,
        'is_active', p.is_active,
        'metadata', p.metadata,
        'default_lease_seconds', p.default_lease_seconds,
        'max_lease_seconds', p.max_lease_seconds,
        'max_attempts', p.max_attempts,
        'created_at', p.created_at,
        'updated_at', p.updated_at)
$$;

CREATE OR REPLACE FUNCTION report_json(r reports, project_key text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'id', r.id,
        'report_type', r.report_type,
        'title', r.title,
        'sprint_id', r.sprint_id,
        'project', project_key,
        'created_by', r.created_by,
        'parameters', r.parameters,
        'content', r.content,
        'created_at', r.created_at,
        'updated_at', r.updated_at)
$$;

CREATE OR REPLACE FUNCTION sprint_analysis_json(a sprint_analyses, project_key text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'id', a.id,
        'sprint_id', a.sprint_id,
        'project', project_key,
        'analysis_type', a.analysis_type,
        'total_story_points', a.total_story_points,
        'completed_story_points', a.completed_story_points,
        'total_issues', a.total_issues,
        'completed_issues', a.completed_issues,
        'discipline_breakdown', a.discipline_breakdown,
        'issue_details', a.issue_details,
        'created_at', a.created_at,
        'updated_at', a.updated_at)
$$;

CREATE OR REPLACE FUNCTION sprint_json(s sprints) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'id', s.id,
        'jira_sprint_id', s.jira_sprint_id,
        'name', s.name,
        'state', s.state,
        'start_date', s.start_date,
        'end_date', s.end_date,
        'goal', s.goal,
        'jira_board_id', s.jira_board_id,
        'jira_project_key', s.jira_project_key,
        'timezone', s.timezone,
        'activated_at', s.activated_at,
        'completed_at', s.completed_at,
        'created_at', s.created_at,
        'updated_at', s.updated_at)
$$;

CREATE OR REPLACE FUNCTION sprint_metric_json(m project_sprint_metrics) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'id', m.id,
        'sprint_id', m.sprint_id,
        'workstream_id', m.workstream_id,
        'snapshot_at', m.snapshot_at,
        'issues_total', m.issues_total,
        'issues_completed', m.issues_completed,
        'issues_blocked', m.issues_blocked,
        'bugs', m.bugs,
        'story_points_total', m.story_points_total,
        'story_points_completed', m.story_points_completed,
        'completion_percent', m.completion_percent,
        'velocity', m.velocity,
        'burndown_rate', m.burndown_rate,
        'scope_added_points', m.scope_added_points,
        'scope_removed_points', m.scope_removed_points,
        'team_size', m.team_size,
        'capacity_utilization', m.capacity_utilization,
        'discipline_breakdown', m.discipline_breakdown,
        'status_breakdown', m.status_breakdown,
        'metadata', m.metadata,
        'created_at', m.created_at)
$$;

CREATE OR REPLACE FUNCTION sprint_queue_item_json(q sprint_queue_items, project_key text, task_key text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'id', q.id,
        'sprint_id', q.sprint_id,
        'user_id', q.user_id,
        'position', q.position,
        'project', project_key,
        'task', task_key,
        'notes', q.notes,
        'created_at', q.created_at,
        'updated_at', q.updated_at)
$$;

CREATE OR REPLACE FUNCTION sprint_workstream_json(a project_sprint_associations, project_key text, workstream_name text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'id', a.id,
        'sprint_id', a.sprint_id,
        'workstream_id', a.workstream_id,
        'workstream', workstream_name,
        'project', project_key,
        'association_type', a.association_type,
        'expected_story_points', a.expected_story_points,
        'actual_story_points', a.actual_story_points,
        'priority', a.priority,
        'is_active', a.is_active,
        'created_at', a.created_at,
        'updated_at', a.updated_at)
$$;

CREATE OR REPLACE FUNCTION task_history_json(h task_history, task_key text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'task', task_key,
        'from_status', h.from_status,
        'to_status', h.to_status,
        'actor', h.actor,
        'token', h.token,
        'note', h.note,
        'evidence', h.evidence,
        'changed_at', h.changed_at)
$$;

CREATE OR REPLACE FUNCTION user_json(u users) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'id', u.id,
        'email', u.email,
        'username', u.username,
        'full_name', u.full_name,
        'jira_account_id', u.jira_account_id,
        'is_active', u.is_active,
        'is_superuser', u.is_superuser,
        'settings', u.settings,
        'created_at', u.created_at,
        'updated_at', u.updated_at)
$$;

CREATE OR REPLACE FUNCTION workstream_json(w project_workstreams, project_key text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'id', w.id,
        'project', project_key,
        'name', w.name,
        'jira_board_id', w.jira_board_id,
        'jira_board_name', w.jira_board_name,
        'workstream_type', w.workstream_type,
        'category', w.category,
        'is_active', w.is_active,
        'metadata', w.metadata,
        'timezone', w.timezone,
        'created_at', w.created_at,
        'updated_at', w.updated_at)
$$;
