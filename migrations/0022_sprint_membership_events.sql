-- depends: 0021_sprint_lifecycle
-- Sprint membership history: every change of a task's sprint (set at insert,
-- changed, cleared) and of its story points while it is in a sprint, written by a
-- trigger in the same transaction, so any report can be computed as of any
-- instant. Append-only like task history; rows go only with their task or sprint.
-- Who and when: worktrack.actor (as for task history) and now(). An import of
-- Jira history sets worktrack.event_at for its transaction so that membership and
-- status history carry Jira's times; nothing else sets it.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS sprint_membership_events (
    id                 bigint GENERATED ALWAYS AS IDENTITY,
    project_id         bigint NOT NULL,
    task_id            bigint NOT NULL,
    sprint_id          bigint NOT NULL,
    change             text NOT NULL,
    points_before      numeric(6,2),
    points_after       numeric(6,2),
    -- where a task that left went: the sprint it joined, NULL for the backlog
    -- (kept as a record, not a reference: it outlives that sprint)
    moved_to_sprint_id bigint,
    -- left because the sprint closed with open work (not a removal from scope)
    is_close_move      boolean NOT NULL DEFAULT false,
    actor              text NOT NULL,
    happened_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sprint_membership_events_pkey PRIMARY KEY (project_id, id),
    CONSTRAINT fk_sprint_membership_events_task FOREIGN KEY (project_id, task_id)
        REFERENCES tasks (project_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_sprint_membership_events_sprint FOREIGN KEY (sprint_id)
        REFERENCES sprints (id) ON DELETE CASCADE,
    CONSTRAINT chk_sprint_membership_events_change CHECK (change IN ('joined', 'left', 'reestimated')),
    CONSTRAINT chk_sprint_membership_events_moves_only_on_leaving CHECK (
        change = 'left' OR moved_to_sprint_id IS NULL AND NOT is_close_move),
    CONSTRAINT chk_sprint_membership_events_points_not_negative CHECK (
        points_before >= 0 AND points_after >= 0)
);

-- A sprint's events up to an instant: every report reads these. Also serves
-- fk_sprint_membership_events_sprint.
CREATE INDEX IF NOT EXISTS idx_sprint_membership_events_sprint_happened_at
    ON sprint_membership_events (sprint_id, happened_at, id);
-- A task's events; serves fk_sprint_membership_events_task.
CREATE INDEX IF NOT EXISTS idx_sprint_membership_events_project_task
    ON sprint_membership_events (project_id, task_id, id);

CREATE OR REPLACE FUNCTION tasks_record_sprint_membership() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    actor constant text := coalesce(nullif(current_setting('worktrack.actor', true), ''), session_user);
    happened constant timestamptz := coalesce(nullif(current_setting('worktrack.event_at', true), '')::timestamptz,
                                        now());
    closing constant bigint := nullif(current_setting('worktrack.closing_sprint', true), '')::bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.sprint_id IS NOT DISTINCT FROM OLD.sprint_id THEN
        IF NEW.sprint_id IS NOT NULL AND NEW.story_points IS DISTINCT FROM OLD.story_points THEN
            INSERT INTO sprint_membership_events (project_id, task_id, sprint_id, change, points_before,
                                                  points_after, actor, happened_at)
            VALUES (NEW.project_id, NEW.id, NEW.sprint_id, 'reestimated', OLD.story_points, NEW.story_points,
                    actor, happened);
        END IF;
        RETURN NULL;
    END IF;
    -- A sprint being deleted takes its events with it: its leaving is not recorded.
    IF TG_OP = 'UPDATE' AND OLD.sprint_id IS NOT NULL
       AND EXISTS (SELECT 1 FROM sprints WHERE id = OLD.sprint_id) THEN
        INSERT INTO sprint_membership_events (project_id, task_id, sprint_id, change, points_before,
                                              moved_to_sprint_id, is_close_move, actor, happened_at)
        VALUES (NEW.project_id, NEW.id, OLD.sprint_id, 'left', OLD.story_points, NEW.sprint_id,
                coalesce(OLD.sprint_id = closing, false), actor, happened);
    END IF;
    IF NEW.sprint_id IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM sprints WHERE id = NEW.sprint_id AND state = 'closed') THEN
            RAISE EXCEPTION 'task % cannot join sprint %: it is closed', NEW.key, NEW.sprint_id
                USING ERRCODE = 'integrity_constraint_violation',
                      CONSTRAINT = 'chk_tasks_sprint_not_closed', TABLE = 'tasks', COLUMN = 'sprint_id';
        END IF;
        INSERT INTO sprint_membership_events (project_id, task_id, sprint_id, change, points_after, actor,
                                              happened_at)
        VALUES (NEW.project_id, NEW.id, NEW.sprint_id, 'joined', NEW.story_points, actor, happened);
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER trg_tasks_record_sprint_membership
    AFTER INSERT OR UPDATE OF sprint_id, story_points ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_record_sprint_membership();

-- Append-only. A delete is let through only when the task or the sprint is
-- already gone, which is how the cascades arrive.
CREATE OR REPLACE FUNCTION sprint_membership_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND (
        NOT EXISTS (SELECT 1 FROM tasks WHERE project_id = OLD.project_id AND id = OLD.task_id)
        OR NOT EXISTS (SELECT 1 FROM sprints WHERE id = OLD.sprint_id)) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'sprint membership history is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation',
              CONSTRAINT = 'chk_sprint_membership_events_append_only',
              TABLE = 'sprint_membership_events';
END;
$$;

CREATE OR REPLACE TRIGGER trg_sprint_membership_events_append_only
    BEFORE UPDATE OR DELETE ON sprint_membership_events
    FOR EACH ROW EXECUTE FUNCTION sprint_membership_events_refuse_change();

-- While an import sets worktrack.event_at, status history and a task's own
-- timestamps carry that time too: the status trigger stamps now(), and this one
-- (named to fire after trg_tasks_status_change) puts the given instant instead.
CREATE OR REPLACE FUNCTION tasks_take_event_time() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    happened constant timestamptz := nullif(current_setting('worktrack.event_at', true), '')::timestamptz;
BEGIN
    IF happened IS NOT NULL AND NEW.status IS DISTINCT FROM OLD.status THEN
        IF NEW.status = 'completed' THEN
            NEW.completed_at := happened;
        END IF;
        IF OLD.started_at IS NULL AND NEW.started_at IS NOT NULL THEN
            NEW.started_at := happened;
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER trg_tasks_status_event_time
    BEFORE UPDATE OF status ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_take_event_time();

CREATE OR REPLACE FUNCTION task_history_take_event_time() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_at := coalesce(nullif(current_setting('worktrack.event_at', true), '')::timestamptz,
                               NEW.changed_at);
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER trg_task_history_event_time
    BEFORE INSERT ON task_history
    FOR EACH ROW EXECUTE FUNCTION task_history_take_event_time();
