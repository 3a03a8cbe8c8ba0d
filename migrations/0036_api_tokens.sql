-- depends: 0035_cycle_guard_edges_only
-- API tokens: who may call the API, with which role, on which projects.
-- Only a digest of the token is stored (SHA-256: the token carries 256 random
-- bits, so a slow password hash would add cost and no safety). A token holds
-- the instance role `admin`, or one project role (read, write, agent) on the
-- projects listed in api_token_projects. Deleting a project drops it from the
-- tokens' lists. Revoked and expired tokens stay, for the record.
-- New tables: no lock on anything that serves traffic.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY,
    name         text        NOT NULL,
    token_hash   bytea       NOT NULL,
    role         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT pk_api_tokens PRIMARY KEY (id),
    CONSTRAINT uq_api_tokens_name UNIQUE (name),
    CONSTRAINT uq_api_tokens_token_hash UNIQUE (token_hash),
    CONSTRAINT chk_api_tokens_name_length CHECK (length(name) BETWEEN 1 AND 100),
    CONSTRAINT chk_api_tokens_token_hash_length CHECK (length(token_hash) = 32),
    CONSTRAINT chk_api_tokens_role CHECK (role IN ('admin', 'read', 'write', 'agent')),
    CONSTRAINT chk_api_tokens_expires_after_creation CHECK (expires_at IS NULL OR expires_at > created_at)
);

CREATE TABLE IF NOT EXISTS api_token_projects (
    token_id   bigint NOT NULL,
    project_id bigint NOT NULL,
    CONSTRAINT pk_api_token_projects PRIMARY KEY (token_id, project_id),
    CONSTRAINT fk_api_token_projects_token FOREIGN KEY (token_id) REFERENCES api_tokens (id) ON DELETE CASCADE,
    CONSTRAINT fk_api_token_projects_project FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE
);
-- Deleting a project finds the tokens that list it.
CREATE INDEX IF NOT EXISTS idx_api_token_projects_project_id ON api_token_projects (project_id);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'worktrack_api') THEN
        -- The API checks tokens, notes their last use, and lets admins manage them.
        GRANT SELECT, INSERT, UPDATE ON api_tokens TO worktrack_api;
        GRANT SELECT, INSERT, DELETE ON api_token_projects TO worktrack_api;
    END IF;
END
$$;
