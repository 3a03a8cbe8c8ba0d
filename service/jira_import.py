"""`worktrack import-jira FOLDER`: a Jira board's history from the REST API's own JSON.

Files are recognised by their content: the board configuration
(`/rest/agile/1.0/board/{id}/configuration`), pages of its sprints
(`/rest/agile/1.0/board/{id}/sprint`) and pages of issues with their changelogs
(`/rest/agile/1.0/sprint/{id}/issue?expand=changelog`, `/rest/api/3/search?expand=changelog`).

Each issue is imported in its own transaction registered with import_begin(), the
only way the database honours a past instant (worktrack.event_at): the task is
created as Jira created it, then every status, Sprint and story-point change of
its changelog is replayed at Jira's time by Jira's author (actor `jira:<name>`,
note "imported from Jira"), and the moves of open work when a sprint closed are
replayed as the close's own moves. Imported history is stored as recorded, even
where it skips lifecycle steps. A second run replays only what is newer than what
the task already holds (its metadata.jira.applied_until), so it never duplicates.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import Progress

from service import queries

_Q = queries.load("jira_import")
_JIRA_PROJECT_UPSERT = _Q["jira_project_upsert"]
_JIRA_WORKSTREAM_UPSERT = _Q["jira_workstream_upsert"]
_JIRA_SPRINT_GET = _Q["jira_sprint_get"]
_JIRA_SPRINT_INSERT = _Q["jira_sprint_insert"]
_JIRA_SPRINT_UPDATE = _Q["jira_sprint_update"]
_JIRA_SPRINT_ACTIVATE = _Q["jira_sprint_activate"]
_JIRA_SPRINT_COMPLETE = _Q["jira_sprint_complete"]
_JIRA_SPRINT_ASSOCIATE = _Q["jira_sprint_associate"]
_JIRA_USER_UPSERT = _Q["jira_user_upsert"]
_JIRA_USER_ID = _Q["jira_user_id"]
_JIRA_IMPORT_BEGIN = _Q["jira_import_begin"]
_JIRA_TASK_GET = _Q["jira_task_get"]
_JIRA_TASK_INSERT = _Q["jira_task_insert"]
_JIRA_TASK_FIELDS = _Q["jira_task_fields"]
_JIRA_TASK_COUNTS = _Q["jira_task_counts"]
_JIRA_EVENT_AT = _Q["jira_event_at"]
_JIRA_TASK_STATUS = _Q["jira_task_status"]
_JIRA_TASK_POINTS = _Q["jira_task_points"]
_JIRA_TASK_SPRINT = _Q["jira_task_sprint"]

CATEGORY_STATUS = {"new": "pending", "indeterminate": "in_progress", "done": "completed"}
# Statuses seen only in changelogs (no category there): common names, else in progress.
_NAMED_CATEGORY = {
    "to do": "new",
    "open": "new",
    "backlog": "new",
    "selected for development": "new",
    "done": "done",
    "closed": "done",
    "resolved": "done",
}
POINTS_FIELD_NAMES = {"story points", "story point estimate"}
# A close's move to the next sprint is written by Jira right after the close.
CLOSE_MOVE_WINDOW = timedelta(minutes=10)


class JiraDataError(ValueError):
    """An issue or file that does not have the shape of Jira's JSON."""


@dataclass
class Summary:
    files: int = 0
    sprints_inserted: int = 0
    sprints_updated: int = 0
    users_inserted: int = 0
    issues_inserted: int = 0
    issues_updated: int = 0
    issues_unchanged: int = 0
    history_rows: int = 0
    membership_events: int = 0
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (file, where, reason)
    truncated: list[tuple[str, str]] = field(default_factory=list)  # (file, issue key)

    def lines(self) -> list[str]:
        out = [
            f"files read: {self.files}",
            f"sprints: {self.sprints_inserted} inserted, {self.sprints_updated} updated",
            f"users: {self.users_inserted} inserted",
            f"issues: {self.issues_inserted} inserted, {self.issues_updated} updated, "
            f"{self.issues_unchanged} unchanged, {len(self.skipped)} skipped",
            f"history rows inserted: {self.history_rows}",
            f"sprint membership events inserted: {self.membership_events}",
            f"changelogs truncated by Jira: {len(self.truncated)}",
        ]
        out += [f"  skipped {where} in {file}: {reason}" for file, where, reason in self.skipped]
        out += [
            f"  truncated changelog of {key} in {file}: imported from its current fields"
            for file, key in self.truncated
        ]
        return out


def parse_time(text: str | None) -> datetime | None:
    """Jira's ISO 8601 times: `2026-11-02T09:00:00.000+0100`, `...Z`, `...+01:00`."""
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise JiraDataError(f"time without offset: {text}")
    return value


def parse_status_map(text: str | None) -> dict[str, str]:
    """`"In Review=in_review,Won't Do=cancelled"` → Jira status name (lower case) → worktrack status."""
    mapping: dict[str, str] = {}
    allowed = {"pending", "in_progress", "blocked", "in_review", "completed", "cancelled"}
    for pair in (text or "").split(","):
        if not pair.strip():
            continue
        name, sep, status = pair.rpartition("=")
        if not sep or not name.strip() or status.strip() not in allowed:
            raise ValueError(
                f"--status-map: {pair.strip()!r} is not NAME=STATUS with STATUS one of {sorted(allowed)}"
            )
        mapping[name.strip().lower()] = status.strip()
    return mapping


@dataclass
class Folder:
    """What a folder of Jira responses holds, read and recognised."""

    boards: list[dict[str, Any]] = field(default_factory=list)
    sprints: dict[int, dict[str, Any]] = field(default_factory=dict)
    issues: dict[str, tuple[str, int, dict[str, Any]]] = field(
        default_factory=dict
    )  # id → (file, index, issue)
    pages: list[tuple[str, int]] = field(default_factory=list)  # issue pages: (file, issue count)


def read_folder(folder: Path, summary: Summary) -> Folder:
    found = Folder()
    for path in sorted(folder.rglob("*.json")):
        summary.files += 1
        name = str(path.relative_to(folder))
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            where = (
                f"line {error.lineno} column {error.colno}"
                if isinstance(error, json.JSONDecodeError)
                else "file"
            )
            summary.skipped.append((name, where, f"not JSON: {error}"))
            continue
        if isinstance(document, dict) and isinstance(document.get("issues"), list):
            for index, issue in enumerate(document["issues"]):
                ident = str(issue.get("id")) if isinstance(issue, dict) and issue.get("id") else None
                if not ident:
                    summary.skipped.append((name, f"issues[{index}]", "an issue needs an id and a key"))
                    continue
                seen = found.issues.get(ident)
                # the same issue in several pages: keep the copy with the longest changelog
                if seen is None or _history_count(issue) > _history_count(seen[2]):
                    found.issues[ident] = (name, index, issue)
            found.pages.append((name, len(document["issues"])))
        elif isinstance(document, dict) and isinstance(document.get("values"), list):
            for index, sprint in enumerate(document["values"]):
                if not (
                    isinstance(sprint, dict)
                    and isinstance(sprint.get("id"), int)
                    and sprint.get("name")
                    and sprint.get("state") in ("future", "active", "closed")
                ):
                    summary.skipped.append((name, f"values[{index}]", "a sprint needs id, name and state"))
                    continue
                found.sprints[sprint["id"]] = sprint
        elif isinstance(document, dict) and "id" in document and isinstance(document.get("location"), dict):
            found.boards.append(document)
        else:
            summary.skipped.append((name, "file", "not a board configuration, sprint page or issue page"))
    return found


def _history_count(issue: Any) -> int:
    changelog = issue.get("changelog") if isinstance(issue, dict) else None
    return len(changelog.get("histories") or []) if isinstance(changelog, dict) else -1


@dataclass
class Board:
    id: int
    name: str
    project_key: str
    points_field: str | None
    project_id: int = 0
    workstream_id: int = 0


@dataclass
class Change:
    at: datetime
    order: tuple[int, int]
    actor: str
    kind: str  # status | sprints | points | close
    value: Any


class Importer:
    def __init__(
        self, conn: psycopg.Connection[Any], board: Board, status_map: dict[str, str], summary: Summary
    ) -> None:
        self.conn = conn
        self.board = board
        self.status_map = status_map
        self.summary = summary
        self.sprints: dict[int, int] = {}  # Jira sprint id → sprints.id
        self.sprint_data: dict[int, dict[str, Any]] = {}
        self.categories: dict[str, str] = {}  # status name (lower) → category key
        self.users: dict[str, int] = {}

    # -- board, sprints, users ------------------------------------------------
    def board_rows(self) -> None:
        with self.conn.transaction():
            row = self.conn.execute(
                _JIRA_PROJECT_UPSERT,
                {"key": self.board.project_key, "name": self.board.project_key, "board_id": self.board.id},
            ).fetchone()
            assert row is not None
            self.board.project_id = row[0]
            ws = self.conn.execute(
                _JIRA_WORKSTREAM_UPSERT,
                {"project_id": row[0], "board_id": self.board.id, "board_name": self.board.name},
            ).fetchone()
            assert ws is not None
            self.board.workstream_id = ws[0]

    def sprint_rows(self, sprints: Iterable[dict[str, Any]]) -> None:
        for sprint in sorted(sprints, key=lambda s: (s.get("startDate") or "9", s["id"])):
            with self.conn.transaction():
                # an import: a sprint Jira closed is closed as it was, its open work moved
                # by each issue's history (replayed later), not by the close
                self.conn.execute(_JIRA_IMPORT_BEGIN)
                self._sprint(sprint)

    def _sprint(self, sprint: dict[str, Any]) -> None:
        started = parse_time(sprint.get("activatedDate") or sprint.get("startDate"))
        ends = parse_time(sprint.get("endDate"))
        completed = parse_time(sprint.get("completeDate"))
        state = sprint["state"]
        if state == "closed" and completed is None:
            completed = ends
        if state != "future" and started is None:
            raise JiraDataError(f"sprint {sprint['id']} is {state} without a start date")
        params = {
            "jira_id": sprint["id"],
            "name": sprint["name"],
            "goal": sprint.get("goal") or None,
            "start_date": parse_time(sprint.get("startDate")).date() if sprint.get("startDate") else None,  # type: ignore[union-attr]
            "end_date": ends.date() if ends else None,
            "board_id": sprint.get("originBoardId", self.board.id),
            "project_key": self.board.project_key,
        }
        self.sprint_data[sprint["id"]] = {"state": state, "starts": started, "closes": completed}
        row = self.conn.execute(_JIRA_SPRINT_GET, {"jira_id": sprint["id"]}).fetchone()
        if row is None:
            (sprint_id,) = self.conn.execute(  # type: ignore[misc]
                _JIRA_SPRINT_INSERT,
                {
                    **params,
                    "state": state,
                    "activated_at": started if state != "future" else None,
                    "completed_at": completed if state == "closed" else None,
                },
            ).fetchone()
            self.summary.sprints_inserted += 1
        else:
            sprint_id, stored = row
            changed = self.conn.execute(_JIRA_SPRINT_UPDATE, {**params, "id": sprint_id}).fetchone()
            if stored == "future" and state != "future":
                changed = self.conn.execute(
                    _JIRA_SPRINT_ACTIVATE, {"id": sprint_id, "activated_at": started}
                ).fetchone()
            if stored != "closed" and state == "closed":
                changed = self.conn.execute(
                    _JIRA_SPRINT_COMPLETE, {"id": sprint_id, "completed_at": completed}
                ).fetchone()
            self.summary.sprints_updated += changed is not None
        self.conn.execute(
            _JIRA_SPRINT_ASSOCIATE, {"sprint_id": sprint_id, "workstream_id": self.board.workstream_id}
        )
        self.sprints[sprint["id"]] = sprint_id

    def user(self, person: Any) -> int | None:
        if not isinstance(person, dict) or not person.get("accountId"):
            return None
        account = str(person["accountId"])
        if account not in self.users:
            row = self.conn.execute(
                _JIRA_USER_UPSERT,
                {
                    "account_id": account,
                    "name": person.get("displayName"),
                    "email": person.get("emailAddress"),
                },
            ).fetchone()
            if row is None:
                row = self.conn.execute(_JIRA_USER_ID, {"account_id": account}).fetchone()
            else:
                self.summary.users_inserted += bool(row[1])
            assert row is not None
            self.users[account] = row[0]
        return self.users[account]

    # -- statuses -------------------------------------------------------------
    def status(self, name: str | None) -> str:
        if not name:
            raise JiraDataError("a status without a name")
        lower = name.lower()
        if lower in self.status_map:
            return self.status_map[lower]
        category = self.categories.get(lower) or _NAMED_CATEGORY.get(lower, "indeterminate")
        return CATEGORY_STATUS.get(category, "in_progress")

    def learn_categories(self, issues: Iterable[tuple[str, int, dict[str, Any]]]) -> None:
        for _, _, issue in issues:
            status = (issue.get("fields") or {}).get("status") if isinstance(issue, dict) else None
            if isinstance(status, dict) and status.get("name"):
                key = (status.get("statusCategory") or {}).get("key")
                if key:
                    self.categories[str(status["name"]).lower()] = key

    # -- one issue ------------------------------------------------------------
    def issue(self, file: str, issue: dict[str, Any]) -> None:
        fields = issue.get("fields")
        key = issue.get("key")
        if not isinstance(fields, dict) or not isinstance(key, str):
            raise JiraDataError("an issue needs a key and fields")
        created = parse_time(fields.get("created"))
        if created is None:
            raise JiraDataError("fields.created is missing")
        title = (fields.get("summary") or "").strip()
        if not title:
            raise JiraDataError("fields.summary is empty")
        changelog = issue.get("changelog") or {}
        histories = changelog.get("histories") or []
        truncated = int(changelog.get("total") or len(histories)) > len(histories)
        changes = [] if truncated else self._changes(histories)
        if truncated:
            self.summary.truncated.append((file, key))

        current_sprints = self._current_sprints(fields)
        current_points = _points(fields.get(self.board.points_field)) if self.board.points_field else None
        current_status = self.status((fields.get("status") or {}).get("name"))
        if truncated and current_status != "pending":
            # without its changelog: created open, then one move to where it is now, at its
            # resolution date when it has one (else at its creation)
            status_name = (fields.get("status") or {}).get("name")
            resolved = parse_time(fields.get("resolutiondate")) or created
            changes = [Change(resolved, (0, 0), "jira", "status", (None, status_name))]
            current_status = "pending"
        first = {
            kind: next((c for c in changes if c.kind == kind), None)
            for kind in ("status", "sprints", "points")
        }
        start_status = (
            self.status(first["status"].value[0])
            if first["status"] and first["status"].value[0]
            else current_status
        )
        start_sprints = first["sprints"].value[0] if first["sprints"] else current_sprints
        start_points = first["points"].value[0] if first["points"] else current_points
        creator = fields.get("creator") or fields.get("reporter") or {}
        jira = {
            "id": str(issue["id"]),
            "issuetype": (fields.get("issuetype") or {}).get("name"),
            "status": (fields.get("status") or {}).get("name"),
            "parent": (fields.get("parent") or {}).get("key"),
            "labels": fields.get("labels") or [],
            "changelog_truncated": truncated,
        }
        priority = _priority((fields.get("priority") or {}).get("name"))
        assignee = self.user(fields.get("assignee"))
        for history in histories:
            self.user(history.get("author"))
        description = fields.get("description")
        if description is not None and not isinstance(description, str):
            description = json.dumps(description)  # API v3 sends Atlassian document format

        self.conn.execute(_JIRA_IMPORT_BEGIN)
        row = self.conn.execute(_JIRA_TASK_GET, {"project_id": self.board.project_id, "key": key}).fetchone()
        events = [c for c in changes] + self._closes(start_sprints, changes, created)
        events.sort(key=lambda c: (c.at, c.order))
        if row is None:
            self._at(created, _actor(creator))
            sprint_id = self._sprint_at(start_sprints, created, None)
            (task_id,) = self.conn.execute(  # type: ignore[misc]
                _JIRA_TASK_INSERT,
                {
                    "project_id": self.board.project_id,
                    "key": key,
                    "title": title[:500],
                    "description": description,
                    "status": start_status,
                    "priority": priority,
                    "assignee_id": assignee,
                    "sprint_id": sprint_id,
                    "story_points": start_points,
                    "jira": json.dumps(jira),
                    "created_at": created,
                    "resolved_at": parse_time(fields.get("resolutiondate")),
                },
            ).fetchone()
            state: dict[str, Any] = {
                "status": start_status,
                "sprint": sprint_id,
                "sprints": set(start_sprints),
            }
            until = None
            before = (0, 0)
            self.summary.issues_inserted += 1
        else:
            task_id, status, sprint_id, _points_now, stored = row
            until = parse_time((stored or {}).get("applied_until"))
            state = {
                "status": status,
                "sprint": sprint_id,
                "sprints": set((stored or {}).get("sprints") or []),
            }
            before = self._counts(task_id)
        fresh = [e for e in events if until is None or e.at > until]
        for event in fresh:
            self._apply(task_id, event, state, events)
        applied = max([e.at for e in events] + [created] + ([until] if until else []))
        jira["applied_until"] = applied.isoformat()
        jira["sprints"] = sorted(state["sprints"])
        self.conn.execute(
            _JIRA_TASK_FIELDS,
            {
                "project_id": self.board.project_id,
                "id": task_id,
                "title": title[:500],
                "description": description,
                "priority": priority,
                "assignee_id": assignee,
                "jira": json.dumps(jira),
            },
        )
        after = self._counts(task_id)
        self.summary.history_rows += after[0] - before[0]
        self.summary.membership_events += after[1] - before[1]
        if row is not None:
            if fresh or after != before:
                self.summary.issues_updated += 1
            else:
                self.summary.issues_unchanged += 1

    def _counts(self, task_id: int) -> tuple[int, int]:
        row = self.conn.execute(
            _JIRA_TASK_COUNTS, {"project_id": self.board.project_id, "id": task_id}
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def _at(self, at: datetime, actor: str, closing: int | None = None) -> None:
        self.conn.execute(_JIRA_EVENT_AT, {"at": at, "actor": actor, "closing": closing})

    def _apply(self, task_id: int, event: Change, state: dict[str, Any], events: list[Change]) -> None:
        ids = {"project_id": self.board.project_id, "id": task_id}
        if event.kind == "status":
            status = self.status(event.value[1])
            if status != state["status"]:
                self._at(event.at, event.actor)
                self.conn.execute(_JIRA_TASK_STATUS, {**ids, "status": status})
                state["status"] = status
        elif event.kind == "points":
            self._at(event.at, event.actor)
            self.conn.execute(_JIRA_TASK_POINTS, {**ids, "points": event.value[1]})
        elif event.kind == "sprints":
            state["sprints"] = set(event.value[1])
            target = self._sprint_at(event.value[1], event.at, state["sprint"])
            if target != state["sprint"]:
                self._at(event.at, event.actor)
                self.conn.execute(_JIRA_TASK_SPRINT, {**ids, "sprint_id": target})
                state["sprint"] = target
        elif event.kind == "close":
            closing = self.sprints[event.value]
            if state["sprint"] == closing and state["status"] not in ("completed", "cancelled"):
                # where Jira moved the open work: the next Sprint change right after the close
                later = next(
                    (
                        e
                        for e in events
                        if e.kind == "sprints" and event.at <= e.at <= event.at + CLOSE_MOVE_WINDOW
                    ),
                    None,
                )
                target = (
                    self._sprint_at([s for s in later.value[1] if s != event.value], event.at, None)
                    if later
                    else None
                )
                # by whoever completed the sprint, as far as the changelog tells
                self._at(event.at, later.actor if later else event.actor, closing=closing)
                self.conn.execute(_JIRA_TASK_SPRINT, {**ids, "sprint_id": target})
                state["sprint"] = target

    def _changes(self, histories: list[Any]) -> list[Change]:
        changes = []
        points_id = (self.board.points_field or "").lower()
        for h_index, history in enumerate(histories):
            if not isinstance(history, dict):
                raise JiraDataError(f"changelog.histories[{h_index}] is not an object")
            at = parse_time(history.get("created"))
            if at is None:
                raise JiraDataError(f"changelog.histories[{h_index}] has no created time")
            actor = _actor(history.get("author"))
            for i_index, item in enumerate(history.get("items") or []):
                name = str(item.get("field") or "").lower()
                field_id = str(item.get("fieldId") or "").lower()
                order = (h_index, i_index)
                if name == "status":
                    changes.append(
                        Change(at, order, actor, "status", (item.get("fromString"), item.get("toString")))
                    )
                elif name == "sprint":
                    changes.append(
                        Change(
                            at,
                            order,
                            actor,
                            "sprints",
                            (self._ids(item.get("from")), self._ids(item.get("to"))),
                        )
                    )
                elif name in POINTS_FIELD_NAMES or (points_id and field_id == points_id):
                    changes.append(
                        Change(
                            at,
                            order,
                            actor,
                            "points",
                            (_points(item.get("fromString")), _points(item.get("toString"))),
                        )
                    )
        return changes

    def _closes(self, start_sprints: list[int], changes: list[Change], created: datetime) -> list[Change]:
        """The closes of the sprints this issue was ever in, as events of its own."""
        ever = set(start_sprints)
        for change in changes:
            if change.kind == "sprints":
                ever |= set(change.value[1])
        closes = []
        for jira_id in ever:
            closed = self.sprint_data.get(jira_id, {}).get("closes")
            if closed is not None and self.sprint_data[jira_id]["state"] == "closed" and closed >= created:
                closes.append(Change(closed, (-1, 0), "jira", "close", jira_id))
        return closes

    def _ids(self, text: Any) -> list[int]:
        """`"10, 11"` → the known sprints among them."""
        out = []
        for part in str(text or "").split(","):
            part = part.strip()
            if part.isdigit() and int(part) in self.sprints:
                out.append(int(part))
        return out

    def _current_sprints(self, fields: dict[str, Any]) -> list[int]:
        found: set[int] = set()
        for name, value in fields.items():
            values = value if isinstance(value, list) else [value] if name == "sprint" else []
            for item in values:
                if (
                    isinstance(item, dict)
                    and isinstance(item.get("id"), int)
                    and "state" in item
                    and (name in ("sprint", "closedSprints") or name.startswith("customfield_"))
                    and item["id"] in self.sprints
                ):
                    found.add(item["id"])
        return sorted(found)

    def _sprint_at(self, jira_ids: Iterable[int], at: datetime, current: int | None) -> int | None:
        """The worktrack sprint of an issue whose Sprint field lists `jira_ids` at `at`: the
        latest of them not closed by then, else the one it is in, else none."""
        open_ones = []
        for jira_id in jira_ids:
            data = self.sprint_data.get(jira_id)
            if data is None:
                continue
            closes = data["closes"] if data["state"] == "closed" else None
            if closes is None or closes > at:
                open_ones.append(((data["starts"] or datetime.max.replace(tzinfo=at.tzinfo)), jira_id))
        if open_ones:
            return self.sprints[max(open_ones)[1]]
        known = {self.sprints[j] for j in jira_ids if j in self.sprints}
        return current if current in known else None


def _actor(person: Any) -> str:
    if isinstance(person, dict) and (person.get("displayName") or person.get("accountId")):
        return f"jira:{person.get('displayName') or person.get('accountId')}"
    return "jira"


def _points(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        points = float(value)
    except (TypeError, ValueError) as error:
        raise JiraDataError(f"story points {value!r} are not a number") from error
    if points < 0:
        raise JiraDataError(f"story points {value!r} are negative")
    return points


def _priority(name: str | None) -> int:
    return {"highest": 9, "high": 7, "medium": 5, "low": 3, "lowest": 1}.get((name or "").lower(), 5)


def _restore(summary: Summary, counts: tuple[Any, ...]) -> None:
    for name, value in zip([f.name for f in dataclasses.fields(summary)], counts, strict=True):
        if isinstance(value, int):
            setattr(summary, name, value)
        else:
            setattr(summary, name, list(value))


def _board(found: Folder, project_key: str | None) -> Board:
    if not found.boards:
        raise JiraDataError(
            "no board configuration in the folder (GET /rest/agile/1.0/board/{id}/configuration)"
        )
    config = found.boards[0]
    key = project_key or (config.get("location") or {}).get("projectKey")
    if not key:
        raise JiraDataError("the board configuration has no location.projectKey: pass --board-project")
    points = ((config.get("estimation") or {}).get("field") or {}).get("fieldId")
    return Board(
        id=int(config["id"]), name=str(config.get("name") or key), project_key=str(key), points_field=points
    )


def import_folder(
    url: str,
    folder: Path,
    *,
    board_project: str | None = None,
    status_map: str | None = None,
    console: Console | None = None,
) -> Summary:
    summary = Summary()
    mapping = parse_status_map(status_map)
    found = read_folder(folder, summary)
    board = _board(found, board_project)
    console = console or Console(stderr=True)
    with psycopg.connect(url) as conn, Progress(console=console, disable=not console.is_terminal) as progress:
        conn.autocommit = True  # every step below opens its own transaction
        importer = Importer(conn, board, mapping, summary)
        importer.board_rows()
        importer.sprint_rows(found.sprints.values())
        importer.learn_categories(found.issues.values())
        by_file: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for file, index, issue in found.issues.values():
            by_file.setdefault(file, []).append((index, issue))
        for file, issues in sorted(by_file.items()):
            bar = progress.add_task(f"{file}", total=len(issues))
            for index, issue in sorted(issues, key=lambda pair: pair[0]):
                where = f"issues[{index}] {issue.get('key') or ''}".strip()
                counts = dataclasses.astuple(summary)
                try:
                    with conn.transaction():
                        importer.issue(file, issue)
                except (
                    JiraDataError,
                    ValueError,
                    TypeError,
                    KeyError,
                    AttributeError,
                    psycopg.Error,
                ) as error:
                    # nothing of this issue landed: neither its counts nor the users it brought
                    _restore(summary, counts)
                    importer.users.clear()
                    summary.skipped.append((file, where, str(error).splitlines()[0]))
                progress.advance(bar)
    return summary
