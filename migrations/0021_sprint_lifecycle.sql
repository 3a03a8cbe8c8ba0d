-- depends: 0020_validate_agent_queue_constraints
-- The sprint lifecycle in the database: future -> active -> closed, nothing else,
-- with the instants a report is computed as of (activated_at, completed_at) and
-- the IANA time zone whose days a burndown counts. start and close are functions,
-- so the API, the demo seed and an import of Jira history take the same path.
-- New columns are nullable (no rewrite); the new CHECKs are added NOT VALID (a
-- brief lock, new writes checked) and validated by 0023.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE sprints ADD COLUMN IF NOT EXISTS activated_at timestamptz;
ALTER TABLE sprints ADD COLUMN IF NOT EXISTS completed_at timestamptz;
-- NULL: the primary workstream's time zone, else UTC; fixed when the sprint starts.
ALTER TABLE sprints ADD COLUMN IF NOT EXISTS timezone text;
ALTER TABLE project_workstreams ADD COLUMN IF NOT EXISTS timezone text;

DO $$
DECLARE
    wanted constant text[][] := ARRAY[
        ['sprints', 'chk_sprints_lifecycle_instants',
         'CHECK (state = ''closed'' OR completed_at IS NULL AND (state = ''active'' OR activated_at IS NULL))'],
        ['sprints', 'chk_sprints_closed_after_start',
         'CHECK (completed_at >= activated_at)']
    ];
    i int;
BEGIN
    FOR i IN 1 .. array_length(wanted, 1) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_constraint
                        WHERE conname = wanted[i][2] AND conrelid = wanted[i][1]::regclass) THEN
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s NOT VALID',
                           wanted[i][1], wanted[i][2], wanted[i][3]);
        END IF;
    END LOOP;
END
$$;

-- A CHECK cannot read pg_timezone_names (and the list changes with tzdata), so a
-- trigger checks a time zone when it is written: chk_<table>_timezone_known.
CREATE OR REPLACE FUNCTION require_known_timezone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.timezone IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.timezone IS DISTINCT FROM OLD.timezone)
       AND NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = NEW.timezone) THEN
        -- Each rule named literally, so the name is found where it is raised.
        IF TG_TABLE_NAME = 'sprints' THEN
            RAISE EXCEPTION 'unknown time zone %', NEW.timezone
                USING ERRCODE = 'check_violation', CONSTRAINT = 'chk_sprints_timezone_known',
                      TABLE = TG_TABLE_NAME, COLUMN = 'timezone',
                      HINT = 'an IANA name from pg_timezone_names, e.g. Europe/Berlin';
        END IF;
        RAISE EXCEPTION 'unknown time zone %', NEW.timezone
            USING ERRCODE = 'check_violation', CONSTRAINT = 'chk_project_workstreams_timezone_known',
                  TABLE = TG_TABLE_NAME, COLUMN = 'timezone',
                  HINT = 'an IANA name from pg_timezone_names, e.g. Europe/Berlin';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER trg_project_workstreams_timezone_known
    BEFORE INSERT OR UPDATE OF timezone ON project_workstreams
    FOR EACH ROW EXECUTE FUNCTION require_known_timezone();

CREATE OR REPLACE TRIGGER trg_sprints_timezone_known
    BEFORE INSERT OR UPDATE OF timezone ON sprints
    FOR EACH ROW EXECUTE FUNCTION require_known_timezone();

-- The sprint's time zone as a report reads it: its own, else its primary (then
-- any active) workstream's, else UTC.
CREATE OR REPLACE FUNCTION sprint_timezone(sprint_id bigint, own text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN coalesce(own,
                    (SELECT w.timezone
                       FROM project_sprint_associations a
                       JOIN project_workstreams w ON w.id = a.workstream_id
                      WHERE a.sprint_id = sprint_timezone.sprint_id AND a.is_active AND w.timezone IS NOT NULL
                      ORDER BY a.association_type = 'primary' DESC, a.id
                      LIMIT 1),
                    'UTC');
END;
$$;

-- Only future -> active and active -> closed; a closed sprint never reopens, and
-- what its report is computed from (dates, instants, time zone) no longer changes.
-- Starting fixes the time zone; the instants are now() unless an import gives them.
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

CREATE OR REPLACE TRIGGER trg_sprints_state_change
    BEFORE UPDATE ON sprints
    FOR EACH ROW EXECUTE FUNCTION sprints_apply_state_change();

-- Start a future sprint: activated_at is now() unless given (imports), the start
-- date that day in the sprint's time zone unless set, and end_date if given.
-- NULL when there is no such sprint; a sprint that is not future is refused.
CREATE OR REPLACE FUNCTION sprint_start(sprint_id bigint, activated_at timestamptz DEFAULT NULL,
                                        end_date date DEFAULT NULL) RETURNS sprints
LANGUAGE plpgsql AS $$
DECLARE
    started sprints;
    starts constant timestamptz := coalesce(sprint_start.activated_at, now());
BEGIN
    SELECT * INTO started FROM sprints s WHERE s.id = sprint_start.sprint_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    ELSIF started.state <> 'future' THEN
        RAISE EXCEPTION 'sprint % is %: only a future sprint starts', sprint_id, started.state
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_sprints_state_transition', TABLE = 'sprints', COLUMN = 'state';
    END IF;
    UPDATE sprints s
       SET state = 'active',
           activated_at = starts,
           start_date = coalesce(s.start_date, (starts AT TIME ZONE sprint_timezone(s.id, s.timezone))::date),
           end_date = coalesce(sprint_start.end_date, s.end_date)
     WHERE s.id = sprint_start.sprint_id
    RETURNING s.* INTO started;
    RETURN started;
END;
$$;

-- Close an active sprint at completed_at (now() unless given) and move every task
-- in it that is neither completed nor cancelled to move_to (a sprint that is not
-- closed) or, when NULL, out of any sprint. The moves are recorded as membership
-- events of the close itself (worktrack.closing_sprint), at the close instant.
-- NULL when there is no such sprint.
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
