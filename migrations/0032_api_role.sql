-- depends: 0031_drop_lease_index
-- The role the API connects as owns nothing and may do only what the API does
-- (docs/database-roles.md lists the grants and how to log in with them):
-- read and write the work items and the sprint side, read task history and
-- yoyo's list of applied migrations (/readyz). It cannot TRUNCATE, alter or
-- drop anything, nor write task history itself: the history trigger function
-- runs as its owner (SECURITY DEFINER, with a fixed search_path), so history
-- is written only by status changes.
-- worktrack_api is a NOLOGIN group role (roles belong to the cluster, so it is
-- created once and shared by every database that grants to it); a login role
-- is made a member of it. A migrator that may not create roles gets a NOTICE
-- and no grants: the deployment then keeps connecting as it did.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

ALTER FUNCTION tasks_record_history() SECURITY DEFINER;
ALTER FUNCTION tasks_record_history() SET search_path = pg_catalog, public;
-- Sprint membership history likewise: written only by its trigger.
ALTER FUNCTION tasks_record_sprint_membership() SECURITY DEFINER;
ALTER FUNCTION tasks_record_sprint_membership() SET search_path = pg_catalog, public;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'worktrack_api') THEN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user
                                               AND (rolsuper OR rolcreaterole)) THEN
            RAISE NOTICE 'role worktrack_api does not exist and % may not create it: no grants made',
                         current_user;
            RETURN;
        END IF;
        BEGIN
            CREATE ROLE worktrack_api NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it just now
        END;
    END IF;
    GRANT USAGE ON SCHEMA public TO worktrack_api;
    GRANT SELECT, INSERT, UPDATE, DELETE ON
        projects, epics, features, tasks, task_dependencies,
        users, sprints, sprint_analyses, project_workstreams, project_sprint_associations,
        project_sprint_metrics, reports, team_capacities, sprint_queue_items,
        task_links, idempotency_keys
        TO worktrack_api;
    GRANT SELECT ON task_history, task_status_transitions, sprint_membership_events TO worktrack_api;
    IF to_regclass('_yoyo_migration') IS NOT NULL THEN
        GRANT SELECT ON _yoyo_migration TO worktrack_api;
    END IF;
END
$$;
