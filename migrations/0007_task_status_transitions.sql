-- depends: 0006_tasks
-- The task lifecycle lives in the database, so a DBA's UPDATE obeys the same
-- rules as the API. Allowed moves are rows: a reviewer reads them as data.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS task_status_transitions (
    from_status text NOT NULL,
    to_status   text NOT NULL,
    CONSTRAINT task_status_transitions_pkey PRIMARY KEY (from_status, to_status),
    CONSTRAINT chk_task_status_transitions_from_status CHECK (from_status IN
        ('pending', 'in_progress', 'blocked', 'in_review', 'completed', 'cancelled')),
    CONSTRAINT chk_task_status_transitions_to_status CHECK (to_status IN
        ('pending', 'in_progress', 'blocked', 'in_review', 'completed', 'cancelled')),
    CONSTRAINT chk_task_status_transitions_not_self CHECK (from_status <> to_status)
);

INSERT INTO task_status_transitions (from_status, to_status) VALUES
    ('pending',     'in_progress'),
    ('pending',     'blocked'),
    ('pending',     'cancelled'),
    ('in_progress', 'pending'),
    ('in_progress', 'blocked'),
    ('in_progress', 'in_review'),
    ('in_progress', 'completed'),
    ('in_progress', 'cancelled'),
    ('blocked',     'pending'),
    ('blocked',     'in_progress'),
    ('blocked',     'cancelled'),
    ('in_review',   'in_progress'),
    ('in_review',   'completed'),
    ('in_review',   'cancelled'),
    ('completed',   'in_progress'),
    ('cancelled',   'pending')
ON CONFLICT DO NOTHING;

-- Refuses a move that is not in the table, and keeps the timestamps and the
-- claim in step with the status: completed_at while completed, started_at from
-- the first start, no lease outside in_progress, and no claimant on a task that
-- is pending again (so an agent that lost it cannot extend a lease on it).
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
    ELSIF NEW.status = 'completed' THEN
        -- An import may bring the real completion time; otherwise it is now.
        NEW.completed_at := coalesce(NEW.completed_at, now());
    END IF;

    IF NEW.status <> 'completed' THEN
        NEW.completed_at := NULL;
    END IF;
    IF NEW.status = 'in_progress' THEN
        NEW.started_at := coalesce(NEW.started_at, now());
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

CREATE OR REPLACE TRIGGER trg_tasks_status_change
    BEFORE INSERT OR UPDATE OF status ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_apply_status_change();
