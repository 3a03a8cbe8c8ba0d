-- depends: 0039_sprint_side_documents
-- A closed sprint never changes, so its report is computed once, when it closes,
-- and stored: one row per task it had, with that task's figures as of the
-- sprint's start and close (the definitions of DESIGN.md §1, which move here from
-- sql/queries/report.sql into sprint_report_tasks()). The report of a closed
-- sprint and the velocity of later sprints read these rows; the report of an
-- active sprint computes the same rows on the fly. sprint_close stores them in
-- the closing transaction, after the close's moves (sprint_freeze).
-- Sprints closed before this migration get their rows here, by the same function.
-- Also: a sprint cannot start in the future (chk_sprints_activated_not_future).
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '600s';

CREATE TABLE IF NOT EXISTS sprint_frozen_tasks (
    sprint_id          bigint NOT NULL,
    project_id         bigint NOT NULL,
    task_id            bigint NOT NULL,
    key                text NOT NULL,
    created_at         timestamptz,
    started_at         timestamptz,    -- first in_progress, up to the close
    completed_at       timestamptz,    -- last completion, up to the close
    status_at_close    text,
    points_at_start    numeric(6,2),
    points_at_close    numeric(6,2),
    points_when_joined numeric(6,2),   -- its last joining after the start
    joined_at          timestamptz,
    removed_points     numeric,
    removed_at         timestamptz,
    reestimated_points numeric NOT NULL,
    committed          boolean NOT NULL,
    is_added           boolean NOT NULL,
    removed            boolean NOT NULL,
    in_at_close        boolean NOT NULL,
    completed_in       boolean NOT NULL,
    completed_outside  boolean NOT NULL,
    carried_over       boolean NOT NULL,
    moved_at_close     boolean NOT NULL,
    moved_to           bigint,         -- a record, not a reference (like moved_to_sprint_id)
    CONSTRAINT sprint_frozen_tasks_pkey PRIMARY KEY (sprint_id, project_id, task_id),
    CONSTRAINT fk_sprint_frozen_tasks_sprint FOREIGN KEY (sprint_id)
        REFERENCES sprints (id) ON DELETE CASCADE,
    CONSTRAINT fk_sprint_frozen_tasks_task FOREIGN KEY (project_id, task_id)
        REFERENCES tasks (project_id, id) ON DELETE CASCADE
);
-- Serves fk_sprint_frozen_tasks_task (deleting a task).
CREATE INDEX IF NOT EXISTS idx_sprint_frozen_tasks_project_task ON sprint_frozen_tasks (project_id, task_id);
-- Velocity: the completed points of a closed sprint per project, index only.
CREATE INDEX IF NOT EXISTS idx_sprint_frozen_tasks_completed
    ON sprint_frozen_tasks (sprint_id, project_id) INCLUDE (points_at_close) WHERE completed_in;

-- Append-only like the histories it is computed from; rows go only with their
-- task or sprint (the cascades arrive after the parent row is gone).
CREATE OR REPLACE FUNCTION sprint_frozen_tasks_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND (
        NOT EXISTS (SELECT 1 FROM tasks WHERE project_id = OLD.project_id AND id = OLD.task_id)
        OR NOT EXISTS (SELECT 1 FROM sprints WHERE id = OLD.sprint_id)) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the figures of a closed sprint are final: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation',
              CONSTRAINT = 'chk_sprint_frozen_tasks_append_only', TABLE = 'sprint_frozen_tasks';
END;
$$;

CREATE OR REPLACE TRIGGER trg_sprint_frozen_tasks_append_only
    BEFORE UPDATE OR DELETE ON sprint_frozen_tasks
    FOR EACH ROW EXECUTE FUNCTION sprint_frozen_tasks_refuse_change();

-- A closed sprint's burndown as computed at its close (sprint_burndown_days).
CREATE TABLE IF NOT EXISTS sprint_frozen_days (
    sprint_id        bigint NOT NULL,
    day              date NOT NULL,
    i                bigint NOT NULL,    -- days since the first
    planned_days     bigint NOT NULL,
    scope_points     numeric NOT NULL,
    completed_points numeric NOT NULL,
    events           json NOT NULL,
    CONSTRAINT sprint_frozen_days_pkey PRIMARY KEY (sprint_id, day),
    CONSTRAINT fk_sprint_frozen_days_sprint FOREIGN KEY (sprint_id) REFERENCES sprints (id) ON DELETE CASCADE
);

CREATE OR REPLACE FUNCTION sprint_frozen_days_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM sprints WHERE id = OLD.sprint_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the burndown of a closed sprint is final: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation',
              CONSTRAINT = 'chk_sprint_frozen_days_append_only', TABLE = 'sprint_frozen_days';
END;
$$;

CREATE OR REPLACE TRIGGER trg_sprint_frozen_days_append_only
    BEFORE UPDATE OR DELETE ON sprint_frozen_days
    FOR EACH ROW EXECUTE FUNCTION sprint_frozen_days_refuse_change();

-- The instants a sprint's report is computed as of: its start (activated_at,
-- else the start date's midnight in its time zone) and its close (completed_at,
-- else the end of its end date; now() while active; none while future).
-- PL/pgSQL, not SQL, so sql/schema.sql loads its functions before its tables.
CREATE OR REPLACE FUNCTION sprint_window(s sprints, OUT timezone text, OUT starts timestamptz,
                                         OUT closes timestamptz)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    SELECT z.tz, a.starts,
           CASE s.state
                WHEN 'closed' THEN coalesce(s.completed_at, (s.end_date + 1)::timestamp AT TIME ZONE z.tz, a.starts)
                WHEN 'active' THEN greatest(now(), a.starts) END
      FROM (SELECT sprint_timezone(s.id, s.timezone) AS tz) z
     CROSS JOIN LATERAL (SELECT coalesce(s.activated_at, s.start_date::timestamp AT TIME ZONE z.tz) AS starts) a
      INTO sprint_window.timezone, sprint_window.starts, sprint_window.closes;
END;
$$;

-- Each task a sprint had up to `closes`, with its figures as of `starts` and
-- `closes`, from the sprint membership history and the task status history
-- (DESIGN.md §1, issue 10): committed, added, removed, re-estimated, completed
-- in the sprint, completed outside it, carried over, and where the close moved it.
-- Without JIT: as an inlined SQL function its estimated cost (a probe of task
-- history per task) made every report, even one that reads stored rows, pay over
-- a second of JIT compilation; its plan is index probes, which JIT does not help.
CREATE OR REPLACE FUNCTION sprint_report_tasks(sprint_id bigint, starts timestamptz, closes timestamptz)
RETURNS SETOF sprint_frozen_tasks
LANGUAGE plpgsql STABLE ROWS 2000 SET jit = off AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH in_view AS (
    SELECT sprint_report_tasks.sprint_id AS id, sprint_report_tasks.starts AS starts,
           sprint_report_tasks.closes AS closes
), member_events AS (  -- per task: the events that fix its membership at the start and at the close
    SELECT v.id AS sprint_id, v.starts, v.closes, e.project_id, e.task_id,
           (array_agg(e ORDER BY e.happened_at DESC, e.id DESC) FILTER (WHERE e.happened_at <= v.starts))[1]
               AS last_by_start,
           -- the close's own moves happen at the close: "at the close" is just before them
           (array_agg(e ORDER BY e.happened_at DESC, e.id DESC) FILTER (WHERE NOT e.is_close_move))[1]
               AS last_by_close,
           (array_agg(e ORDER BY e.happened_at DESC, e.id DESC)
                FILTER (WHERE e.change = 'joined' AND e.happened_at > v.starts))[1] AS last_join_after_start,
           (array_agg(e ORDER BY e.happened_at DESC, e.id DESC)
                FILTER (WHERE e.change = 'left' AND NOT e.is_close_move))[1] AS last_removal,
           max(e.happened_at) FILTER (WHERE e.change = 'joined') AS last_joined_at,
           bool_or(e.is_close_move) AS moved_at_close,
           max(e.moved_to_sprint_id) FILTER (WHERE e.is_close_move) AS moved_to
      FROM in_view v
      JOIN sprint_membership_events e ON e.sprint_id = v.id AND e.happened_at <= v.closes
     GROUP BY v.id, v.starts, v.closes, e.project_id, e.task_id
), members AS (
    SELECT m.sprint_id, m.starts, m.closes, m.project_id, m.task_id,
           (m.last_by_start).change AS change_at_start, (m.last_by_start).points_after AS points_at_start,
           (m.last_by_close).change AS change_at_close, (m.last_by_close).points_after AS points_at_close,
           m.last_joined_at,
           (m.last_join_after_start).happened_at AS joined_at,
           (m.last_join_after_start).points_after AS points_when_joined,
           (m.last_removal).happened_at AS left_at, (m.last_removal).points_before AS points_when_left,
           m.moved_at_close, m.moved_to
      FROM member_events m
), as_of AS (  -- each task's status as of the start and the close, from its status history
    SELECT m.*, t.key, t.created_at,
           coalesce(h.status_at_start, h.status_before_start) AS status_at_start,
           coalesce(h.status_at_close, h.status_before_close) AS status_at_close,
           h.completed_at, h.cancelled_at, h.started_at
      FROM members m
     CROSS JOIN LATERAL (  -- one probe of tasks_pkey per member (LIMIT keeps it a probe)
            SELECT t.key, t.created_at FROM tasks t
             WHERE t.project_id = m.project_id AND t.id = m.task_id LIMIT 1) t
     CROSS JOIN LATERAL (
            -- the status a task had at an instant: what its last change before it made it,
            -- else what its first change after it started from (for the creation row of a
            -- task created earlier, by import or before history was kept: what it was created as)
            SELECT (array_agg(h.to_status ORDER BY h.changed_at DESC, h.id DESC)
                        FILTER (WHERE h.changed_at <= m.starts))[1] AS status_at_start,
                   (array_agg(coalesce(h.from_status, CASE WHEN t.created_at <= m.starts THEN h.to_status END)
                              ORDER BY h.changed_at, h.id)
                        FILTER (WHERE h.changed_at > m.starts))[1] AS status_before_start,
                   (array_agg(h.to_status ORDER BY h.changed_at DESC, h.id DESC)
                        FILTER (WHERE h.changed_at <= m.closes))[1] AS status_at_close,
                   (array_agg(coalesce(h.from_status, CASE WHEN t.created_at <= m.closes THEN h.to_status END)
                              ORDER BY h.changed_at, h.id)
                        FILTER (WHERE h.changed_at > m.closes))[1] AS status_before_close,
                   max(h.changed_at) FILTER (WHERE h.to_status = 'completed' AND h.changed_at <= m.closes)
                       AS completed_at,
                   max(h.changed_at) FILTER (WHERE h.to_status = 'cancelled' AND h.changed_at <= m.closes)
                       AS cancelled_at,
                   min(h.changed_at) FILTER (WHERE h.to_status = 'in_progress' AND h.changed_at <= m.closes)
                       AS started_at
              FROM task_history h
             WHERE h.project_id = m.project_id AND h.task_id = m.task_id) h
), classified AS (
    SELECT a.*,
           coalesce(a.change_at_start <> 'left' AND a.status_at_start NOT IN ('completed', 'cancelled'), false)
               AS committed,
           coalesce(a.change_at_close <> 'left', false) AS in_at_close,
           coalesce(a.change_at_close <> 'left' AND a.status_at_close = 'completed'
                    AND a.completed_at >= greatest(a.starts, a.last_joined_at), false) AS completed_in
      FROM as_of a
), figures AS (
    SELECT c.*,
           c.in_at_close AND c.status_at_close = 'completed' AND NOT c.completed_in AS completed_outside,
           added.is_added,
           (c.committed OR added.is_added)
               AND (NOT c.in_at_close OR c.status_at_close IS NOT DISTINCT FROM 'cancelled') AS removed,
           c.in_at_close AND c.status_at_close NOT IN ('completed', 'cancelled') AS carried_over
      FROM classified c
     CROSS JOIN LATERAL (
            SELECT NOT c.committed AND c.joined_at IS NOT NULL AND c.in_at_close
                   AND NOT (c.status_at_close = 'completed' AND NOT c.completed_in)
                   AND NOT coalesce(c.status_at_close = 'cancelled' AND c.cancelled_at <= c.joined_at, false)
                   AS is_added) added
)
    -- points a task brought into scope, took out of it, and its net re-estimate
SELECT f.sprint_id, f.project_id, f.task_id, f.key, f.created_at, f.started_at, f.completed_at,
       f.status_at_close, f.points_at_start, f.points_at_close, f.points_when_joined, f.joined_at,
       CASE WHEN f.removed AND NOT f.in_at_close THEN f.points_when_left
            WHEN f.removed THEN f.points_at_close END::numeric AS removed_points,
       CASE WHEN f.removed AND NOT f.in_at_close THEN f.left_at WHEN f.removed THEN f.cancelled_at END
           AS removed_at,
       CASE WHEN f.committed OR f.is_added
            THEN coalesce(CASE WHEN f.removed AND NOT f.in_at_close THEN f.points_when_left
                               ELSE f.points_at_close END, 0)
                 - coalesce(CASE WHEN f.committed THEN f.points_at_start ELSE f.points_when_joined END, 0)
            ELSE 0 END::numeric AS reestimated_points,
       f.committed, coalesce(f.is_added, false), coalesce(f.removed, false), f.in_at_close, f.completed_in,
       coalesce(f.completed_outside, false), coalesce(f.carried_over, false),
       coalesce(f.moved_at_close, false), f.moved_to
  FROM figures f;
END;
$$;

-- A sprint's burndown, one row per day in its time zone (DESIGN.md §1): scope
-- and completed points at the end of each day and the day's changes, from the
-- figures of its tasks (`tasks`: rows of sprint_report_tasks or stored ones) and
-- its re-estimates. Stored for a closed sprint with its tasks (sprint_freeze).
CREATE OR REPLACE FUNCTION sprint_burndown_days(sprint_id bigint, tasks sprint_frozen_tasks[])
RETURNS TABLE (day date, i bigint, planned_days bigint, scope_points numeric, completed_points numeric,
               events json)
LANGUAGE plpgsql STABLE SET jit = off AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH sprint AS (
    SELECT s.id, s.state, s.end_date, w.timezone AS tz, w.starts, w.closes,
           (w.starts AT TIME ZONE w.timezone)::date AS first_day,
           ((w.closes - interval '1 microsecond') AT TIME ZONE w.timezone)::date AS close_day
      FROM sprints s CROSS JOIN LATERAL sprint_window(s) w
     WHERE s.id = sprint_burndown_days.sprint_id
), this_tasks AS (
    SELECT t.*, pr.key AS project, s.starts
      FROM unnest(sprint_burndown_days.tasks) t
      JOIN projects pr ON pr.id = t.project_id
     CROSS JOIN sprint s
), day_span AS (
    SELECT s.first_day,
           least(CASE WHEN s.state = 'closed' THEN greatest(coalesce(s.end_date, s.close_day), s.close_day)
                      ELSE least(coalesce(s.end_date, s.close_day), s.close_day) END,
                 s.first_day + CASE WHEN s.end_date IS NULL THEN 89 ELSE 366 END) AS last_day,
           coalesce(s.end_date, s.close_day) AS planned_last_day
      FROM sprint s
     WHERE s.closes IS NOT NULL
), days AS (
    SELECT d::date AS day, row_number() OVER (ORDER BY d) - 1 AS i,
           greatest(ds.planned_last_day - ds.first_day, 1) AS planned_days
      FROM day_span ds, generate_series(ds.first_day, ds.last_day, interval '1 day') d
), changes AS (  -- what moved scope or completion, and when (this sprint's membership history)
    SELECT t.project, t.key, c.change, c.at, c.scope_delta, c.completed_delta, c.points
      FROM this_tasks t
     CROSS JOIN LATERAL (VALUES
            ('committed', t.starts, CASE WHEN t.committed THEN coalesce(t.points_at_start, 0) END, 0::numeric,
             t.points_at_start),
            ('joined', t.joined_at, CASE WHEN t.is_added THEN coalesce(t.points_when_joined, 0) END, 0,
             t.points_when_joined),
            (CASE WHEN t.in_at_close THEN 'cancelled' ELSE 'left' END, t.removed_at,
             CASE WHEN t.removed THEN -coalesce(t.removed_points, 0) END, 0, t.removed_points),
            ('completed', t.completed_at, CASE WHEN t.completed_in THEN 0 END,
             coalesce(t.points_at_close, 0), t.points_at_close)) c (change, at, scope_delta, completed_delta,
                                                                     points)
     WHERE c.scope_delta IS NOT NULL
    UNION ALL
    SELECT t.project, t.key, 'reestimated', e.happened_at,
           coalesce(e.points_after, 0) - coalesce(e.points_before, 0), 0, e.points_after
      FROM sprint_membership_events e
      JOIN this_tasks t ON t.project_id = e.project_id AND t.task_id = e.task_id
     WHERE e.sprint_id = sprint_burndown_days.sprint_id AND e.happened_at <= (SELECT closes FROM sprint)
       AND e.change = 'reestimated' AND (t.committed OR t.is_added)
       AND e.happened_at > coalesce(t.joined_at, t.starts)
), dated_changes AS (
    SELECT ch.*, least(greatest((ch.at AT TIME ZONE s.tz)::date, ds.first_day), ds.last_day) AS day
      FROM changes ch CROSS JOIN sprint s CROSS JOIN day_span ds
), correction AS (  -- re-estimates made while outside the sprint, counted on the last day (normally 0)
    SELECT (SELECT coalesce(sum(reestimated_points), 0) FROM this_tasks)
           - coalesce(sum(scope_delta) FILTER (WHERE change = 'reestimated'), 0) AS points
      FROM dated_changes
), day_changes AS (  -- each day's changes, summed and listed once
    SELECT ch.day, sum(ch.scope_delta) AS scope_delta, sum(ch.completed_delta) AS completed_delta,
           json_agg(json_build_object('change', ch.change, 'project', ch.project, 'key', ch.key,
                                      'points', ch.points, 'at', ch.at)
                    ORDER BY ch.at, ch.project, ch.key, ch.change) FILTER (WHERE ch.change <> 'committed') AS events
      FROM dated_changes ch
     GROUP BY ch.day
), history_burndown AS (  -- running sums up to the end of each day
    SELECT d.day, d.i, d.planned_days,
           sum(coalesce(c.scope_delta, 0)) OVER (ORDER BY d.day)
               + CASE WHEN d.day = (SELECT last_day FROM day_span) THEN (SELECT points FROM correction) ELSE 0 END
               AS scope_points,
           sum(coalesce(c.completed_delta, 0)) OVER (ORDER BY d.day) AS completed_points,
           coalesce(c.events, '[]'::json) AS events
      FROM days d LEFT JOIN day_changes c ON c.day = d.day
)
SELECT b.day, b.i, b.planned_days::bigint, b.scope_points, b.completed_points, b.events FROM history_burndown b;
END;
$$;

-- Store a closed sprint's rows and burndown, with its owner's rights (the API's role may
-- only read them). sprint_close calls it in the closing transaction, after the
-- close's moves; a second call stores nothing more, and a sprint that is not
-- closed is refused (its figures are not final).
CREATE OR REPLACE FUNCTION sprint_freeze(sprint_id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM sprints s WHERE s.id = sprint_freeze.sprint_id AND s.state = 'closed') THEN
        RAISE EXCEPTION 'sprint % is not closed: its figures are not final', sprint_id
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_sprint_frozen_tasks_sprint_closed', TABLE = 'sprint_frozen_tasks';
    END IF;
    INSERT INTO sprint_frozen_tasks
    SELECT f.*
      FROM sprints s
     CROSS JOIN LATERAL sprint_window(s) w
     CROSS JOIN LATERAL sprint_report_tasks(s.id, w.starts, w.closes) f
     WHERE s.id = sprint_freeze.sprint_id
    ON CONFLICT DO NOTHING;
    INSERT INTO sprint_frozen_days (sprint_id, day, i, planned_days, scope_points, completed_points, events)
    SELECT sprint_freeze.sprint_id, b.*
      FROM sprint_burndown_days(sprint_freeze.sprint_id,
                                (SELECT array_agg(f) FROM sprint_frozen_tasks f
                                  WHERE f.sprint_id = sprint_freeze.sprint_id)) b
     WHERE EXISTS (SELECT 1 FROM sprint_frozen_tasks f WHERE f.sprint_id = sprint_freeze.sprint_id)
    ON CONFLICT DO NOTHING;
END;
$$;

-- As 0021, and a sprint cannot start in the future: its start is an instant that
-- happened (now() unless an import gives the real one).
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

-- As 0034, and the closed sprint's figures are stored (sprint_freeze) once its
-- open work has moved.
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

-- Sprints closed before now: their rows, by the same definitions.
DO $$
BEGIN
    PERFORM sprint_freeze(id) FROM sprints WHERE state = 'closed';
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'worktrack_api') THEN
        -- written by the close's trigger only
        GRANT SELECT ON sprint_frozen_tasks, sprint_frozen_days TO worktrack_api;
    END IF;
END
$$;

-- The second wall (0037) on the stored figures: a task's stored row is seen through
-- its project's policy. A stored burndown day holds events of every project of the
-- sprint, so only an admin token sees it; a token of some of the projects gets the
-- burndown computed from the task rows it may see, as for an active sprint.
DO $$
BEGIN
    ALTER TABLE sprint_frozen_tasks ENABLE ROW LEVEL SECURITY;
    ALTER TABLE sprint_frozen_days ENABLE ROW LEVEL SECURITY;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'worktrack_api_admin') THEN
        DROP POLICY IF EXISTS token_projects ON sprint_frozen_tasks;
        CREATE POLICY token_projects ON sprint_frozen_tasks TO worktrack_api
            USING (project_id = ANY (worktrack_token_projects()))
            WITH CHECK (project_id = ANY (worktrack_token_projects()));
        DROP POLICY IF EXISTS admin_token ON sprint_frozen_tasks;
        CREATE POLICY admin_token ON sprint_frozen_tasks TO worktrack_api_admin USING (true) WITH CHECK (true);
        DROP POLICY IF EXISTS admin_token ON sprint_frozen_days;
        CREATE POLICY admin_token ON sprint_frozen_days TO worktrack_api_admin USING (true) WITH CHECK (true);
    END IF;
END
$$;
