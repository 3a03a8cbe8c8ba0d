-- squawk-ignore-file ban-drop-function, ban-drop-table -- a rollback drops only what its own migration created
-- Back to the session-wide worktrack.event_at of 0021/0022: the earlier function
-- bodies, then the import clock goes. The role worktrack_importer stays: roles are
-- cluster-wide and other databases of the cluster may grant to it.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE OR REPLACE FUNCTION tasks_apply_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.status = OLD.status THEN
            RETURN NEW;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM task_status_transitions
                        WHERE from_status = OLD.status AND to_status = NEW.status) THEN
            RAISE EXCEPTION 'task % cannot move from % to %', OLD.key, OLD.status, NEW.status
                USING ERRCODE = 'integrity_constraint_violation',
                      CONSTRAINT = 'chk_tasks_status_transition',
                      TABLE = 'tasks', COLUMN = 'status';
        END IF;
        IF NEW.status = 'completed' THEN
            NEW.completed_at := now();
        END IF;
    ELSE
        NEW.unfinished_dependencies := 0;  -- a new task has no edges yet
        IF NEW.status = 'completed' THEN
            -- An import may bring the real completion time; otherwise it is now.
            NEW.completed_at := coalesce(NEW.completed_at, now());
        END IF;
    END IF;

    IF NEW.status <> 'completed' THEN
        NEW.completed_at := NULL;
    END IF;
    IF NEW.status = 'in_progress' THEN
        NEW.started_at := coalesce(NEW.started_at, now());
        -- The claimant keeps the task (back from blocked, review or completed);
        -- without one, whoever put it in progress owns it. Either way a lease.
        NEW.claimed_by := coalesce(NEW.claimed_by,
                                   nullif(current_setting('worktrack.actor', true), ''), session_user);
        NEW.claimed_at := coalesce(NEW.claimed_at, now());
        NEW.lease_expires_at := coalesce(NEW.lease_expires_at, now() + interval '5 minutes');
    ELSE
        NEW.lease_expires_at := NULL;
    END IF;
    IF NEW.status = 'pending' AND TG_OP = 'UPDATE' THEN
        NEW.claimed_by := NULL;
        NEW.claimed_at := NULL;
    END IF;
    RETURN NEW;
END;
$$;

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
ALTER FUNCTION tasks_record_sprint_membership() SECURITY DEFINER;
ALTER FUNCTION tasks_record_sprint_membership() SET search_path = pg_catalog, public;

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

CREATE OR REPLACE FUNCTION task_history_take_event_time() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_at := coalesce(nullif(current_setting('worktrack.event_at', true), '')::timestamptz,
                               NEW.changed_at);
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION sprint_close(sprint_id bigint, move_to bigint DEFAULT NULL,
                                        completed_at timestamptz DEFAULT NULL) RETURNS sprints
LANGUAGE plpgsql AS $$
DECLARE
    closed sprints;
    target_state text;
    event_at text := current_setting('worktrack.event_at', true);
    closes timestamptz := coalesce(sprint_close.completed_at, nullif(event_at, '')::timestamptz, now());
BEGIN
    IF move_to IS NOT NULL THEN
        SELECT state INTO target_state FROM sprints WHERE id = move_to FOR SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'sprint % does not exist', move_to
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'fk_sprints_close_move_to',
                      TABLE = 'sprints';
        ELSIF move_to = sprint_id OR target_state = 'closed' THEN
            RAISE EXCEPTION 'open work cannot move to sprint %: it is this sprint or closed', move_to
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'chk_sprints_close_move_to_open',
                      TABLE = 'sprints';
        END IF;
    END IF;
    SELECT * INTO closed FROM sprints s WHERE s.id = sprint_close.sprint_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    ELSIF closed.state <> 'active' THEN
        RAISE EXCEPTION 'sprint % is %: only an active sprint closes', sprint_id, closed.state
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_sprints_state_transition', TABLE = 'sprints', COLUMN = 'state';
    END IF;
    UPDATE sprints s SET state = 'closed', completed_at = closes
     WHERE s.id = sprint_close.sprint_id
    RETURNING s.* INTO closed;
    PERFORM set_config('worktrack.closing_sprint', sprint_id::text, true);
    PERFORM set_config('worktrack.event_at', closes::text, true);
    UPDATE tasks t SET sprint_id = move_to
     WHERE t.sprint_id = sprint_close.sprint_id AND t.status NOT IN ('completed', 'cancelled');
    PERFORM set_config('worktrack.closing_sprint', '', true);
    PERFORM set_config('worktrack.event_at', coalesce(event_at, ''), true);
    RETURN closed;
END;
$$;

CREATE OR REPLACE FUNCTION task_history_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        -- now(), or the instant an import replays (worktrack.event_at, see 0022).
        NEW.changed_at := coalesce(nullif(current_setting('worktrack.event_at', true), '')::timestamptz, now());
    ELSIF coalesce(current_setting('worktrack.history_import', true), '') <> 'on' THEN
        RAISE EXCEPTION 'task history is written by the tasks trigger: direct INSERT refused'
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_task_history_written_by_trigger',
                  TABLE = 'task_history',
                  HINT = 'change the task''s status; an import of past history sets worktrack.history_import = on';
    END IF;
    NEW.transaction_id := pg_current_xact_id();
    RETURN NEW;
END;
$$;

DROP FUNCTION IF EXISTS import_event_time();
DROP FUNCTION IF EXISTS importing();
DROP FUNCTION IF EXISTS import_begin(text);
DROP TABLE IF EXISTS import_transactions;
DROP FUNCTION IF EXISTS import_transactions_only_through_import_begin();
