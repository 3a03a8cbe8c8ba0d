-- depends: 0051_sprint_reopened_in_scope
-- pg_timezone_names also lists three names that are not a place's time: localtime
-- (whatever zone the server's machine is set to, so a sprint's days would move
-- with the server), posixrules (the rules POSIX-style names default to) and
-- Factory (tzdata's "no zone set"); a server built with the system's tzdata lists
-- their copies under posix/ too. A sprint or workstream time zone written from now
-- may not be one of them. Rows already holding one keep it; a DBA finds them with
-- WHERE regexp_replace(timezone, '^posix/', '') IN ('localtime', 'posixrules', 'Factory').
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE OR REPLACE FUNCTION require_known_timezone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.timezone IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.timezone IS DISTINCT FROM OLD.timezone)
       AND (NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = NEW.timezone)
            OR regexp_replace(NEW.timezone, '^posix/', '') IN ('localtime', 'posixrules', 'Factory')) THEN
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
