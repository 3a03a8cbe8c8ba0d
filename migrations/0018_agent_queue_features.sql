-- depends: 0017_autovacuum_settings
-- squawk-ignore-file prefer-bigint-over-int -- lease lengths in seconds are range-checked and cannot approach the 32-bit limit
-- What agents ask of the queue:
--   * a lease length per project: claims and heartbeats that name none get the
--     project's default, and none is longer than its maximum;
--   * evidence of the work (commit, tests, files) kept with the task and with the
--     history row of the status change that brought it;
--   * links beside the blocking dependency that never affect readiness:
--     `related`, and `discovered_from` (found while working on the other task).
-- New columns are nullable or have a constant default: no table rewrite. The CHECKs
-- on new columns only read values just added (defaults or NULL), so they are added
-- inline; nothing existing can break them.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE projects
    ADD COLUMN IF NOT EXISTS default_lease_seconds integer NOT NULL DEFAULT 300,
    ADD COLUMN IF NOT EXISTS max_lease_seconds integer NOT NULL DEFAULT 86400;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'chk_projects_lease_seconds') THEN
        ALTER TABLE projects ADD CONSTRAINT chk_projects_lease_seconds
            CHECK (default_lease_seconds >= 1 AND default_lease_seconds <= max_lease_seconds
                   AND max_lease_seconds <= 86400)
            NOT VALID;
    END IF;
END
$$;

ALTER TABLE tasks ADD COLUMN IF NOT EXISTS evidence jsonb;
ALTER TABLE task_history ADD COLUMN IF NOT EXISTS evidence jsonb;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'chk_tasks_evidence_is_object') THEN
        ALTER TABLE tasks ADD CONSTRAINT chk_tasks_evidence_is_object
            CHECK (evidence IS NULL OR jsonb_typeof(evidence) = 'object') NOT VALID;
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS task_links (
    project_id bigint NOT NULL,
    task_id bigint NOT NULL,
    linked_task_id bigint NOT NULL,
    kind text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT task_links_pkey PRIMARY KEY (project_id, task_id, kind, linked_task_id),
    CONSTRAINT fk_task_links_task FOREIGN KEY (project_id, task_id)
        REFERENCES tasks (project_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_task_links_linked_task FOREIGN KEY (project_id, linked_task_id)
        REFERENCES tasks (project_id, id) ON DELETE CASCADE,
    CONSTRAINT chk_task_links_kind CHECK (kind IN ('related', 'discovered_from')),
    CONSTRAINT chk_task_links_not_self CHECK (task_id <> linked_task_id)
);
-- fk_task_links_linked_task: the cascade when the linked task is deleted.
CREATE INDEX IF NOT EXISTS idx_task_links_project_linked_task ON task_links (project_id, linked_task_id);

-- The history row of a status change carries the evidence that came with it.
CREATE OR REPLACE FUNCTION tasks_record_history() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
        RETURN NULL;
    END IF;
    INSERT INTO task_history (project_id, task_id, from_status, to_status, actor, note, evidence)
    VALUES (NEW.project_id, NEW.id,
            CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
            NEW.status,
            coalesce(nullif(current_setting('worktrack.actor', true), ''), session_user),
            nullif(current_setting('worktrack.note', true), ''),
            CASE WHEN TG_OP = 'INSERT' OR NEW.evidence IS DISTINCT FROM OLD.evidence THEN NEW.evidence END);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION task_history_json(h task_history, task_key text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'task', task_key,
        'from_status', h.from_status,
        'to_status', h.to_status,
        'actor', h.actor,
        'note', h.note,
        'evidence', h.evidence,
        'changed_at', h.changed_at)
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
        'created_at', p.created_at,
        'updated_at', p.updated_at)
$$;

-- The task document shows its evidence and its non-blocking links.
CREATE OR REPLACE FUNCTION task_json(t tasks) RETURNS json
    LANGUAGE plpgsql STABLE
    AS $$
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
               'evidence', t.evidence,
               -- related links are stored in both directions: one probe of the
               -- primary key finds every link of the task.
               'related', coalesce(
                   (SELECT json_agg(other.key ORDER BY other.key)
                      FROM task_links l
                      JOIN tasks other ON other.project_id = l.project_id AND other.id = l.linked_task_id
                     WHERE l.project_id = t.project_id AND l.task_id = t.id AND l.kind = 'related'),
                   '[]'::json),
               'discovered_from', coalesce(
                   (SELECT json_agg(other.key ORDER BY other.key)
                      FROM task_links l
                      JOIN tasks other ON other.project_id = l.project_id AND other.id = l.linked_task_id
                     WHERE l.project_id = t.project_id AND l.task_id = t.id AND l.kind = 'discovered_from'),
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
