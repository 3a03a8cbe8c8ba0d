-- name: token_check :one
-- The token with this digest, its project ids, whether it is usable now, and the
-- id of the project the request names (NULL: no such project, or none named).
-- Last use is noted at most once a minute, so reads do not write on every call.
WITH found AS (
    SELECT id, name, role, expires_at, revoked_at, last_used_at, token_hash
      FROM api_tokens
     WHERE token_hash = %(token_hash)s
), touched AS (
    UPDATE api_tokens t SET last_used_at = now()
      FROM found
     WHERE t.id = found.id AND found.revoked_at IS NULL
       AND (found.expires_at IS NULL OR found.expires_at > now())
       AND (found.last_used_at IS NULL OR found.last_used_at < now() - interval '60 seconds')
    RETURNING t.id
)
SELECT found.id, found.name, found.role, found.token_hash,
       found.revoked_at IS NULL AND (found.expires_at IS NULL OR found.expires_at > now()) AS usable,
       ARRAY(SELECT project_id FROM api_token_projects WHERE token_id = found.id) AS project_ids,
       (SELECT p.id FROM projects p WHERE lower(p.key) = lower(%(project)s)) AS project_id
  FROM found
  LEFT JOIN touched ON touched.id = found.id;

-- name: token_create :one
INSERT INTO api_tokens (name, token_hash, role, expires_at)
VALUES (%(name)s, %(token_hash)s, %(role)s, now() + %(expires_in)s::interval)
RETURNING id;

-- name: token_add_project :one
-- The project by key (case-insensitive) added to the token's list; NULL when no such project.
INSERT INTO api_token_projects (token_id, project_id)
SELECT %(token_id)s, p.id FROM projects p WHERE lower(p.key) = lower(%(project)s)
RETURNING project_id;

-- name: token_list :many
SELECT coalesce(array_to_json(array_agg(row_to_json(d) ORDER BY t.id)), '[]'::json)
  FROM api_tokens t
 CROSS JOIN LATERAL (
        SELECT t.name, t.role,
               ARRAY(SELECT p.key FROM api_token_projects tp JOIN projects p ON p.id = tp.project_id
                      WHERE tp.token_id = t.id ORDER BY p.key) AS projects,
               t.created_at, t.expires_at, t.last_used_at, t.revoked_at) d;

-- name: token_revoke :one
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
 WHERE name = %(name)s
RETURNING id;

-- name: token_any_exists :one
SELECT EXISTS (SELECT 1 FROM api_tokens);

-- name: sprint_visible :one
-- Whether the sprint takes in one of these projects: by a workstream of the
-- project associated with it, or by a task of the project in it.
SELECT EXISTS (SELECT 1 FROM project_sprint_associations a
                 JOIN project_workstreams w ON w.id = a.workstream_id
                WHERE a.sprint_id = %(sprint_id)s AND w.project_id = ANY (%(project_ids)s))
    OR EXISTS (SELECT 1 FROM tasks t
                WHERE t.sprint_id = %(sprint_id)s AND t.project_id = ANY (%(project_ids)s));

-- name: connection_may_take_roles :one
-- Whether the login may take both API roles (service.access: a pooled
-- connection takes the role of the token it serves).
SELECT count(*) = 2 FROM pg_roles
 WHERE rolname IN (%(api_role)s, %(admin_role)s) AND pg_has_role(session_user, oid, 'MEMBER');

-- name: connection_set_scope :one
-- Set a pooled connection to a token's scope for the statements that follow:
-- its role (left as it is when NULL: a login that may not take the API roles),
-- the project ids row-level security lets it see, the history actor, and the
-- token that task history records (0047).
SELECT CASE WHEN %(role)s::text IS NOT NULL THEN set_config('role', %(role)s, false) END,
       set_config('worktrack.project_ids', %(project_ids)s, false),
       set_config('worktrack.actor', %(actor)s, false),
       set_config('worktrack.token', %(token)s, false);
