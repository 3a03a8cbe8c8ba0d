-- depends: 0004_epics
-- Features (E04-F01) belong to one epic of the same project; deleting the epic
-- deletes its features (and, through them, their tasks).
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS features (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    project_id  bigint NOT NULL,
    epic_id     bigint NOT NULL,
    key         text NOT NULL,
    title       text NOT NULL,
    description text,
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT features_pkey PRIMARY KEY (project_id, id),
    CONSTRAINT uq_features_project_id_key UNIQUE (project_id, key),
    CONSTRAINT fk_features_epic FOREIGN KEY (project_id, epic_id)
        REFERENCES epics (project_id, id) ON DELETE CASCADE,
    CONSTRAINT chk_features_key_format CHECK (key ~ '^E[0-9]{2,}-F[0-9]{2,}$' AND length(key) <= 50),
    CONSTRAINT chk_features_title_not_blank CHECK (btrim(title) <> ''),
    CONSTRAINT chk_features_metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
);

-- Serves fk_features_epic (cascade from epics) and "features of an epic".
CREATE INDEX IF NOT EXISTS idx_features_project_epic ON features (project_id, epic_id);

CREATE OR REPLACE TRIGGER trg_features_updated_at
    BEFORE UPDATE ON features
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
