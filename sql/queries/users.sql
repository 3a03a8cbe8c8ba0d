-- name: user_insert :one
INSERT INTO users AS u (email, username, full_name, jira_account_id, is_active, is_superuser, settings)
VALUES (%(email)s, %(username)s, %(full_name)s, %(jira_account_id)s, %(is_active)s, %(is_superuser)s,
        %(settings)s)
RETURNING user_json(u)::text;

-- name: user_get :one
SELECT user_json(u)::text FROM users u WHERE u.id = %(id)s;

-- name: user_list :one
-- A page of users in id order; optionally only active ones, or those whose
-- settings contain a JSON object (idx_users_settings).
WITH page AS (
    SELECT u.id FROM users u
     WHERE u.id > %(after_id)s
       AND (%(is_active)s::boolean IS NULL OR u.is_active = %(is_active)s)
       AND (%(settings)s::jsonb IS NULL OR u.settings @> %(settings)s::jsonb)
     ORDER BY u.id
     LIMIT %(limit)s + 1
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM page
)
SELECT api_page(
    coalesce(array_to_json(array_agg(user_json(u) ORDER BY n) FILTER (WHERE n <= %(limit)s)), '[]'::json),
    max(api_cursor(u.id::text)) FILTER (WHERE n = %(limit)s AND EXISTS (
                SELECT 1 FROM numbered later WHERE later.n > %(limit)s)))::text
  FROM numbered JOIN users u ON u.id = numbered.id;

-- name: user_update :one
UPDATE users u
   SET (email, username, full_name, jira_account_id, is_active, is_superuser, settings) =
       (SELECT r.email, r.username, r.full_name, r.jira_account_id, r.is_active, r.is_superuser, r.settings
          FROM jsonb_populate_record(u, %(patch)s::jsonb) r)
 WHERE u.id = %(id)s
RETURNING user_json(u)::text;

-- name: user_delete :one
DELETE FROM users WHERE id = %(id)s RETURNING id;
