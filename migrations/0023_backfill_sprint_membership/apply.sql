-- squawk-disable-assume-in-transaction
-- Backfill: every task that is in a sprint today gets one "joined" event, dated
-- at the later of its creation and the sprint's start (activated_at, else the
-- start date's midnight in the sprint's time zone), with the actor
-- 'membership backfill' so a report can tell it apart. Nothing older is known: a
-- sprint's figures before this migration rest on that one event per task. Then
-- the CHECKs 0021 added NOT VALID are validated. Batches of 5,000 tasks in key
-- order, each committed; tasks that already have an event are skipped, so the
-- file completes when run again.
-- Fail fast instead of queueing behind a long lock; the scans may take long.
SET lock_timeout = '5s';
SET statement_timeout = 0;

DO $$
DECLARE
    last_project bigint := 0;
    last_id bigint := 0;
    batch int;
    added int;
    total bigint := 0;
BEGIN
    LOOP
        WITH picked AS (
            SELECT t.project_id, t.id, t.sprint_id, t.story_points, t.created_at
              FROM tasks t
             WHERE (t.project_id, t.id) > (last_project, last_id)
             ORDER BY t.project_id, t.id
             LIMIT 5000
        ), inserted AS (
            INSERT INTO sprint_membership_events (project_id, task_id, sprint_id, change, points_after, actor,
                                                  happened_at)
            SELECT p.project_id, p.id, p.sprint_id, 'joined', p.story_points, 'membership backfill',
                   greatest(p.created_at, coalesce(s.activated_at,
                                                   s.start_date::timestamp AT TIME ZONE sprint_timezone(s.id, s.timezone),
                                                   p.created_at))
              FROM picked p
              JOIN sprints s ON s.id = p.sprint_id
             WHERE NOT EXISTS (SELECT 1 FROM sprint_membership_events e
                                WHERE e.project_id = p.project_id AND e.task_id = p.id)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM picked), (SELECT count(*) FROM inserted),
               (SELECT project_id FROM picked ORDER BY project_id DESC, id DESC LIMIT 1),
               (SELECT id FROM picked ORDER BY project_id DESC, id DESC LIMIT 1)
          INTO batch, added, last_project, last_id;
        total := total + added;
        COMMIT;
        EXIT WHEN batch < 5000;
    END LOOP;
    RAISE NOTICE 'sprint membership backfill: % task(s) in a sprint got a "joined" event (actor ''membership backfill'')',
        total;
END
$$;

-- Legacy rows that break the new rules are reported, not guessed at.
DO $$
DECLARE
    n bigint;
    ids text;
BEGIN
    SELECT count(*), string_agg(id::text, ', ' ORDER BY id) FILTER (WHERE id IS NOT NULL)
      INTO n, ids
      FROM (SELECT id FROM sprints
             WHERE NOT (state = 'closed' OR completed_at IS NULL AND (state = 'active' OR activated_at IS NULL))
                OR completed_at < activated_at
             ORDER BY id LIMIT 20) bad;
    IF n > 0 THEN
        RAISE EXCEPTION 'sprints break chk_sprints_lifecycle_instants or chk_sprints_closed_after_start (ids %)', ids
            USING HINT = 'correct those sprints (each rule is in migrations/0021), then run this migration again';
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE sprints VALIDATE CONSTRAINT chk_sprints_lifecycle_instants;
    COMMIT;
    ALTER TABLE sprints VALIDATE CONSTRAINT chk_sprints_closed_after_start;
    COMMIT;
END
$$;
