-- depends: 0047_task_history_token
-- The close of a sprint, kept by the database whoever closes it and however the
-- close races other work:
-- - A close moves the open work and stores the figures in a trigger on the state
--   change, so `UPDATE sprints SET state = 'closed'` by hand does what
--   sprint_close() does (open work to the backlog unless sprint_close named a
--   sprint), instead of leaving open tasks in a closed sprint with nothing stored.
-- - sprint_close() locks the sprint and its tasks before it takes the close
--   instant, and takes it from the clock then, not from the transaction's start:
--   a task change that committed while the close waited for its locks is before
--   the close, so the moves and the stored figures agree.
-- - A close instant is not in the future, and not before the last change of the
--   sprint's membership (a close given for an import must come after its history).
-- - The close's own moves are recognised only inside that trigger (or in an import,
--   import_begin): a session that sets worktrack.closing_sprint itself no longer
--   dates its moves at a past close.
-- - The stored figures are written only by a close, and TRUNCATE of them is refused.
-- - An active sprint's time zone is fixed, as the start made it.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- As 0040, with the rules on the close instant and the fixed time zone.
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
            -- the clock, not the transaction's start: this row is locked by now, and
            -- what committed before the lock was granted happened before the close
            NEW.completed_at := coalesce(NEW.completed_at, clock_timestamp());
            IF NEW.completed_at > clock_timestamp() THEN
                RAISE EXCEPTION 'sprint % cannot close in the future (completed_at %)', OLD.id, NEW.completed_at
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'chk_sprints_completed_not_future',
                          TABLE = 'sprints', COLUMN = 'completed_at';
            END IF;
            IF EXISTS (SELECT 1 FROM sprint_membership_events e
                        WHERE e.sprint_id = OLD.id AND e.happened_at > NEW.completed_at) THEN
                RAISE EXCEPTION 'sprint % cannot close at %: its tasks joined, left or were re-estimated after that',
                                OLD.id, NEW.completed_at
                    USING ERRCODE = 'check_violation', CONSTRAINT = 'chk_sprints_closed_after_its_history',
                          TABLE = 'sprints', COLUMN = 'completed_at';
            END IF;
        END IF;
    ELSIF (NEW.activated_at, NEW.completed_at) IS DISTINCT FROM (OLD.activated_at, OLD.completed_at) THEN
        RAISE EXCEPTION 'sprint % keeps the instants it started and closed at', OLD.id
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_sprints_instants_fixed', TABLE = 'sprints';
    ELSIF OLD.state = 'active' AND NEW.timezone IS DISTINCT FROM OLD.timezone THEN
        RAISE EXCEPTION 'sprint % has started: its time zone is fixed', OLD.id
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_sprints_started_timezone_fixed', TABLE = 'sprints', COLUMN = 'timezone';
    END IF;
    RETURN NEW;
END;
$$;

-- The close itself, after the state change however it was made: every task of the
-- sprint that is neither completed nor cancelled moves (to the sprint sprint_close
-- named in worktrack.close_moves_to, else to the backlog), each move recorded as the
-- close's own, then the figures are stored (sprint_freeze). An import that closes
-- by hand rather than through sprint_close() replays its source's moves, as before.
CREATE OR REPLACE FUNCTION sprints_close_moves_open_work() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    named constant text[] := string_to_array(current_setting('worktrack.close_moves_to', true), ':');
    by_sprint_close constant boolean := coalesce(named[1] = NEW.id::text, false);
    move_to constant bigint := CASE WHEN by_sprint_close THEN nullif(named[2], '')::bigint END;
BEGIN
    IF NOT by_sprint_close AND importing() THEN
        RETURN NULL;  -- an import (import_begin) that closes by hand replays the moves its source recorded
    END IF;
    PERFORM set_config('worktrack.closing_sprint', NEW.id::text, true);
    UPDATE tasks t SET sprint_id = move_to
     WHERE t.sprint_id = NEW.id AND t.status NOT IN ('completed', 'cancelled');
    PERFORM set_config('worktrack.closing_sprint', '', true);
    PERFORM sprint_freeze(NEW.id);
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER trg_sprints_close_moves_open_work
    AFTER UPDATE OF state ON sprints
    FOR EACH ROW WHEN (OLD.state = 'active' AND NEW.state = 'closed')
    EXECUTE FUNCTION sprints_close_moves_open_work();

-- As 0040; the moves and the storing are the trigger's. The sprint and its tasks are
-- locked before the close instant is taken.
CREATE OR REPLACE FUNCTION sprint_close(sprint_id bigint, move_to bigint DEFAULT NULL,
                                        completed_at timestamptz DEFAULT NULL) RETURNS sprints
LANGUAGE plpgsql AS $$
DECLARE
    closed sprints;
    target_state text;
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
    -- a change of one of its tasks either commits before the close instant or waits for the close
    PERFORM 1 FROM tasks t WHERE t.sprint_id = sprint_close.sprint_id ORDER BY t.project_id, t.id FOR UPDATE;
    PERFORM set_config('worktrack.close_moves_to', sprint_id || ':' || coalesce(move_to::text, ''), true);
    UPDATE sprints s SET state = 'closed', completed_at = coalesce(sprint_close.completed_at, import_event_time())
     WHERE s.id = sprint_close.sprint_id
    RETURNING s.* INTO closed;
    PERFORM set_config('worktrack.close_moves_to', '', true);
    RETURN closed;
END;
$$;

-- As 0034; the close's moves are those made inside the close's trigger.
CREATE OR REPLACE FUNCTION tasks_record_sprint_membership() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    actor constant text := coalesce(nullif(current_setting('worktrack.actor', true), ''), session_user);
    -- set by sprints_close_moves_open_work around its moves (the depth shows this
    -- change is made by a trigger, that one, not by a session that set it itself),
    -- or by an import replaying the moves its source recorded at a close
    named constant text := nullif(current_setting('worktrack.closing_sprint', true), '');
    closing constant bigint := CASE WHEN named IS NOT NULL AND (pg_trigger_depth() > 1 OR importing())
                                    THEN named::bigint END;
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

-- The stored figures come only from a close (sprint_freeze, called by the close's
-- trigger), and leave only with their sprint or task.
CREATE OR REPLACE FUNCTION sprint_frozen_written_by_close() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' OR pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION '% on % refused: the figures of a closed sprint are stored by its close and are final',
                        TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_sprint_frozen_stored_by_close', TABLE = TG_TABLE_NAME,
                  HINT = 'close the sprint (sprint_close): it stores them';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER trg_sprint_frozen_tasks_stored_by_close
    BEFORE INSERT OR TRUNCATE ON sprint_frozen_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION sprint_frozen_written_by_close();
CREATE OR REPLACE TRIGGER trg_sprint_frozen_days_stored_by_close
    BEFORE INSERT OR TRUNCATE ON sprint_frozen_days
    FOR EACH STATEMENT EXECUTE FUNCTION sprint_frozen_written_by_close();
