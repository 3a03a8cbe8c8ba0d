"""What the client is told when a named rule of the database refuses a write.

service.db.translate looks constraint names up here; everything else about a
database error (SQLSTATE, retries) stays there.
"""

from __future__ import annotations

from service.errors import ApiError, Conflict, NotFound, Unprocessable

# What the client is told when a named constraint refuses a write: constraints
# (pg_constraint), unique indexes, and the rules triggers raise under a
# constraint name (tests/test_db.py keeps this list and those names the same).
# Constraints not listed here fall back on their kind (unique 409, foreign key
# 404, check 422).
CONSTRAINT_ERRORS: dict[str, tuple[type[ApiError], str | None, str]] = {
    "uq_projects_key_lower": (Conflict, "key", "a project with this key already exists (keys ignore case)"),
    "uq_epics_project_id_key": (Conflict, "key", "an epic with this key already exists in the project"),
    "uq_features_project_id_key": (Conflict, "key", "a feature with this key already exists in the project"),
    "uq_tasks_project_id_key": (Conflict, "key", "a task with this key already exists in the project"),
    "chk_tasks_status_transition": (Conflict, "status", "this status change is not allowed"),
    "chk_tasks_dependents_not_started": (
        Conflict,
        "status",
        "tasks that depend on this one have started",
    ),
    "chk_tasks_identity_unchanged": (Conflict, None, "a task's project and id never change"),
    "chk_tasks_unfinished_dependencies_kept": (
        Conflict,
        None,
        "the count of unfinished dependencies is kept by the database",
    ),
    "chk_task_history_append_only": (Conflict, None, "task history is append-only"),
    "chk_sprint_membership_events_append_only": (Conflict, None, "sprint membership history is append-only"),
    "chk_task_history_written_by_trigger": (Conflict, None, "task history is written by status changes"),
    "chk_task_dependencies_acyclic": (Conflict, None, "this dependency would close a cycle"),
    "chk_task_dependencies_not_self": (Unprocessable, None, "a task cannot depend on itself"),
    "chk_task_dependencies_not_updated": (Conflict, None, "dependencies are added and removed, not changed"),
    "fk_tasks_feature": (NotFound, "feature", "the feature does not exist in this project"),
    "chk_tasks_evidence_is_object": (Unprocessable, "evidence", "evidence must be a JSON object"),
    "chk_task_links_not_self": (Unprocessable, None, "a task cannot be linked to itself"),
    "chk_projects_lease_seconds": (
        Unprocessable,
        "default_lease_seconds",
        "the default lease must lie between 1 second and the project's max_lease_seconds",
    ),
    "fk_tasks_assignee": (NotFound, "assignee", "no user has this id"),
    "fk_tasks_sprint": (NotFound, "sprint", "no sprint has this id"),
    "uq_users_email_lower": (Conflict, "email", "a user with this email already exists (emails ignore case)"),
    "uq_users_jira_account_id": (Conflict, "jira_account_id", "a user with this Jira account already exists"),
    "uq_sprints_jira_sprint_id": (
        Conflict,
        "jira_sprint_id",
        "a sprint with this Jira sprint id already exists",
    ),
    "chk_sprints_dates_in_order": (Unprocessable, "end_date", "the sprint ends before it starts"),
    "chk_sprints_state_transition": (Conflict, "state", "this sprint state change is not allowed"),
    "chk_sprints_closed_is_final": (
        Conflict,
        None,
        "the sprint is closed: its state, dates and time zone are final",
    ),
    "chk_sprints_instants_fixed": (Conflict, None, "a sprint keeps the instants it started and closed at"),
    "chk_sprints_closed_after_start": (
        Unprocessable,
        "completed_at",
        "the sprint cannot close before it started",
    ),
    "chk_sprints_activated_not_future": (
        Unprocessable,
        "activated_at",
        "a sprint cannot start in the future: activated_at is now or earlier",
    ),
    "chk_sprints_completed_not_future": (
        Unprocessable,
        "completed_at",
        "a sprint cannot close in the future: completed_at is now or earlier",
    ),
    "chk_sprints_closed_after_its_history": (
        Unprocessable,
        "completed_at",
        "the sprint cannot close before its tasks last joined, left or were re-estimated",
    ),
    "chk_sprints_started_timezone_fixed": (
        Conflict,
        "timezone",
        "the sprint has started: its time zone is fixed",
    ),
    "chk_sprint_frozen_tasks_append_only": (Conflict, None, "the figures of a closed sprint are final"),
    "chk_sprint_frozen_days_append_only": (Conflict, None, "the burndown of a closed sprint is final"),
    "chk_sprint_frozen_stored_by_close": (
        Conflict,
        None,
        "a closed sprint's figures are stored by its close",
    ),
    "chk_sprint_frozen_tasks_sprint_closed": (Conflict, None, "only a closed sprint's figures are stored"),
    "chk_sprints_timezone_known": (
        Unprocessable,
        "timezone",
        "not a time zone PostgreSQL knows (IANA names)",
    ),
    "chk_project_workstreams_timezone_known": (
        Unprocessable,
        "timezone",
        "not a time zone PostgreSQL knows (IANA names)",
    ),
    "fk_sprints_close_move_to": (NotFound, "move_open_tasks_to", "no sprint has this id"),
    "chk_sprints_close_move_to_open": (
        Conflict,
        "move_open_tasks_to",
        "open work can move only to another sprint that is not closed",
    ),
    "chk_tasks_sprint_not_closed": (Conflict, "sprint", "a task cannot join a closed sprint"),
    "fk_sprint_analyses_project": (NotFound, "project", "the project does not exist"),
    "fk_sprint_analyses_sprint": (NotFound, None, "no sprint has this id"),
    "fk_team_capacities_sprint": (NotFound, None, "no sprint has this id"),
    "fk_sprint_queue_items_sprint": (NotFound, None, "no sprint has this id"),
    "fk_project_sprint_associations_sprint": (NotFound, None, "no sprint has this id"),
    "fk_reports_project": (NotFound, "project", "the project does not exist"),
    "fk_reports_sprint": (NotFound, "sprint_id", "no sprint has this id"),
    "fk_reports_created_by": (NotFound, "created_by", "no user has this id"),
    "uq_project_workstreams_active_project": (
        Conflict,
        "is_active",
        "the project already has an active workstream",
    ),
    "uq_project_sprint_associations_primary": (
        Conflict,
        "association_type",
        "the sprint already has a primary workstream",
    ),
    "fk_project_sprint_associations_workstream": (NotFound, None, "no workstream has this id"),
    "fk_project_sprint_metrics_association": (
        Conflict,
        "workstream_id",
        "the workstream takes no part in this sprint",
    ),
    "fk_project_sprint_metrics_active_association": (
        Conflict,
        "workstream_id",
        "the workstream takes no active part in this sprint",
    ),
    "fk_team_capacities_user": (NotFound, None, "no user has this id"),
    "fk_sprint_queue_items_user": (NotFound, "user_id", "no user has this id"),
    "uq_sprint_queue_items_sprint_user_position": (
        Conflict,
        "position",
        "that position in the person's queue is taken",
    ),
}


# What the client is told when a foreign key keeps a row from deletion.
DELETE_CONFLICTS = {
    "fk_sprint_queue_items_sprint": "the sprint still has queue items",
}

# Rules whose own message says best what went wrong: it names the row and the move
# ("sprint 4 cannot move from closed to active") or the tasks, never other row values.
MESSAGE_SAYS_IT = {
    "chk_tasks_status_transition",
    "chk_tasks_dependents_not_started",
    "chk_sprints_state_transition",
}
