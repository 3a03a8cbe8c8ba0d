"""Request and response shapes: validated before any SQL, and described in OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
Priority = Annotated[int, Field(ge=1, le=10)]
RowId = Annotated[int, Field(ge=1, le=9_223_372_036_854_775_807)]
StoryPoints = Annotated[float, Field(ge=0, le=9999.99, allow_inf_nan=False)]
LeaseSeconds = Annotated[int, Field(ge=1, le=86_400)]
Metadata = dict[str, Any]


class Body(BaseModel):
    """A JSON request body: unknown fields and wrong types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ProjectCreate(Body):
    key: ProjectKey
    name: Title
    description: Text | None = None
    is_active: bool = True
    metadata: Metadata = Field(default_factory=dict)


class Patch(Body):
    """A partial update: only the fields present change. Fields in NOT_NULL may be
    left out but not set to null (the service refuses that before any SQL)."""

    NOT_NULL: ClassVar[frozenset[str]] = frozenset()


class ProjectPatch(Patch):
    NOT_NULL = frozenset({"name", "is_active", "metadata"})
    name: Title | None = None
    description: Text | None = None
    is_active: bool | None = None
    metadata: Metadata | None = None


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


class TaskPatch(TaskFields, Patch):
    """Status has its own route (POST .../status), so that every change has its history."""

    NOT_NULL = frozenset({"title", "priority", "inputs", "expected_outputs", "metadata"})
    title: Title | None = None


class StatusChange(Body):
    status: Status
    note: Text | None = None
    actor: ShortText | None = None


class ClaimRequest(Body):
    project: ProjectKey
    agent: ShortText
    lease_seconds: LeaseSeconds = 300


class Heartbeat(Body):
    agent: ShortText
    lease_seconds: LeaseSeconds = 300


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


class TaskListQuery(PageQuery):
    status: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None, description="comma-separated statuses, e.g. pending,blocked"
    )
    agent_type: ShortText | None = None
    priority_min: Priority = 1
    priority_max: Priority = 10
    feature: FeatureKey | None = None
    epic: EpicKey | None = None
    sprint: RowId | None = None
    assignee: RowId | None = None
    input: Artifact | None = Field(None, description="an artifact id the task takes as input")
    q: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None, description="text in the title or description"
    )


class AllTasksListQuery(TaskListQuery):
    project: ProjectKey | None = None


class HistoryQuery(PageQuery):
    since: datetime | None = None


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
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class HistoryItem(BaseModel):
    task: str
    from_status: Status | None
    to_status: Status
    actor: str
    note: str | None
    changed_at: datetime


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None
