-- depends: 0049_sprint_completed_while_a_member
-- Documents without the bytes they need not: json_build_object and json_agg write
-- " : " between a key and its value and ", " between items; row_to_json and
-- array_to_json write neither, as the task documents already do (sql/queries/
-- documents.sql). The sprint side's, users', projects', workstreams' and
-- history's documents are rebuilt that way, with the same keys in the same order
-- and the same values: only the spaces go (10-15% of those answers). api_page
-- writes a list's {"items", "next"} the same way. The sprint report keeps its
-- spacing: a closed sprint's stored burndown must read as it was written.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- A page of a list: its items (a JSON array) and the cursor of the next page, or null.
CREATE OR REPLACE FUNCTION api_page(items json, next text) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT row_to_json(d) FROM (SELECT items AS "items", next AS "next") d
$$;

CREATE OR REPLACE FUNCTION capacity_json(c team_capacities) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT row_to_json(d) FROM (
        SELECT c.id AS "id",
               c.sprint_id AS "sprint_id",
               c.user_id AS "user_id",
               c.capacity_points AS "capacity_points",
               c.allocated_points AS "allocated_points",
               c.created_at AS "created_at",
               c.updated_at AS "updated_at") d
$$;

CREATE OR REPLACE FUNCTION progress_json(counted bigint, completed bigint) RETURNS json
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT row_to_json(d) FROM (
        SELECT counted AS "tasks",
               completed AS "completed",
               round(100.0 * completed / nullif(counted, 0), 2) AS "percent") d
$$;

CREATE OR REPLACE FUNCTION project_json(p projects) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT row_to_json(d) FROM (
        SELECT p.key AS "key",
               p.name AS "name",
               p.description AS "description",
               p.is_active AS "is_active",
               p.metadata AS "metadata",
               p.default_lease_seconds AS "default_lease_seconds",
               p.max_lease_seconds AS "max_lease_seconds",
               p.max_attempts AS "max_attempts",
               p.created_at AS "created_at",
               p.updated_at AS "updated_at") d
$$;

CREATE OR REPLACE FUNCTION report_json(r reports, project_key text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT row_to_json(d) FROM (
        SELECT r.id AS "id",
               r.report_type AS "report_type",
               r.title AS "title",
               r.sprint_id AS "sprint_id",
               project_key AS "project",
               r.created_by AS "created_by",
               r.parameters AS "parameters",
               r.content AS "content",
               r.created_at AS "created_at",
               r.updated_at AS "updated_at") d
$$;

CREATE OR REPLACE FUNCTION sprint_analysis_json(a sprint_analyses, project_key text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT row_to_json(d) FROM (
        SELECT a.id AS "id",
               a.sprint_id AS "sprint_id",
               project_key AS "project",
               a.analysis_type AS "analysis_type",
               a.total_story_points AS "total_story_points",
               a.completed_story_points AS "completed_story_points",
               a.total_issues AS "total_issues",
               a.completed_issues AS "completed_issues",
               a.discipline_breakdown AS "discipline_breakdown",
               a.issue_details AS "issue_details",
               a.created_at AS "created_at",
               a.updated_at AS "updated_at") d
$$;

CREATE OR REPLACE FUNCTION sprint_json(s sprints) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT row_to_json(d) FROM (
        SELECT s.id AS "id",
               s.jira_sprint_id AS "jira_sprint_id",
               s.name AS "name",
               s.state AS "state",
               s.start_date AS "start_date",
               s.end_date AS "end_date",
               s.goal AS "goal",
               s.jira_board_id AS "jira_board_id",
               s.jira_project_key AS "jira_project_key",
               s.timezone AS "timezone",
               s.activated_at AS "activated_at",
               s.completed_at AS "completed_at",
               s.created_at AS "created_at",
               s.updated_at AS "updated_at") d
$$;

CREATE OR REPLACE FUNCTION sprint_metric_json(m project_sprint_metrics) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT row_to_json(d) FROM (
        SELECT m.id AS "id",
               m.sprint_id AS "sprint_id",
               m.workstream_id AS "workstream_id",
               m.snapshot_at AS "snapshot_at",
               m.issues_total AS "issues_total",
               m.issues_completed AS "issues_completed",
               m.issues_blocked AS "issues_blocked",
               m.bugs AS "bugs",
               m.story_points_total AS "story_points_total",
               m.story_points_completed AS "story_points_completed",
               m.completion_percent AS "completion_percent",
               m.velocity AS "velocity",
               m.burndown_rate AS "burndown_rate",
               m.scope_added_points AS "scope_added_points",
               m.scope_removed_points AS "scope_removed_points",
               m.team_size AS "team_size",
               m.capacity_utilization AS "capacity_utilization",
               m.discipline_breakdown AS "discipline_breakdown",
               m.status_breakdown AS "status_breakdown",
               m.metadata AS "metadata",
               m.created_at AS "created_at") d
$$;

CREATE OR REPLACE FUNCTION sprint_queue_item_json(q sprint_queue_items, project_key text, task_key text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT row_to_json(d) FROM (
        SELECT q.id AS "id",
               q.sprint_id AS "sprint_id",
               q.user_id AS "user_id",
               q.position AS "position",
               project_key AS "project",
               task_key AS "task",
               q.notes AS "notes",
               q.created_at AS "created_at",
               q.updated_at AS "updated_at") d
$$;

CREATE OR REPLACE FUNCTION sprint_workstream_json(a project_sprint_associations, project_key text, workstream_name text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT row_to_json(d) FROM (
        SELECT a.id AS "id",
               a.sprint_id AS "sprint_id",
               a.workstream_id AS "workstream_id",
               workstream_name AS "workstream",
               project_key AS "project",
               a.association_type AS "association_type",
               a.expected_story_points AS "expected_story_points",
               a.actual_story_points AS "actual_story_points",
               a.priority AS "priority",
               a.is_active AS "is_active",
               a.created_at AS "created_at",
               a.updated_at AS "updated_at") d
$$;

CREATE OR REPLACE FUNCTION task_history_json(h task_history, task_key text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT row_to_json(d) FROM (
        SELECT task_key AS "task",
               h.from_status AS "from_status",
               h.to_status AS "to_status",
               h.actor AS "actor",
               h.token AS "token",
               h.note AS "note",
               h.evidence AS "evidence",
               h.changed_at AS "changed_at") d
$$;

CREATE OR REPLACE FUNCTION user_json(u users) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT row_to_json(d) FROM (
        SELECT u.id AS "id",
               u.email AS "email",
               u.username AS "username",
               u.full_name AS "full_name",
               u.jira_account_id AS "jira_account_id",
               u.is_active AS "is_active",
               u.is_superuser AS "is_superuser",
               u.settings AS "settings",
               u.created_at AS "created_at",
               u.updated_at AS "updated_at") d
$$;

CREATE OR REPLACE FUNCTION workstream_json(w project_workstreams, project_key text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT row_to_json(d) FROM (
        SELECT w.id AS "id",
               project_key AS "project",
               w.name AS "name",
               w.jira_board_id AS "jira_board_id",
               w.jira_board_name AS "jira_board_name",
               w.workstream_type AS "workstream_type",
               w.category AS "category",
               w.is_active AS "is_active",
               w.metadata AS "metadata",
               w.timezone AS "timezone",
               w.created_at AS "created_at",
               w.updated_at AS "updated_at") d
$$;
