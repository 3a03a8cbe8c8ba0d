-- name: legacy_user_upsert :one
-- A legacy user, matched on email ignoring case; answers whether it was inserted.
INSERT INTO users (email, username, full_name, jira_account_id, is_active)
VALUES (%(email)s, %(username)s, %(full_name)s, %(jira_account_id)s, %(is_active)s)
ON CONFLICT ((lower(email))) DO UPDATE
   SET username = excluded.username,
       full_name = excluded.full_name,
       jira_account_id = excluded.jira_account_id,
       is_active = excluded.is_active
RETURNING xmax = 0 AS inserted;

-- name: legacy_sprint_upsert :one
-- A legacy sprint, matched on its Jira sprint id; answers whether it was inserted.
INSERT INTO sprints (jira_sprint_id, name, state, start_date, end_date, goal, jira_board_id, jira_project_key)
VALUES (%(jira_sprint_id)s, %(name)s, %(state)s, %(start_date)s, %(end_date)s, %(goal)s, %(jira_board_id)s,
        %(jira_project_key)s)
ON CONFLICT (jira_sprint_id) DO UPDATE
   SET name = excluded.name,
       state = excluded.state,
       start_date = excluded.start_date,
       end_date = excluded.end_date,
       goal = excluded.goal,
       jira_board_id = excluded.jira_board_id,
       jira_project_key = excluded.jira_project_key
RETURNING xmax = 0 AS inserted;
