-- depends: 0011_legacy_sprints
-- squawk-ignore-file prefer-bigint-over-int -- counts, positions and priorities are range-checked and cannot approach the 32-bit limit
-- The tables that tie sprints to projects and hold what is reported about them.
-- All are new, so their constraints are created with them.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- A project's source inside (meta-board) sprints: usually its Jira board.
CREATE TABLE IF NOT EXISTS project_workstreams (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id      bigint NOT NULL,
    name            text NOT NULL,
    jira_board_id   bigint,
    jira_board_name text,
    workstream_type text NOT NULL DEFAULT 'standard',
    category        text,
    is_active       boolean NOT NULL DEFAULT true,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fk_project_workstreams_project FOREIGN KEY (project_id)
        REFERENCES projects (id) ON DELETE CASCADE,
    CONSTRAINT chk_project_workstreams_type CHECK (workstream_type IN ('standard', 'epic', 'initiative')),
    CONSTRAINT chk_project_workstreams_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT chk_project_workstreams_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);
-- Serves fk_project_workstreams_project and "the workstreams of a project".
CREATE INDEX IF NOT EXISTS idx_project_workstreams_project ON project_workstreams (project_id);
-- At most one active workstream per project.
CREATE UNIQUE INDEX IF NOT EXISTS uq_project_workstreams_active_project
    ON project_workstreams (project_id) WHERE is_active;
-- Workstreams of a board (GET /workstreams?board=...).
CREATE INDEX IF NOT EXISTS idx_project_workstreams_jira_board ON project_workstreams (jira_board_id)
    WHERE jira_board_id IS NOT NULL;

CREATE OR REPLACE TRIGGER trg_project_workstreams_updated_at
    BEFORE UPDATE ON project_workstreams
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Which workstreams take part in a sprint, and how.
CREATE TABLE IF NOT EXISTS project_sprint_associations (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sprint_id             bigint NOT NULL,
    workstream_id         bigint NOT NULL,
    association_type      text NOT NULL DEFAULT 'primary',
    expected_story_points numeric(10,2),
    actual_story_points   numeric(10,2),
    priority              integer,
    is_active             boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_project_sprint_associations_sprint_workstream UNIQUE (sprint_id, workstream_id),
    CONSTRAINT fk_project_sprint_associations_sprint FOREIGN KEY (sprint_id)
        REFERENCES sprints (id) ON DELETE CASCADE,
    CONSTRAINT fk_project_sprint_associations_workstream FOREIGN KEY (workstream_id)
        REFERENCES project_workstreams (id) ON DELETE CASCADE,
    CONSTRAINT chk_project_sprint_associations_type
        CHECK (association_type IN ('primary', 'secondary', 'dependency')),
    CONSTRAINT chk_project_sprint_associations_points_not_negative
        CHECK (expected_story_points >= 0 AND actual_story_points >= 0),
    CONSTRAINT chk_project_sprint_associations_priority_positive CHECK (priority >= 1)
);
-- At most one primary workstream per sprint.
CREATE UNIQUE INDEX IF NOT EXISTS uq_project_sprint_associations_primary
    ON project_sprint_associations (sprint_id) WHERE association_type = 'primary';
-- Serves fk_project_sprint_associations_workstream (sprint_id leads the unique key).
CREATE INDEX IF NOT EXISTS idx_project_sprint_associations_workstream
    ON project_sprint_associations (workstream_id);

CREATE OR REPLACE TRIGGER trg_project_sprint_associations_updated_at
    BEFORE UPDATE ON project_sprint_associations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Snapshots of a workstream within a sprint over time: burndown and comparison.
CREATE TABLE IF NOT EXISTS project_sprint_metrics (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sprint_id              bigint NOT NULL,
    workstream_id          bigint NOT NULL,
    snapshot_at            timestamptz NOT NULL DEFAULT now(),
    issues_total           integer NOT NULL DEFAULT 0,
    issues_completed       integer NOT NULL DEFAULT 0,
    issues_blocked         integer NOT NULL DEFAULT 0,
    bugs                   integer NOT NULL DEFAULT 0,
    story_points_total     numeric(10,2) NOT NULL DEFAULT 0,
    story_points_completed numeric(10,2) NOT NULL DEFAULT 0,
    completion_percent     numeric(5,2),
    velocity               numeric(10,2),
    burndown_rate          numeric(10,2),
    scope_added_points     numeric(10,2) NOT NULL DEFAULT 0,
    scope_removed_points   numeric(10,2) NOT NULL DEFAULT 0,
    team_size              integer,
    capacity_utilization   numeric(5,2),
    discipline_breakdown   jsonb NOT NULL DEFAULT '{}'::jsonb,
    status_breakdown       jsonb NOT NULL DEFAULT '{}'::jsonb,
    metadata               jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_project_sprint_metrics_snapshot UNIQUE (sprint_id, workstream_id, snapshot_at),
    -- A snapshot belongs to an association of its sprint and workstream.
    CONSTRAINT fk_project_sprint_metrics_association FOREIGN KEY (sprint_id, workstream_id)
        REFERENCES project_sprint_associations (sprint_id, workstream_id) ON DELETE CASCADE,
    CONSTRAINT chk_project_sprint_metrics_counts_not_negative CHECK (
        issues_total >= 0 AND issues_completed >= 0 AND issues_blocked >= 0 AND bugs >= 0
        AND team_size >= 0),
    CONSTRAINT chk_project_sprint_metrics_completed_within_total CHECK (
        issues_completed <= issues_total AND story_points_completed <= story_points_total),
    CONSTRAINT chk_project_sprint_metrics_points_not_negative CHECK (
        story_points_total >= 0 AND story_points_completed >= 0 AND velocity >= 0
        AND scope_added_points >= 0 AND scope_removed_points >= 0),
    CONSTRAINT chk_project_sprint_metrics_completion_percent
        CHECK (completion_percent BETWEEN 0 AND 100),
    CONSTRAINT chk_project_sprint_metrics_capacity_utilization
        CHECK (capacity_utilization BETWEEN 0 AND 100),
    CONSTRAINT chk_project_sprint_metrics_breakdowns_are_objects CHECK (
        jsonb_typeof(discipline_breakdown) = 'object' AND jsonb_typeof(status_breakdown) = 'object'
        AND jsonb_typeof(metadata) = 'object')
);
-- The association's key leads uq_project_sprint_metrics_snapshot; this serves the workstream side.
CREATE INDEX IF NOT EXISTS idx_project_sprint_metrics_workstream
    ON project_sprint_metrics (workstream_id, snapshot_at);

-- A snapshot may only be taken of an active association.
CREATE OR REPLACE FUNCTION project_sprint_metrics_require_active_association() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM project_sprint_associations
      WHERE sprint_id = NEW.sprint_id AND workstream_id = NEW.workstream_id AND is_active
        FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no active association of sprint % and workstream %',
                        NEW.sprint_id, NEW.workstream_id
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'fk_project_sprint_metrics_active_association',
                  TABLE = 'project_sprint_metrics';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER trg_project_sprint_metrics_active_association
    BEFORE INSERT OR UPDATE OF sprint_id, workstream_id ON project_sprint_metrics
    FOR EACH ROW EXECUTE FUNCTION project_sprint_metrics_require_active_association();

-- Saved reports: a generated document and the parameters that made it.
CREATE TABLE IF NOT EXISTS reports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_type text NOT NULL,
    title       text NOT NULL,
    sprint_id   bigint,
    project_id  bigint,
    created_by  bigint,
    parameters  jsonb NOT NULL DEFAULT '{}'::jsonb,
    content     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT fk_reports_sprint FOREIGN KEY (sprint_id) REFERENCES sprints (id) ON DELETE CASCADE,
    CONSTRAINT fk_reports_project FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE,
    CONSTRAINT fk_reports_created_by FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL,
    CONSTRAINT chk_reports_title_not_blank CHECK (btrim(title) <> ''),
    CONSTRAINT chk_reports_parameters_is_object CHECK (jsonb_typeof(parameters) = 'object'),
    CONSTRAINT chk_reports_content_is_object CHECK (jsonb_typeof(content) = 'object')
);
CREATE INDEX IF NOT EXISTS idx_reports_sprint ON reports (sprint_id) WHERE sprint_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_reports_project ON reports (project_id) WHERE project_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_reports_created_by ON reports (created_by) WHERE created_by IS NOT NULL;

CREATE OR REPLACE TRIGGER trg_reports_updated_at
    BEFORE UPDATE ON reports
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- What each person can take on in a sprint, and what is allocated to them.
CREATE TABLE IF NOT EXISTS team_capacities (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sprint_id        bigint NOT NULL,
    user_id          bigint NOT NULL,
    capacity_points  numeric(10,2) NOT NULL DEFAULT 0,
    allocated_points numeric(10,2) NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_team_capacities_sprint_user UNIQUE (sprint_id, user_id),
    CONSTRAINT fk_team_capacities_sprint FOREIGN KEY (sprint_id) REFERENCES sprints (id) ON DELETE CASCADE,
    CONSTRAINT fk_team_capacities_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT chk_team_capacities_points_not_negative
        CHECK (capacity_points >= 0 AND allocated_points >= 0)
);
CREATE INDEX IF NOT EXISTS idx_team_capacities_user ON team_capacities (user_id);

CREATE OR REPLACE TRIGGER trg_team_capacities_updated_at
    BEFORE UPDATE ON team_capacities
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- A person's ordered work queue within a sprint. A sprint that still has queue
-- items cannot be deleted (fk_sprint_queue_items_sprint restricts).
CREATE TABLE IF NOT EXISTS sprint_queue_items (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sprint_id       bigint NOT NULL,
    user_id         bigint NOT NULL,
    position        integer NOT NULL,
    task_project_id bigint,
    task_id         bigint,
    notes           text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_sprint_queue_items_sprint_user_position UNIQUE (sprint_id, user_id, position)
        DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT fk_sprint_queue_items_sprint FOREIGN KEY (sprint_id) REFERENCES sprints (id) ON DELETE RESTRICT,
    CONSTRAINT fk_sprint_queue_items_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_sprint_queue_items_task FOREIGN KEY (task_project_id, task_id)
        REFERENCES tasks (project_id, id) ON DELETE CASCADE,
    CONSTRAINT chk_sprint_queue_items_position_positive CHECK (position >= 1),
    CONSTRAINT chk_sprint_queue_items_task_whole CHECK ((task_project_id IS NULL) = (task_id IS NULL))
);
CREATE INDEX IF NOT EXISTS idx_sprint_queue_items_user ON sprint_queue_items (user_id);
CREATE INDEX IF NOT EXISTS idx_sprint_queue_items_task ON sprint_queue_items (task_project_id, task_id)
    WHERE task_id IS NOT NULL;

CREATE OR REPLACE TRIGGER trg_sprint_queue_items_updated_at
    BEFORE UPDATE ON sprint_queue_items
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
