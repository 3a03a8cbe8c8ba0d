"""Request and response shapes: validated before any SQL, and described in OpenAPI."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError


def _integral(value: Any) -> Any:
    """JSON has one kind of number, and JSON Schema (so the OpenAPI document) counts
    437.0 as an integer: a body's integer field takes it as 437; 437.5 is refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# On every integer of a request body, after its bounds: strict (no "437", no true),
# but an integral number counts. (Placed after the bounds, the document keeps them.)
INTEGRAL = BeforeValidator(_integral)


def _in_hundredths(value: float) -> float:
    """The number as sent has at most two decimals (the columns are numeric(p,2)).
    Checked on its decimal text: pydantic's float multiple_of divides in binary, so
    it refuses 9326290.54, which JSON Schema's multipleOf 0.01 allows."""
    if Decimal(repr(value)) % Decimal("0.01") != 0:
        raise PydanticCustomError("multiple_of", "Input should be a multiple of 0.01")
    return value


# A number of hundredths: the document says multipleOf 0.01, the check is decimal.
HUNDREDTHS = (Field(json_schema_extra={"multipleOf": 0.01}), AfterValidator(_in_hundredths))

Status = Literal["pending", "in_progress", "blocked", "in_review", "completed", "cancelled"]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]

# The key formats of DESIGN §1, the same patterns as the CHECK constraints.
ProjectKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,99}$")]
EpicKey = Annotated[str, StringConstraints(pattern=r"^E[0-9]{2,}$", max_length=50)]
FeatureKey = Annotated[str, StringConstraints(pattern=r"^E[0-9]{2,}-F[0-9]{2,}$", max_length=50)]
TaskKey = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$", max_length=50)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"\S")]
Text = Annotated[str, Field(max_length=100_000)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Artifact = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Priority = Annotated[int, Field(ge=1, le=10), INTEGRAL]
RowId = Annotated[int, Field(ge=1, le=9_223_372_036_854_775_807), INTEGRAL]

# The columns are numeric(p,2): a third decimal would be rounded away silently.
StoryPoints = Annotated[float, Field(ge=0, le=9999.99, allow_inf_nan=False), *HUNDREDTHS]


def _iso_8601_only(value: Any) -> Any:
    """A query's date-time is ISO 8601 text: pydantic would also take 0.5 as seconds
    since 1970, which the OpenAPI document (format: date-time) does not allow."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
    return value


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")
Instant = Annotated[datetime, BeforeValidator(_iso_8601_only)]
LeaseSeconds = Annotated[int, Field(ge=1, le=86_400), INTEGRAL]
Metadata = dict[str, Any]
LinkKind = Literal["related", "discovered_from"]


class Body(BaseModel):
    """A JSON request body: unknown fields and wrong types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


MaxAttempts = Annotated[
    int, Field(ge=1, le=1000, description="claims of a task before an expiring lease blocks it"), INTEGRAL
]


class ProjectCreate(Body):
    key: ProjectKey
    name: Title
    description: Text | None = None
    is_active: bool = True
    metadata: Metadata = Field(default_factory=dict)
    default_lease_seconds: LeaseSeconds = 300
    max_lease_seconds: LeaseSeconds = 86_400
    max_attempts: MaxAttempts = 5


def refused(message: str) -> PydanticCustomError:
    """A rule of a model that JSON Schema cannot say, in the words the client reads."""
    return PydanticCustomError("refused", message)


class Patch(Body):
    """A partial update: only the fields present change. Fields in NOT_NULL may be
    left out but not set to null (the service refuses that before any SQL)."""

    NOT_NULL: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.NOT_NULL:
            raise refused("may be left out but not null")
        return value


class ProjectPatch(Patch):
    NOT_NULL = frozenset(
        {"name", "is_active", "metadata", "default_lease_seconds", "max_lease_seconds", "max_attempts"}
    )
    name: Title | None = None
    description: Text | None = None
    is_active: bool | None = None
    metadata: Metadata | None = None
    default_lease_seconds: LeaseSeconds | None = None
    max_lease_seconds: LeaseSeconds | None = None
    max_attempts: MaxAttempts | None = None


class EpicCreate(Body):
    key: EpicKey
    title: Title
    description: Text | None = None
    metadata: Metadata = Field(default_factory=dict)


class EpicPatch(Patch):
    NOT_NULL = frozenset({"title", "metadata"})
    title: Title | None = None
    description: Text | None = None
    metadata: Metadata | None = None


class FeatureCreate(EpicCreate):
    key: FeatureKey
    epic: EpicKey


FeaturePatch = EpicPatch


class TaskFields(Body):
    """What a client may set on a task, at creation or later."""

    description: Text | None = None
    priority: Priority = 5
    agent_type: ShortText | None = None
    generator_name: ShortText | None = None
    inputs: list[Artifact] = Field(default_factory=list, max_length=1000)
    expected_outputs: list[Artifact] = Field(default_factory=list, max_length=1000)
    context_notes: Text | None = None
    completion_notes: Text | None = None
    blocked_reason: Text | None = None
    file_path: Annotated[str, StringConstraints(max_length=1000)] | None = None
    feature: FeatureKey | None = None
    sprint: RowId | None = None
    assignee: RowId | None = None
    story_points: StoryPoints | None = None
    metadata: Metadata = Field(default_factory=dict)


class TaskCreate(TaskFields):
    key: TaskKey
    title: Title
    status: Status = "pending"


BULK_MAX = 1000


class TaskBatch(RootModel[list[TaskCreate]]):
    """Tasks created together, all or none."""

    root: list[TaskCreate] = Field(min_length=1, max_length=BULK_MAX)


class TaskPatch(TaskFields, Patch):
    """Status has its own route (POST .../status), so that every change has its history."""

    NOT_NULL = frozenset({"title", "priority", "inputs", "expected_outputs", "metadata"})
    title: Title | None = None


class StatusChange(Body):
    status: Status
    note: Text | None = None
    actor: ShortText | None = None
    agent: ShortText | None = Field(
        None, description="the agent that claimed the task: refused (409) if it no longer holds the lease"
    )
    evidence: Metadata | None = Field(
        None, description='what shows the work, e.g. {"commit": "...", "tests": "...", "files": [...]}'
    )


_LEASE = "seconds; default the project's default_lease_seconds, at most its max_lease_seconds"


class ClaimRequest(Body):
    project: ProjectKey
    agent: ShortText
    lease_seconds: LeaseSeconds | None = Field(None, description=_LEASE)
    epic: EpicKey | None = Field(None, description="claim only within this epic")
    feature: FeatureKey | None = Field(None, description="claim only within this feature")
    agent_type: ShortText | None = Field(None, description="claim only tasks for this agent type")


class Heartbeat(Body):
    agent: ShortText
    lease_seconds: LeaseSeconds | None = Field(None, description=_LEASE)


# --- query strings ---------------------------------------------------------------


class Query(BaseModel):
    """Query-string parameters: strings converted to their types, unknown ones refused."""

    model_config = ConfigDict(extra="forbid")


class PageQuery(Query):
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    after: Annotated[str, StringConstraints(max_length=200)] | None = None


class ProjectListQuery(PageQuery):
    is_active: bool | None = None


class FeatureListQuery(PageQuery):
    epic: EpicKey | None = None


# What the route's parsing takes (service.routes.tasks): statuses, commas, spaces.
_STATUS_LIST = "^ *({0}) *(, *({0}) *)*$".format("|".join(STATUSES))


class TaskListQuery(PageQuery):
    status: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None,
        description="comma-separated statuses, e.g. pending,blocked",
        json_schema_extra={"pattern": _STATUS_LIST},
    )
    agent_type: ShortText | None = None
    priority_min: Priority = Field(1, description="at most priority_max")
    priority_max: Priority = 10
    feature: FeatureKey | None = None
    epic: EpicKey | None = None
    sprint: RowId | None = None
    assignee: RowId | None = None
    input: Artifact | None = Field(None, description="an artifact id the task takes as input")
    q: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None, description="text in the title or description"
    )

    @field_validator("status")
    @classmethod
    def _known_statuses(cls, value: str | None) -> str | None:
        if value is not None:
            unknown = [status for status in _split(value) if status not in STATUSES]
            if unknown:
                raise refused(f"{', '.join(map(repr, unknown))}: not one of {', '.join(STATUSES)}")
        return value

    @field_validator("priority_max")
    @classmethod
    def _priorities_in_order(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("priority_min", 1) > value:
            raise refused("below priority_min")
        return value

    @property
    def statuses(self) -> list[str] | None:
        """The statuses of the filter, or None for any."""
        return None if self.status is None else _split(self.status)


def _split(statuses: str) -> list[str]:
    return [status.strip() for status in statuses.split(",")]


class AllTasksListQuery(TaskListQuery):
    project: ProjectKey | None = None


class HistoryQuery(PageQuery):
    since: Instant | None = None
    # Two snapshots, each listing the transactions running then: room for thousands.
    poll: Annotated[str, StringConstraints(max_length=32768)] | None = Field(
        default=None, description="the `poll` token of a previous answer: the changes committed since"
    )


class NextQuery(Query):
    project: ProjectKey


# --- response documents (for OpenAPI; the database builds the JSON) ----------------


class Progress(BaseModel):
    tasks: int = Field(description="tasks that are not cancelled")
    completed: int
    percent: float | None = Field(description="completed / tasks * 100; null when there are no tasks")


class Project(BaseModel):
    key: str
    name: str
    description: str | None
    is_active: bool
    metadata: Metadata
    default_lease_seconds: int
    max_lease_seconds: int
    max_attempts: int
    created_at: datetime
    updated_at: datetime


class Epic(BaseModel):
    key: str
    project: str
    title: str
    description: str | None
    metadata: Metadata
    features: int
    progress: Progress
    created_at: datetime
    updated_at: datetime


class Feature(BaseModel):
    key: str
    project: str
    epic: str
    title: str
    description: str | None
    metadata: Metadata
    progress: Progress
    created_at: datetime
    updated_at: datetime


class Task(BaseModel):
    key: str
    project: str
    epic: str | None
    feature: str | None
    sprint: int | None
    title: str
    description: str | None
    status: Status
    priority: int
    agent_type: str | None
    generator_name: str | None
    assignee: int | None
    claimed_by: str | None
    claimed_at: datetime | None
    lease_expires_at: datetime | None
    attempts: int
    inputs: list[str]
    expected_outputs: list[str]
    context_notes: str | None
    completion_notes: str | None
    blocked_reason: str | None
    file_path: str | None
    story_points: float | None
    metadata: Metadata
    depends_on: list[str]
    evidence: Metadata | None
    related: list[str] = Field(description="tasks linked as related (never blocking)")
    discovered_from: list[str] = Field(description="tasks this one was found while working on")
    waiting_on: list[str] = Field(description="dependencies neither completed nor cancelled")
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class HistoryItem(BaseModel):
    task: str
    from_status: Status | None
    to_status: Status
    actor: str = Field(description="the agent the request named, else the token's name")
    token: str | None = Field(
        description="the API token that made the change (null: made in SQL, by the CLI, or imported)"
    )
    note: str | None
    evidence: Metadata | None
    changed_at: datetime


class HistoryPage(BaseModel):
    items: list[HistoryItem]
    next: str | None = Field(description="`after` for the next (older) page; null on polls")
    poll: str = Field(description="`poll` for the changes committed after this answer")


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


class OpenAPIDocument(BaseModel):
    """GET /openapi.json: an OpenAPI 3.1 document (the rest as the specification's
    own schema describes it)."""

    model_config = ConfigDict(extra="allow")
    openapi: Annotated[str, StringConstraints(pattern=r"^3\.1\.\d+$")]
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


# --- the sprint side ----------------------------------------------------------------

SprintState = Literal["future", "active", "closed"]
Points = Annotated[float, Field(ge=0, le=99_999_999.99, allow_inf_nan=False), *HUNDREDTHS]
Count = Annotated[int, Field(ge=0, le=2_147_483_647), INTEGRAL]
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False), *HUNDREDTHS]
JiraId = Annotated[int, Field(ge=1, le=9_223_372_036_854_775_807), INTEGRAL]
# No @ and no space of any kind, listed one by one: "\\s" means other characters in
# the document's regex dialect, pydantic's and PostgreSQL's ([:space:] in the CHECK).
_NOT_AT_OR_SPACE = r"[^@\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
EMAIL_PATTERN = f"^{_NOT_AT_OR_SPACE}+@{_NOT_AT_OR_SPACE}+$"
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=320)]
# An IANA name; the database checks it against pg_timezone_names.
TimeZone = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$", max_length=100)
]


class UserCreate(Body):
    email: Email
    username: ShortText
    full_name: ShortText | None = None
    jira_account_id: ShortText | None = None
    is_active: bool = True
    is_superuser: bool = False
    settings: Metadata = Field(default_factory=dict)


class UserPatch(Patch):
    NOT_NULL = frozenset({"email", "username", "is_active", "is_superuser", "settings"})
    email: Email | None = None
    username: ShortText | None = None
    full_name: ShortText | None = None
    jira_account_id: ShortText | None = None
    is_active: bool | None = None
    is_superuser: bool | None = None
    settings: Metadata | None = None


class SprintCreate(Body):
    jira_sprint_id: JiraId
    name: Title
    state: SprintState = "future"
    start_date: date | None = None
    end_date: date | None = None
    goal: Text | None = None
    jira_board_id: JiraId | None = None
    jira_project_key: Annotated[str, StringConstraints(max_length=1000)] | None = None
    timezone: TimeZone | None = Field(
        None, description="IANA time zone of the sprint's days; default the workstream's, then UTC"
    )


class SprintPatch(Patch):
    """Everything but the state: POST /sprints/{id}/start and /close change that."""

    NOT_NULL = frozenset({"name"})
    name: Title | None = None
    start_date: date | None = None
    end_date: date | None = None
    goal: Text | None = None
    jira_board_id: JiraId | None = None
    jira_project_key: Annotated[str, StringConstraints(max_length=1000)] | None = None
    timezone: TimeZone | None = None
    # Named only to be refused in words that say where the state does change.
    state: SkipJsonSchema[Any] = Field(None, exclude=True)

    @field_validator("state", mode="before")
    @classmethod
    def _not_the_state(cls, value: Any) -> Any:
        raise refused(
            "a sprint's state changes only through POST /sprints/{id}/start and POST /sprints/{id}/close"
        )


class SprintStart(Body):
    activated_at: AwareDatetime | None = Field(
        None, description="when the sprint really started (imports); now unless given"
    )
    end_date: date | None = None


class SprintClose(Body):
    move_open_tasks_to: RowId | None = Field(
        description="the sprint that receives every task not completed, or null for the backlog"
    )
    completed_at: AwareDatetime | None = Field(
        None, description="when the sprint really closed (imports); now unless given"
    )


class AnalysisCreate(Body):
    analysis_type: ShortText
    project: ProjectKey | None = None
    total_story_points: Points = 0
    completed_story_points: Points = 0
    total_issues: Count = 0
    completed_issues: Count = 0
    discipline_breakdown: Metadata = Field(default_factory=dict)
    issue_details: list[Any] = Field(default_factory=list, max_length=10_000)


class WorkstreamCreate(Body):
    project: ProjectKey
    name: Title
    jira_board_id: JiraId | None = None
    jira_board_name: ShortText | None = None
    workstream_type: Literal["standard", "epic", "initiative"] = "standard"
    category: ShortText | None = None
    is_active: bool = True
    metadata: Metadata = Field(default_factory=dict)
    timezone: TimeZone | None = None


class WorkstreamPatch(Patch):
    NOT_NULL = frozenset({"name", "workstream_type", "is_active", "metadata"})
    name: Title | None = None
    jira_board_id: JiraId | None = None
    jira_board_name: ShortText | None = None
    workstream_type: Literal["standard", "epic", "initiative"] | None = None
    category: ShortText | None = None
    is_active: bool | None = None
    metadata: Metadata | None = None
    timezone: TimeZone | None = None


class AssociationPut(Body):
    association_type: Literal["primary", "secondary", "dependency"] = "primary"
    expected_story_points: Points | None = None
    actual_story_points: Points | None = None
    priority: Annotated[int, Field(ge=1, le=1000), INTEGRAL] | None = None
    is_active: bool = True


class MetricCreate(Body):
    workstream_id: RowId
    snapshot_at: datetime | None = None
    issues_total: Count = 0
    issues_completed: Count = 0
    issues_blocked: Count = 0
    bugs: Count = 0
    story_points_total: Points = 0
    story_points_completed: Points = 0
    completion_percent: Percent | None = None
    velocity: Points | None = None
    burndown_rate: (
        Annotated[float, Field(ge=-99_999_999.99, le=99_999_999.99, allow_inf_nan=False), *HUNDREDTHS] | None
    ) = None
    scope_added_points: Points = 0
    scope_removed_points: Points = 0
    team_size: Count | None = None
    capacity_utilization: Percent | None = None
    discipline_breakdown: Metadata = Field(default_factory=dict)
    status_breakdown: Metadata = Field(default_factory=dict)
    metadata: Metadata = Field(default_factory=dict)


class ReportCreate(Body):
    report_type: ShortText
    title: Title
    sprint_id: RowId | None = None
    project: ProjectKey | None = None
    created_by: RowId | None = None
    parameters: Metadata = Field(default_factory=dict)
    content: Metadata = Field(default_factory=dict)


class CapacityPut(Body):
    capacity_points: Points = 0
    allocated_points: Points = 0


class QueueItemCreate(Body):
    user_id: RowId
    position: Annotated[int, Field(ge=1, le=100_000), INTEGRAL] | None = None
    project: ProjectKey | None = None
    task: TaskKey | None = None
    notes: Text | None = None

    @model_validator(mode="after")
    def _task_named_whole(self) -> QueueItemCreate:
        if (self.task is None) != (self.project is None):
            raise refused("name a task by both project and task, or neither")
        return self


class UserListQuery(PageQuery):
    is_active: bool | None = None
    # Within the 32 KiB a request line may take (a longer one answers 431).
    settings: Annotated[str, StringConstraints(max_length=16_000)] | None = Field(
        None,
        description="a JSON object the settings must contain (at most 16,000 characters)",
        json_schema_extra={"contentMediaType": "application/json", "contentSchema": {"type": "object"}},
    )

    @field_validator("settings")
    @classmethod
    def _a_json_object(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                wanted = json.loads(value)
            except ValueError:
                wanted = None
            except RecursionError:
                raise refused("a JSON object nested less deeply") from None
            if not isinstance(wanted, dict):
                raise refused('a JSON object, e.g. {"theme": "dark"}')
        return value


class SprintListQuery(PageQuery):
    state: SprintState | None = None
    project: ProjectKey | None = None
    board: JiraId | None = None


class WorkstreamListQuery(PageQuery):
    project: ProjectKey | None = None
    board: JiraId | None = None
    is_active: bool | None = None


class AnalysisListQuery(Query):
    type: ShortText | None = None


class MetricListQuery(Query):
    workstream_id: RowId | None = None


class ReportListQuery(PageQuery):
    sprint_id: RowId | None = None
    type: ShortText | None = None


class QueueListQuery(Query):
    user_id: RowId | None = None


class SprintReportQuery(Query):
    velocity_sprints: Annotated[int, Field(ge=1, le=20)] = 3


# --- the sprint side's documents (the database builds them: migrations 0037) ------


class Document(BaseModel):
    """An answer's shape; a field the database adds without the model is refused by
    the OpenAPI document (additionalProperties: false), so it cannot leak unseen."""

    model_config = ConfigDict(extra="forbid")


class User(Document):
    id: int
    email: str
    username: str
    full_name: str | None
    jira_account_id: str | None
    is_active: bool
    is_superuser: bool
    settings: Metadata
    created_at: datetime
    updated_at: datetime


class Sprint(Document):
    id: int
    jira_sprint_id: int
    name: str
    state: SprintState
    start_date: date | None
    end_date: date | None
    goal: str | None
    jira_board_id: int | None
    jira_project_key: str | None
    timezone: str | None = Field(description="IANA time zone of the sprint's days, if set")
    activated_at: datetime | None = Field(description="when the sprint started (POST .../start)")
    completed_at: datetime | None = Field(description="when the sprint closed (POST .../close)")
    created_at: datetime
    updated_at: datetime


class SprintAnalysis(Document):
    id: int
    sprint_id: int
    project: str | None = Field(description="the project's key, or null for the whole sprint")
    analysis_type: str
    total_story_points: float
    completed_story_points: float
    total_issues: int
    completed_issues: int
    discipline_breakdown: Metadata
    issue_details: list[Any]
    created_at: datetime
    updated_at: datetime


class Workstream(Document):
    id: int
    project: str = Field(description="the project's key")
    name: str
    jira_board_id: int | None
    jira_board_name: str | None
    workstream_type: Literal["standard", "epic", "initiative"]
    category: str | None
    is_active: bool
    metadata: Metadata
    timezone: str | None
    created_at: datetime
    updated_at: datetime


class SprintWorkstream(Document):
    """A workstream's part in a sprint."""

    id: int
    sprint_id: int
    workstream_id: int
    workstream: str = Field(description="the workstream's name")
    project: str = Field(description="the workstream's project, by key")
    association_type: Literal["primary", "secondary", "dependency"]
    expected_story_points: float | None
    actual_story_points: float | None
    priority: int | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class SprintMetric(Document):
    """A snapshot of a workstream in a sprint."""

    id: int
    sprint_id: int
    workstream_id: int
    snapshot_at: datetime
    issues_total: int
    issues_completed: int
    issues_blocked: int
    bugs: int
    story_points_total: float
    story_points_completed: float
    completion_percent: float | None
    velocity: float | None
    burndown_rate: float | None
    scope_added_points: float
    scope_removed_points: float
    team_size: int | None
    capacity_utilization: float | None
    discipline_breakdown: Metadata
    status_breakdown: Metadata
    metadata: Metadata
    created_at: datetime


class SavedReport(Document):
    id: int
    report_type: str
    title: str
    sprint_id: int | None
    project: str | None = Field(description="the project's key, if the report is of one")
    created_by: int | None
    parameters: Metadata
    content: Metadata
    created_at: datetime
    updated_at: datetime


class Capacity(Document):
    id: int
    sprint_id: int
    user_id: int
    capacity_points: float
    allocated_points: float
    created_at: datetime
    updated_at: datetime


class SprintQueueItem(Document):
    """An item of a person's queue in a sprint: a task or a note."""

    id: int
    sprint_id: int
    user_id: int
    position: int
    project: str | None = Field(description="the task's project, by key; null for a note")
    task: str | None = Field(description="the task's key; null for a note")
    notes: str | None
    created_at: datetime
    updated_at: datetime


class SprintReport(BaseModel):
    """The computed sprint report; each figure carries its own `definition` and
    `source` (sql/queries/report.sql)."""

    sprint: Metadata
    commitment: Metadata
    completed: Metadata
    completed_outside: Metadata
    scope_change: Metadata
    completion: Metadata
    carry_over: Metadata
    cycle_time_hours: Metadata
    lead_time_hours: Metadata
    burndown: list[Metadata]
    burndown_source: str
    burndown_definition: str
    velocity: Metadata
    previous_sprint: Metadata | None


class TokenCreated(Document):
    name: str
    role: Literal["admin", "read", "write", "agent"]
    projects: list[str]
    token: str = Field(description="the secret, shown this once")


class TokenInfo(Document):
    name: str
    role: Literal["admin", "read", "write", "agent"]
    projects: list[str] = Field(description="the projects' keys; none for an admin token")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenList(RootModel[list[TokenInfo]]):
    """Every token, without secrets."""


class Export(BaseModel):
    """Everything of a project, for a backup or a move."""

    project: Metadata
    epics: list[Metadata]
    features: list[Metadata]
    tasks: list[Metadata]
    dependencies: list[Metadata]
    history: list[Metadata]


class DependencyAdded(Document):
    task: str
    depends_on: str
    created: bool = Field(description="false when the dependency was there already")


class LinkAdded(Document):
    task: str
    related: str | None = None
    discovered_from: str | None = None
    created: bool = Field(description="false when the link was there already")


class Liveness(Document):
    status: Literal["ok"]


class Readiness(Document):
    status: Literal["ready"]
    migrations: int = Field(description="migrations applied")
