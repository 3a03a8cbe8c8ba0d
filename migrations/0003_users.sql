-- depends: 0002_projects
-- Users: assignees of tasks and, later, owners of capacities and queues.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL,
    username        text NOT NULL,
    full_name       text,
    jira_account_id text,
    is_active       boolean NOT NULL DEFAULT true,
    is_superuser    boolean NOT NULL DEFAULT false,
    settings        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chk_users_email_format CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT chk_users_username_not_blank CHECK (btrim(username) <> ''),
    CONSTRAINT chk_users_settings_is_object CHECK (jsonb_typeof(settings) = 'object')
);

-- Email is unique ignoring case: Ann@x.org and ann@x.org are one person.
CREATE UNIQUE INDEX IF NOT EXISTS uq_users_email_lower ON users (lower(email));
-- One user per Jira account, where the account is known.
CREATE UNIQUE INDEX IF NOT EXISTS uq_users_jira_account_id ON users (jira_account_id)
    WHERE jira_account_id IS NOT NULL;
-- Settings are searched by containment (settings @> '{"theme": "dark"}').
CREATE INDEX IF NOT EXISTS idx_users_settings ON users USING gin (settings jsonb_path_ops);

CREATE OR REPLACE TRIGGER trg_users_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
