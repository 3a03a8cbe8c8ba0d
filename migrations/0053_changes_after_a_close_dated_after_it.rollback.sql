-- squawk-ignore-file ban-drop-function
-- Back to 0052: changes dated at their transaction's start, whatever closed meanwhile.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE OR REPLACE FUNCTION public.task_history_stamp() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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
    NEW.token := nullif(current_setting('worktrack.token', true), '');
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION public.tasks_record_sprint_membership() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
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

CREATE OR REPLACE FUNCTION public.tasks_record_history() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public', 'pg_temp'
    AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
        RETURN NULL;
    END IF;
    INSERT INTO task_history (project_id, task_id, from_status, to_status, actor, note, evidence)
    VALUES (NEW.project_id, NEW.id,
            CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
            NEW.status,
            coalesce(nullif(current_setting('worktrack.actor', true), ''), session_user),
            nullif(current_setting('worktrack.note', true), ''),
            CASE WHEN TG_OP = 'INSERT' OR NEW.evidence IS DISTINCT FROM OLD.evidence THEN NEW.evidence END);
    RETURN NULL;
END;
$$;

DROP FUNCTION IF EXISTS task_change_time(bigint, bigint, bigint);
