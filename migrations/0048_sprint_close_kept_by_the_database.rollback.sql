-- squawk-ignore-file ban-drop-function -- a rollback drops only what its own migration created
-- Back to 0047: the close's moves in sprint_close() as 0040 made it, the state
-- change and membership triggers as 0040 and 0034 (with 0044's search_path) made
-- them, the stored figures guarded as 0040 left them.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TRIGGER IF EXISTS trg_sprint_frozen_tasks_stored_by_close ON sprint_frozen_tasks;
DROP TRIGGER IF EXISTS trg_sprint_frozen_days_stored_by_close ON sprint_frozen_days;
DROP FUNCTION IF EXISTS sprint_frozen_written_by_close();
DROP TRIGGER IF EXISTS trg_sprints_close_moves_open_work ON sprints;
DROP FUNCTION IF EXISTS sprints_close_moves_open_work();

CREATE OR REPLACE FUNCTION sprints_apply_state_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'closed' AND (NEW.state, NEW.start_date, NEW.end_date, NEW.activated_at, NEW.completed_at,
                                 NEW.timezone)
            IS DISTINCT FROM (OLD.state, OLD.start_date, OLD.end_date, OLD.activated_at, OLD.completed_at,
                              OLD.timezone) THEN
        RAISE EXCEPTION 'sprint % is closed: its state, dates and time zone are final', OLD.id
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_sprints_closed_is_final', TABLE = 'sprints';
    END IF;
    IF NEW.state IS DISTINCT FROM OLD.state THEN
        IF (OLD.state, NEW.state) NOT IN (('future', 'active'), ('active', 'closed')) THEN
            RAISE EXCEPTION 'sprint % cannot move from % to %', OLD.id, OLD.state, NEW.state
                USING ERRCODE = 'integrity_constraint_violation',
                      CONSTRAINT = 'chk_sprints_state_transition', TABLE = 'sprints', COLUMN = 'state';
        END IF;
        IF NEW.state = 'active' THEN
            NEW.activated_at := coalesce(NEW.activated_at, now());
            -- clock_timestamp(): a start given as "now" by a client is not in the future
            IF NEW.activated_at > clock_timestamp() THEN
                RAISE EXCEPTION 'sprint % cannot start in the future (activated_at %)', OLD.id, NEW.activated_at
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'chk_sprints_activated_not_future',
                          TABLE = 'sprints', COLUMN = 'activated_at';
            END IF;
            NEW.timezone := sprint_timezone(NEW.id, NEW.timezone);
        ELSE
            NEW.completed_at := coalesce(NEW.completed_at, now());
        END IF;
    ELSIF (NEW.activated_at, NEW.completed_at) IS DISTINCT FROM (OLD.activated_at, OLD.completed_at) THEN
        RAISE EXCEPTION 'sprint % keeps the instants it started and closed at', OLD.id
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_sprints_instants_fixed', TABLE = 'sprints';
    END IF;
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
    closes timestamptz := coalesce(sprint_close.completed_at, import_event_time(), now());
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
    PERFORM sprint_freeze(sprint_id);
    RETURN closed;
END;
$$;

CREATE OR REPLACE FUNCTION tasks_record_sprint_membership() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    actor constant text := coalesce(nullif(current_setting('worktrack.actor', true), ''), session_user);
    closing constant bigint := nullif(current_setting('worktrack.closing_sprint', true), '')::bigint;
    -- the close's moves happen at the close instant, whoever closes
    happened constant timestamptz := coalesce(
        CASE WHEN TG_OP = 'UPDATE' AND OLD.sprint_id = closing
             THEN (SELECT s.completed_at FROM sprints s WHERE s.id = closing AND s.state = 'closed') END,
        import_event_time(), now());
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
        IF NOT importing() AND EXISTS (SELECT 1 FROM sprints WHERE id = NEW.sprint_id AND state = 'closed') THEN
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
