-- depends: 0033_ready_filter_indexes
-- The import clock: history at a chosen time, only for an import. Until now any
-- session could set worktrack.event_at and write status history and sprint
-- membership events at any time it liked. Now the triggers honour it only in a
-- transaction that import_begin() registered, and import_begin() is a SECURITY
-- DEFINER function whose EXECUTE is revoked from PUBLIC and granted to the role
-- worktrack_importer (and kept by the schema owner, which the demo seed runs as).
-- The API's role has neither, so its set_config of worktrack.event_at is ignored.
-- In such a transaction imported history is stored as the source recorded it:
-- status moves the lifecycle would refuse (To Do -> Done) and joins of sprints
-- already closed are let through. Outside it every change obeys the lifecycle.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- Roles are cluster-wide: created once, shared by every database of the cluster.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'worktrack_importer') THEN
        CREATE ROLE worktrack_importer NOLOGIN;
    END IF;
END
$$;

-- One row per import transaction; rows of finished transactions are pruned by
-- the next import_begin(). Nobody but the owner reads or writes it directly.
CREATE TABLE IF NOT EXISTS import_transactions (
    xact_id  xid8 NOT NULL,
    source   text NOT NULL,
    began_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT import_transactions_pkey PRIMARY KEY (xact_id),
    CONSTRAINT chk_import_transactions_source_not_blank CHECK (btrim(source) <> '')
);
REVOKE ALL ON import_transactions FROM PUBLIC;

-- Even a role given every table (GRANT ... ON ALL TABLES) cannot register itself:
-- rows come only through import_begin(), which runs as the table's owner.
CREATE OR REPLACE FUNCTION import_transactions_only_through_import_begin() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'USAGE') THEN
        RAISE EXCEPTION 'an import transaction is opened by import_begin() only'
            USING ERRCODE = 'insufficient_privilege', TABLE = 'import_transactions';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER trg_import_transactions_only_through_import_begin
    BEFORE INSERT OR UPDATE ON import_transactions
    FOR EACH ROW EXECUTE FUNCTION import_transactions_only_through_import_begin();

-- Register the current transaction as an import from `source` (e.g. 'jira').
CREATE OR REPLACE FUNCTION import_begin(source text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM import_transactions WHERE xact_id < pg_snapshot_xmin(pg_current_snapshot());
    INSERT INTO import_transactions (xact_id, source) VALUES (pg_current_xact_id(), import_begin.source)
    ON CONFLICT (xact_id) DO NOTHING;
END;
$$;
REVOKE ALL ON FUNCTION import_begin(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION import_begin(text) TO worktrack_importer;

-- Is the current transaction an import? Anyone may ask (the triggers do).
-- PL/pgSQL, not SQL, so sql/schema.sql loads its functions before its tables.
CREATE OR REPLACE FUNCTION importing() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    RETURN pg_current_xact_id_if_assigned() IS NOT NULL
           AND EXISTS (SELECT 1 FROM import_transactions WHERE xact_id = pg_current_xact_id_if_assigned());
END;
$$;

-- The time an imported change happened: worktrack.event_at, in an import only.
CREATE OR REPLACE FUNCTION import_event_time() RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN CASE WHEN importing() THEN nullif(current_setting('worktrack.event_at', true), '')::timestamptz END;
END;
$$;

-- As 0026, but an import's status moves are stored as recorded.
CREATE OR REPLACE FUNCTION tasks_apply_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.status = OLD.status THEN
            RETURN NEW;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM task_status_transitions
                        WHERE from_status = OLD.status AND to_status = NEW.status)
           AND NOT importing() THEN
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

-- As 0022, with the import clock; an import may rebuild membership of a closed sprint.
CREATE OR REPLACE FUNCTION tasks_record_sprint_membership() RETURNS trigger
LANGUAGE plpgsql AS $$
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
-- Written with its owner's rights, as 0032 made it: the API's role may not write
-- membership history itself.
ALTER FUNCTION tasks_record_sprint_membership() SECURITY DEFINER;
ALTER FUNCTION tasks_record_sprint_membership() SET search_path = pg_catalog, public;

CREATE OR REPLACE FUNCTION tasks_take_event_time() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    happened constant timestamptz := import_event_time();
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
    NEW.changed_at := coalesce(import_event_time(), NEW.changed_at);
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

-- As 0025, with the import clock: only an import's rows carry a past instant.
CREATE OR REPLACE FUNCTION task_history_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        -- now(), or inside an import (import_begin) the instant it replays.
        NEW.changed_at := coalesce(import_event_time(), now());
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
