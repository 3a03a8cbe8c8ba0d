-- depends: 0009_task_dependencies
-- The JSON documents the API returns, built in the database: a response body
-- leaves Postgres ready to send, with no per-row work in Python, and each shape
-- has one definition that every query (get, list, create, claim, export) uses.
-- The documents that query other tables are PL/pgSQL, whose statements are
-- planned once per session; a SQL-language function would be planned per call.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- An opaque keyset-pagination cursor: the sort key of the last row shown,
-- base64url-encoded. The service decodes and checks it before any query.
CREATE OR REPLACE FUNCTION api_cursor(VARIADIC parts text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT rtrim(translate(encode(convert_to(array_to_string(parts, '|'), 'UTF8'), 'base64'),
                           E'+/\n', '-_'), '=')
$$;

-- Progress over a set of tasks: the share of the non-cancelled ones that are completed.
CREATE OR REPLACE FUNCTION progress_json(counted bigint, completed bigint) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'tasks', counted,
        'completed', completed,
        'percent', round(100.0 * completed / nullif(counted, 0), 2))
$$;

CREATE OR REPLACE FUNCTION project_json(p projects) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'key', p.key,
        'name', p.name,
        'description', p.description,
        'is_active', p.is_active,
        'metadata', p.metadata,
        'created_at', p.created_at,
        'updated_at', p.updated_at)
$$;

CREATE OR REPLACE FUNCTION epic_json(e epics) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN json_build_object(
        'key', e.key,
        'project', (SELECT p.key FROM projects p WHERE p.id = e.project_id),
        'title', e.title,
        'description', e.description,
        'metadata', e.metadata,
        'features', (SELECT count(*) FROM features f
                      WHERE f.project_id = e.project_id AND f.epic_id = e.id),
        'progress', (SELECT progress_json(count(*) FILTER (WHERE t.status <> 'cancelled'),
                                          count(*) FILTER (WHERE t.status = 'completed'))
                       FROM features f
                       JOIN tasks t ON t.project_id = f.project_id AND t.feature_id = f.id
                      WHERE f.project_id = e.project_id AND f.epic_id = e.id),
        'created_at', e.created_at,
        'updated_at', e.updated_at);
END;
$$;

CREATE OR REPLACE FUNCTION feature_json(f features) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN json_build_object(
        'key', f.key,
        'project', (SELECT p.key FROM projects p WHERE p.id = f.project_id),
        'epic', (SELECT e.key FROM epics e WHERE e.project_id = f.project_id AND e.id = f.epic_id),
        'title', f.title,
        'description', f.description,
        'metadata', f.metadata,
        'progress', (SELECT progress_json(count(*) FILTER (WHERE t.status <> 'cancelled'),
                                          count(*) FILTER (WHERE t.status = 'completed'))
                       FROM tasks t
                      WHERE t.project_id = f.project_id AND t.feature_id = f.id),
        'created_at', f.created_at,
        'updated_at', f.updated_at);
END;
$$;

CREATE OR REPLACE FUNCTION task_json(t tasks) RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    doc json;
BEGIN
    SELECT json_build_object(
               'key', t.key,
               'project', p.key,
               'epic', e.key,
               'feature', f.key,
               'sprint', t.sprint_id,
               'title', t.title,
               'description', t.description,
               'status', t.status,
               'priority', t.priority,
               'agent_type', t.agent_type,
               'generator_name', t.generator_name,
               'assignee', t.assignee_id,
               'claimed_by', t.claimed_by,
               'claimed_at', t.claimed_at,
               'lease_expires_at', t.lease_expires_at,
               'attempts', t.attempts,
               'inputs', t.inputs,
               'expected_outputs', t.expected_outputs,
               'context_notes', t.context_notes,
               'completion_notes', t.completion_notes,
               'blocked_reason', t.blocked_reason,
               'file_path', t.file_path,
               'story_points', t.story_points,
               'metadata', t.metadata,
               'depends_on', coalesce(
                   (SELECT json_agg(other.key ORDER BY other.key)
                      FROM task_dependencies d
                      JOIN tasks other ON other.project_id = d.project_id AND other.id = d.depends_on_id
                     WHERE d.project_id = t.project_id AND d.task_id = t.id),
                   '[]'::json),
               'created_at', t.created_at,
               'updated_at', t.updated_at,
               'started_at', t.started_at,
               'completed_at', t.completed_at)
      INTO doc
      FROM projects p
      LEFT JOIN features f ON f.project_id = t.project_id AND f.id = t.feature_id
      LEFT JOIN epics e ON e.project_id = f.project_id AND e.id = f.epic_id
     WHERE p.id = t.project_id;
    RETURN doc;
END;
$$;

-- STABLE, not IMMUTABLE: timestamps are rendered in the session's time zone.
CREATE OR REPLACE FUNCTION task_history_json(h task_history, task_key text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'task', task_key,
        'from_status', h.from_status,
        'to_status', h.to_status,
        'actor', h.actor,
        'note', h.note,
        'changed_at', h.changed_at)
$$;
