-- depends: 0010_api_documents
-- squawk-ignore-file prefer-bigint-over-int -- counts, positions and priorities are range-checked and cannot approach the 32-bit limit
-- Sprints and their analyses as they stood before worktrack knew projects: a
-- sprint names its Jira project(s) only in the legacy text jira_project_key (one
-- key, or a comma-separated list for meta-board sprints), and an analysis belongs
-- to a sprint only. Later migrations evolve both the way a production database
-- holding millions of such rows must be evolved.
-- Fail fast instead of queueing behind a long lock; cap any one statement.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE IF NOT EXISTS sprints (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    jira_sprint_id   bigint NOT NULL,
    name             text NOT NULL,
    state            text NOT NULL DEFAULT 'future',
    start_date       date,
    end_date         date,
    goal             text,
    jira_board_id    bigint,
    jira_project_key text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_sprints_jira_sprint_id UNIQUE (jira_sprint_id)
);

CREATE OR REPLACE TRIGGER trg_sprints_updated_at
    BEFORE UPDATE ON sprints
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE IF NOT EXISTS sprint_analyses (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sprint_id              bigint NOT NULL,
    analysis_type          text NOT NULL,
    total_story_points     numeric(10,2) NOT NULL DEFAULT 0,
    completed_story_points numeric(10,2) NOT NULL DEFAULT 0,
    total_issues           integer NOT NULL DEFAULT 0,
    completed_issues       integer NOT NULL DEFAULT 0,
    discipline_breakdown   jsonb NOT NULL DEFAULT '{}'::jsonb,
    issue_details          jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE TRIGGER trg_sprint_analyses_updated_at
    BEFORE UPDATE ON sprint_analyses
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
