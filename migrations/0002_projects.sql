-- depends: 0001_updated_at_function
-- Projects: every work item belongs to exactly one; the key is unique ignoring case.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS projects (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         text NOT NULL,
    name        text NOT NULL,
    description text,
    is_active   boolean NOT NULL DEFAULT true,
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chk_projects_key_format CHECK (key ~ '^[A-Za-z][A-Za-z0-9_-]{0,99}$'),
    CONSTRAINT chk_projects_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT chk_projects_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);

-- Case-insensitive uniqueness: 'PROJ' and 'proj' are the same project.
CREATE UNIQUE INDEX IF NOT EXISTS uq_projects_key_lower ON projects (lower(key));

CREATE OR REPLACE TRIGGER trg_projects_updated_at
    BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
