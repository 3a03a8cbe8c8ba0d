-- depends: 0005_features
-- squawk-ignore-file prefer-bigint-over-int, prefer-bigint-over-smallint -- counts, positions and priorities are range-checked and cannot approach the 32-bit limit
-- Tasks: the unit of work an agent claims. A task sits in its feature's project
-- (the composite foreign key carries project_id), may belong to a sprint (the
-- sprint tables come later and add their foreign key then) and to an assignee.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS tasks (
    id               bigint GENERATED ALWAYS AS IDENTITY,
    project_id       bigint NOT NULL,
    feature_id       bigint,
    sprint_id        bigint,
    key              text NOT NULL,
    title            text NOT NULL,
    description      text,
    status           text NOT NULL DEFAULT 'pending',
    priority         smallint NOT NULL DEFAULT 5,
    agent_type       text,
    generator_name   text,
    assignee_id      bigint,
    claimed_by       text,
    claimed_at       timestamptz,
    lease_expires_at timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    inputs           jsonb NOT NULL DEFAULT '[]'::jsonb,
    expected_outputs jsonb NOT NULL DEFAULT '[]'::jsonb,
    context_notes    text,
    completion_notes text,
    blocked_reason   text,
    file_path        text,
    story_points     numeric(6,2),
    metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    completed_at     timestamptz,
    CONSTRAINT tasks_pkey PRIMARY KEY (project_id, id),
    CONSTRAINT uq_tasks_project_id_key UNIQUE (project_id, key),
    CONSTRAINT fk_tasks_project FOREIGN KEY (project_id)
        REFERENCES projects (id) ON DELETE CASCADE,
    CONSTRAINT fk_tasks_feature FOREIGN KEY (project_id, feature_id)
        REFERENCES features (project_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_tasks_assignee FOREIGN KEY (assignee_id)
        REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT chk_tasks_key_format
        CHECK (key ~ '^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$' AND length(key) <= 50),
    CONSTRAINT chk_tasks_title_not_blank CHECK (btrim(title) <> ''),
    CONSTRAINT chk_tasks_status CHECK (status IN
        ('pending', 'in_progress', 'blocked', 'in_review', 'completed', 'cancelled')),
    CONSTRAINT chk_tasks_priority_range CHECK (priority BETWEEN 1 AND 10),
    CONSTRAINT chk_tasks_attempts_not_negative CHECK (attempts >= 0),
    CONSTRAINT chk_tasks_story_points_not_negative CHECK (story_points >= 0),
    -- Artifact lists are arrays of ids (strings), so containment look-ups find them.
    CONSTRAINT chk_tasks_inputs_are_artifact_ids CHECK (
        jsonb_typeof(inputs) = 'array' AND NOT jsonb_path_exists(inputs, '$[*] ? (@.type() != "string")')),
    CONSTRAINT chk_tasks_expected_outputs_are_artifact_ids CHECK (
        jsonb_typeof(expected_outputs) = 'array'
        AND NOT jsonb_path_exists(expected_outputs, '$[*] ? (@.type() != "string")')),
    CONSTRAINT chk_tasks_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object'),
    -- completed_at says when the task was completed, so only a completed task has one.
    CONSTRAINT chk_tasks_completed_at_matches_status
        CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
    -- A lease is held by a named agent on a task in progress, and nowhere else.
    CONSTRAINT chk_tasks_lease_held_in_progress
        CHECK (lease_expires_at IS NULL OR (status = 'in_progress' AND claimed_by IS NOT NULL))
);

-- The dashboard filter and the seed's named query: tasks of a project by status.
CREATE INDEX IF NOT EXISTS idx_tasks_project_status ON tasks (project_id, status);
-- Status across projects (GET /tasks?status=...).
CREATE INDEX IF NOT EXISTS idx_tasks_status ON tasks (status);
-- The ready queue: pending tasks of a project, best first (next and claim).
CREATE INDEX IF NOT EXISTS idx_tasks_ready_queue
    ON tasks (project_id, priority DESC, created_at, id) WHERE status = 'pending';
-- Expired leases of a project, found among the tasks that hold one.
CREATE INDEX IF NOT EXISTS idx_tasks_project_lease_expires_at
    ON tasks (project_id, lease_expires_at) WHERE lease_expires_at IS NOT NULL;
-- Artifact look-ups by containment: inputs @> '["PRD-006"]'.
CREATE INDEX IF NOT EXISTS idx_tasks_inputs ON tasks USING gin (inputs jsonb_path_ops);
CREATE INDEX IF NOT EXISTS idx_tasks_expected_outputs
    ON tasks USING gin (expected_outputs jsonb_path_ops);
-- Foreign key columns: fk_tasks_feature (cascade from features), sprint, assignee.
CREATE INDEX IF NOT EXISTS idx_tasks_project_feature
    ON tasks (project_id, feature_id) WHERE feature_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_tasks_sprint ON tasks (sprint_id) WHERE sprint_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_tasks_assignee ON tasks (assignee_id) WHERE assignee_id IS NOT NULL;

CREATE OR REPLACE TRIGGER trg_tasks_updated_at
    BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
