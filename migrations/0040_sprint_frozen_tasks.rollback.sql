-- squawk-ignore-file ban-drop-function, ban-drop-table -- a rollback drops only what its own migration created
-- Back to 0034: the lifecycle functions' earlier bodies (sprints_apply_state_change
-- as 0021 made it, sprint_close as 0034 made it), then the stored figures go.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

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

-- As 0021; the close's default instant is the import clock's, not any session's setting.
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
    RETURN closed;
END;
$$;

DROP FUNCTION IF EXISTS sprint_freeze(bigint);
DROP FUNCTION IF EXISTS sprint_burndown_days(bigint, sprint_frozen_tasks[]);
DROP FUNCTION IF EXISTS sprint_report_tasks(bigint, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS sprint_window(sprints);
DROP TABLE IF EXISTS sprint_frozen_days;
DROP FUNCTION IF EXISTS sprint_frozen_days_refuse_change();
DROP TABLE IF EXISTS sprint_frozen_tasks;
DROP FUNCTION IF EXISTS sprint_frozen_tasks_refuse_change();
