-- depends: 0025_task_history_integrity
-- squawk-ignore-file prefer-bigint-over-int -- counts of dependencies and attempts are range-checked and cannot approach the 32-bit limit
-- The agent queue's promises, kept by the database:
-- * Readiness is bookkept, not searched: each dependency edge says whether its
--   blocker is finished (is_satisfied: completed or cancelled), and each task
--   counts its unsatisfied edges (unfinished_dependencies). A task is ready
--   when it is pending and the count is 0, so the ready-queue index (0028)
--   holds only ready tasks and a claim's cost does not grow with the tasks
--   that wait. A cancelled dependency is satisfied: it will not be done, so
--   nothing waits for it (the task document lists what a task still waits on).
-- * The counts change only by row updates of the dependent task, so a claim
--   (FOR UPDATE SKIP LOCKED on that row) can never hand out a task whose
--   blocker is being reopened, and a reopen waits for a claim in flight.
--   Reopening (or restoring) a task whose dependents have started is refused.
--   Adding an edge updates the blocker's row, so a REPEATABLE READ or
--   SERIALIZABLE transaction that changes the blocker's status concurrently
--   fails to serialize instead of missing the new edge.
-- * Edges are added under READ COMMITTED only: the cycle search must see every
--   edge committed before the project's lock, which no older snapshot does.
-- * A task in progress always has an owner and a lease (a CHECK): the agent
--   that claimed it keeps it through block / unblock and review / rework, and
--   gets a fresh lease (5 minutes, like a claim's default) when it comes back;
--   a task put in progress without a claim is owned by the actor who put it
--   there (worktrack.actor, else the database user), with the same lease. So
--   every task in progress is either heartbeated or found by lease reclaim.
-- * projects.max_attempts (default 5): the reclaim blocks a task, with the
--   reason, instead of returning it to pending once its attempts are used up.
-- The new columns have constant defaults (no rewrite); the CHECK is added NOT
-- VALID and validated by 0027.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER TABLE task_dependencies ADD COLUMN IF NOT EXISTS is_satisfied boolean NOT NULL DEFAULT false;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS unfinished_dependencies integer NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN IF NOT EXISTS max_attempts integer NOT NULL DEFAULT 5;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'chk_projects_max_attempts_range') THEN
        ALTER TABLE projects ADD CONSTRAINT chk_projects_max_attempts_range
            CHECK (max_attempts BETWEEN 1 AND 1000) NOT VALID;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'chk_tasks_in_progress_is_leased') THEN
        ALTER TABLE tasks ADD CONSTRAINT chk_tasks_in_progress_is_leased
            CHECK (status <> 'in_progress' OR (claimed_by IS NOT NULL AND lease_expires_at IS NOT NULL))
            NOT VALID;
    END IF;
END
$$;

-- Room on each page for a heartbeat's new row version: a HOT update.
ALTER TABLE tasks SET (fillfactor = 90);

-- Backfill, before the triggers below exist (and a no-op when run again).
UPDATE task_dependencies d SET is_satisfied = true
  FROM tasks b
 WHERE b.project_id = d.project_id AND b.id = d.depends_on_id
   AND b.status IN ('completed', 'cancelled') AND NOT d.is_satisfied;
UPDATE tasks t SET unfinished_dependencies = c.unsatisfied
  FROM (SELECT project_id, task_id, count(*) FILTER (WHERE NOT is_satisfied) AS unsatisfied
          FROM task_dependencies GROUP BY project_id, task_id) c
 WHERE t.project_id = c.project_id AND t.id = c.task_id AND t.unfinished_dependencies <> c.unsatisfied;
-- Tasks in progress without an owner or a lease get both, so reclaim finds them.
UPDATE tasks SET claimed_by = coalesce(claimed_by, session_user),
                 lease_expires_at = coalesce(lease_expires_at, now() + interval '5 minutes')
 WHERE status = 'in_progress' AND (claimed_by IS NULL OR lease_expires_at IS NULL);
ALTER TABLE projects VALIDATE CONSTRAINT chk_projects_max_attempts_range;

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

-- The dependency bookkeeping is written only by these triggers.
CREATE OR REPLACE FUNCTION tasks_refuse_bookkeeping_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() = 1 AND NEW.unfinished_dependencies <> OLD.unfinished_dependencies THEN
        RAISE EXCEPTION 'unfinished_dependencies of task % is kept by the database', OLD.key
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_tasks_unfinished_dependencies_kept',
                  TABLE = 'tasks', COLUMN = 'unfinished_dependencies';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER trg_tasks_unfinished_dependencies_kept
    BEFORE UPDATE OF unfinished_dependencies ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_refuse_bookkeeping_change();

-- A task that becomes finished or unfinished flips the edges that wait on it
-- (their trigger counts the change on each dependent, locking its row). A task
-- leaving completed or cancelled while a dependent has started is refused.
CREATE OR REPLACE FUNCTION tasks_update_dependents() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    finished boolean := NEW.status IN ('completed', 'cancelled');
    started text;
BEGIN
    IF finished = (OLD.status IN ('completed', 'cancelled')) THEN
        RETURN NULL;
    END IF;
    UPDATE task_dependencies d SET is_satisfied = finished
     WHERE d.project_id = NEW.project_id AND d.depends_on_id = NEW.id AND d.is_satisfied <> finished;
    IF NOT finished THEN
        -- The flips above waited for any claim in flight on a dependent; this
        -- statement's snapshot sees those claims committed.
        SELECT string_agg(format('%s (%s)', t.key, t.status), ', ' ORDER BY t.key) INTO started
          FROM task_dependencies d
          JOIN tasks t ON t.project_id = d.project_id AND t.id = d.task_id
         WHERE d.project_id = NEW.project_id AND d.depends_on_id = NEW.id
           AND t.status IN ('in_progress', 'in_review', 'completed');
    END IF;
    IF started IS NOT NULL THEN
        RAISE EXCEPTION 'task % cannot leave % while tasks that depend on it have started: %',
                        NEW.key, OLD.status, started
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_tasks_dependents_not_started',
                  TABLE = 'tasks', COLUMN = 'status',
                  HINT = 'remove those dependencies, or move those tasks back first';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER trg_tasks_update_dependents
    AFTER UPDATE OF status ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_update_dependents();

-- An edge is added or removed, never changed: is_satisfied is kept by the
-- triggers here (a new edge starts from its blocker's status as this statement
-- sees it), and an edge's ends are its identity.
CREATE OR REPLACE FUNCTION task_dependencies_set_satisfied() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.is_satisfied := coalesce((SELECT status IN ('completed', 'cancelled') FROM tasks
                                       WHERE project_id = NEW.project_id AND id = NEW.depends_on_id), false);
    ELSIF pg_trigger_depth() = 1 THEN
        RAISE EXCEPTION 'dependencies are added and removed, not changed'
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_task_dependencies_not_updated',
                  TABLE = 'task_dependencies',
                  HINT = 'delete the edge and insert another';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER trg_task_dependencies_set_satisfied
    BEFORE INSERT OR UPDATE ON task_dependencies
    FOR EACH ROW EXECUTE FUNCTION task_dependencies_set_satisfied();

-- Each unsatisfied edge counts once on its dependent. Counts change by
-- increments on the dependent's row, which concurrent changes add up
-- correctly; one UPDATE per statement, however many edges it touched.
-- New edges then read their blockers again through an UPDATE of the
-- blockers' rows, which waits for a status change in flight and sees it (an
-- edge whose blocker changed meanwhile is corrected, and counted by the UPDATE
-- trigger), and gives each blocker a new row version, so that a REPEATABLE
-- READ or SERIALIZABLE transaction changing that status concurrently fails to
-- serialize instead of missing the new edge.
CREATE OR REPLACE FUNCTION task_dependencies_count_unfinished() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE tasks t SET unfinished_dependencies = t.unfinished_dependencies + c.added
          FROM (SELECT project_id, task_id, count(*) AS added FROM new_edges
                 WHERE NOT is_satisfied GROUP BY project_id, task_id) c
         WHERE t.project_id = c.project_id AND t.id = c.task_id;
        WITH blockers AS (
            UPDATE tasks b SET unfinished_dependencies = b.unfinished_dependencies
              FROM (SELECT DISTINCT project_id, depends_on_id FROM new_edges) n
             WHERE b.project_id = n.project_id AND b.id = n.depends_on_id
            RETURNING b.project_id, b.id, b.status IN ('completed', 'cancelled') AS finished
        ), changed AS (
            SELECT n.project_id, n.task_id, n.depends_on_id, blockers.finished
              FROM new_edges n
              JOIN blockers ON blockers.project_id = n.project_id AND blockers.id = n.depends_on_id
             WHERE n.is_satisfied <> blockers.finished
        )
        UPDATE task_dependencies d SET is_satisfied = changed.finished
          FROM changed
         WHERE d.project_id = changed.project_id AND d.task_id = changed.task_id
           AND d.depends_on_id = changed.depends_on_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE tasks t SET unfinished_dependencies = t.unfinished_dependencies - c.removed
          FROM (SELECT project_id, task_id, count(*) AS removed FROM old_edges
                 WHERE NOT is_satisfied GROUP BY project_id, task_id) c
         WHERE t.project_id = c.project_id AND t.id = c.task_id;
    ELSE
        UPDATE tasks t SET unfinished_dependencies = t.unfinished_dependencies + c.change
          FROM (SELECT project_id, task_id, sum(change) AS change
                  FROM (SELECT project_id, task_id, 1 AS change FROM new_edges WHERE NOT is_satisfied
                        UNION ALL
                        SELECT project_id, task_id, -1 FROM old_edges WHERE NOT is_satisfied) e
                 GROUP BY project_id, task_id) c
         WHERE t.project_id = c.project_id AND t.id = c.task_id AND c.change <> 0;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER trg_task_dependencies_count_inserted
    AFTER INSERT ON task_dependencies REFERENCING NEW TABLE AS new_edges
    FOR EACH STATEMENT EXECUTE FUNCTION task_dependencies_count_unfinished();
CREATE OR REPLACE TRIGGER trg_task_dependencies_count_updated
    AFTER UPDATE ON task_dependencies REFERENCING OLD TABLE AS old_edges NEW TABLE AS new_edges
    FOR EACH STATEMENT EXECUTE FUNCTION task_dependencies_count_unfinished();
CREATE OR REPLACE TRIGGER trg_task_dependencies_count_deleted
    AFTER DELETE ON task_dependencies REFERENCING OLD TABLE AS old_edges
    FOR EACH STATEMENT EXECUTE FUNCTION task_dependencies_count_unfinished();

-- Refuses an edge that would close a cycle. Edges of one project are added one
-- transaction at a time (an advisory lock), and under READ COMMITTED the search
-- then sees every edge committed before the lock, so two concurrent inserts cannot
-- each miss the other's half of a cycle. REPEATABLE READ and SERIALIZABLE search
-- the transaction's snapshot, which may predate an edge committed since (and
-- SERIALIZABLE's conflict detection does not see the edge it never read), so
-- edges are refused there.
CREATE OR REPLACE FUNCTION task_dependencies_refuse_cycle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.task_id = NEW.depends_on_id THEN
        RETURN NEW;  -- a self edge is chk_task_dependencies_not_self's to refuse
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'add dependencies under READ COMMITTED, not %',
                        upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'the cycle check must see every edge committed before it; '
                         'a transaction snapshot taken earlier may not';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('task_dependencies', NEW.project_id));
    IF EXISTS (
        WITH RECURSIVE upstream (id) AS (
            SELECT NEW.depends_on_id
            UNION
            SELECT d.depends_on_id
              FROM task_dependencies d
              JOIN upstream u ON d.project_id = NEW.project_id AND d.task_id = u.id
        )
        SELECT 1 FROM upstream WHERE id = NEW.task_id
    ) THEN
        RAISE EXCEPTION 'dependency % -> % would close a cycle', NEW.task_id, NEW.depends_on_id
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'chk_task_dependencies_acyclic',
                  TABLE = 'task_dependencies';
    END IF;
    RETURN NEW;
END;
$$;

-- The documents show a project's max_attempts and what a task still waits on.
CREATE OR REPLACE FUNCTION project_json(p projects) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT json_build_object(
        'key', p.key,
        'name', p.name,
        'description', p.description,
        'is_active', p.is_active,
        'metadata', p.metadata,
        'default_lease_seconds', p.default_lease_seconds,
        'max_lease_seconds', p.max_lease_seconds,
        'max_attempts', p.max_attempts,
        'created_at', p.created_at,
        'updated_at', p.updated_at)
$$;

CREATE OR REPLACE FUNCTION task_json(t tasks) RETURNS json
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    doc json;
BEGIN
    SELECT json_build_object(
               'key', t.key,
               'project', p.key,
               'epic', e.key,
               'feature', f.key,
               'sprint', t.sprint_id,
               'title', t.title,
               'description', t.description,
               'status', t.status,
               'priority', t.priority,
               'agent_type', t.agent_type,
               'generator_name', t.generator_name,
               'assignee', t.assignee_id,
               'claimed_by', t.claimed_by,
               'claimed_at', t.claimed_at,
               'lease_expires_at', t.lease_expires_at,
               'attempts', t.attempts,
               'inputs', t.inputs,
               'expected_outputs', t.expected_outputs,
               'context_notes', t.context_notes,
               'completion_notes', t.completion_notes,
               'blocked_reason', t.blocked_reason,
               'file_path', t.file_path,
               'story_points', t.story_points,
               'metadata', t.metadata,
               'depends_on', coalesce(
                   (SELECT json_agg(other.key ORDER BY other.key)
                      FROM task_dependencies d
                      JOIN tasks other ON other.project_id = d.project_id AND other.id = d.depends_on_id
                     WHERE d.project_id = t.project_id AND d.task_id = t.id),
                   '[]'::json),
               -- What the task still waits for: dependencies neither completed nor cancelled.
               'waiting_on', coalesce(
                   (SELECT json_agg(other.key ORDER BY other.key)
                      FROM task_dependencies d
                      JOIN tasks other ON other.project_id = d.project_id AND other.id = d.depends_on_id
                     WHERE d.project_id = t.project_id AND d.task_id = t.id AND NOT d.is_satisfied),
                   '[]'::json),
               'evidence', t.evidence,
               -- related links are stored in both directions: one probe of the
               -- primary key finds every link of the task.
               'related', coalesce(
                   (SELECT json_agg(other.key ORDER BY other.key)
                      FROM task_links l
                      JOIN tasks other ON other.project_id = l.project_id AND other.id = l.linked_task_id
                     WHERE l.project_id = t.project_id AND l.task_id = t.id AND l.kind = 'related'),
                   '[]'::json),
               'discovered_from', coalesce(
                   (SELECT json_agg(other.key ORDER BY other.key)
                      FROM task_links l
                      JOIN tasks other ON other.project_id = l.project_id AND other.id = l.linked_task_id
                     WHERE l.project_id = t.project_id AND l.task_id = t.id AND l.kind = 'discovered_from'),
                   '[]'::json),
               'created_at', t.created_at,
               'updated_at', t.updated_at,
               'started_at', t.started_at,
               'completed_at', t.completed_at)
      INTO doc
      FROM projects p
      LEFT JOIN features f ON f.project_id = t.project_id AND f.id = t.feature_id
      LEFT JOIN epics e ON e.project_id = f.project_id AND e.id = f.epic_id
     WHERE p.id = t.project_id;
    RETURN doc;
END;
$$;
