-- depends: 0008_task_history
-- Dependencies form a DAG inside one project: task_id waits for depends_on_id.
-- Both ends carry project_id in their foreign keys, so an edge cannot cross projects.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS task_dependencies (
    project_id    bigint NOT NULL,
    task_id       bigint NOT NULL,
    depends_on_id bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT task_dependencies_pkey PRIMARY KEY (project_id, task_id, depends_on_id),
    CONSTRAINT fk_task_dependencies_task FOREIGN KEY (project_id, task_id)
        REFERENCES tasks (project_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_task_dependencies_depends_on FOREIGN KEY (project_id, depends_on_id)
        REFERENCES tasks (project_id, id) ON DELETE CASCADE,
    CONSTRAINT chk_task_dependencies_not_self CHECK (task_id <> depends_on_id)
);
-- fk_task_dependencies_task is served by the primary key; this serves the other
-- end ("what waits for this task?") and the cascade when that task is deleted.
CREATE INDEX IF NOT EXISTS idx_task_dependencies_project_depends_on
    ON task_dependencies (project_id, depends_on_id);

-- Refuses an edge that would close a cycle. Edges of one project are added one
-- transaction at a time (an advisory lock), and under READ COMMITTED the search
-- then sees every edge committed before the lock, so two concurrent inserts cannot
-- each miss the other's half of a cycle. SERIALIZABLE is safe too (its conflict
-- detection aborts one of them); REPEATABLE READ would search an older snapshot,
-- so edges are refused there.
CREATE OR REPLACE FUNCTION task_dependencies_refuse_cycle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.task_id = NEW.depends_on_id THEN
        RETURN NEW;  -- a self edge is chk_task_dependencies_not_self's to refuse
    END IF;
    IF current_setting('transaction_isolation') = 'repeatable read' THEN
        RAISE EXCEPTION 'add dependencies under READ COMMITTED or SERIALIZABLE'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'REPEATABLE READ would check for cycles in a stale snapshot';
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

CREATE OR REPLACE TRIGGER trg_task_dependencies_refuse_cycle
    BEFORE INSERT OR UPDATE ON task_dependencies
    FOR EACH ROW EXECUTE FUNCTION task_dependencies_refuse_cycle();
