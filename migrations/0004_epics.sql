-- depends: 0003_users
-- Epics (E04): the top level of a project's work. Keyed by project so that every
-- child can carry project_id in its foreign key and never sit in another project.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS epics (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    project_id  bigint NOT NULL,
    key         text NOT NULL,
    title       text NOT NULL,
    description text,
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT epics_pkey PRIMARY KEY (project_id, id),
    CONSTRAINT uq_epics_project_id_key UNIQUE (project_id, key),
    CONSTRAINT fk_epics_project FOREIGN KEY (project_id)
        REFERENCES projects (id) ON DELETE CASCADE,
    CONSTRAINT chk_epics_key_format CHECK (key ~ '^E[0-9]{2,}$' AND length(key) <= 50),
    CONSTRAINT chk_epics_title_not_blank CHECK (btrim(title) <> ''),
    CONSTRAINT chk_epics_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);
-- fk_epics_project is served by the primary key, which leads with project_id.

CREATE OR REPLACE TRIGGER trg_epics_updated_at
    BEFORE UPDATE ON epics
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
