"""Schemas of the training API."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from probity.bounds import DbId
from probity.models.training import CaseStudyStatus, CourseStatus


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1000)
    options: list[str] = Field(max_length=10)
    correct: list[int] = Field(default_factory=list, max_length=10)


class CourseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: DbId
    title: str = Field(min_length=1, max_length=200)
    body_md: str = Field("", max_length=100_000)
    pass_mark: int = Field(80, ge=1, le=100)
    mandatory: bool = False
    status: CourseStatus = CourseStatus.draft
    due_days: int = Field(14, ge=1, le=365)
    auto_new_hires: bool = False
    auto_substantiated: bool = False
    questions: list[QuestionIn] = Field(default_factory=list, max_length=100)


class CourseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=200)
    body_md: str | None = Field(None, max_length=100_000)
    pass_mark: int | None = Field(None, ge=1, le=100)
    mandatory: bool | None = None
    status: CourseStatus | None = None
    due_days: int | None = Field(None, ge=1, le=365)
    auto_new_hires: bool | None = None
    auto_substantiated: bool | None = None
    questions: list[QuestionIn] | None = Field(None, max_length=100)


class QuestionRead(BaseModel):
    """A question as the learner sees it: no correct answers."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    text: str
    options: list[str]
    multiple: bool = False


class QuestionKeyRead(QuestionRead):
    correct: list[int]


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    mime: str
    size: int
    sha256: str


class CourseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    title: str
    body_md: str
    pass_mark: int
    mandatory: bool
    status: CourseStatus
    due_days: int
    auto_new_hires: bool
    auto_substantiated: bool
    created_at: datetime


class CourseDetail(CourseRead):
    questions: list[QuestionKeyRead]
    attachments: list[AttachmentRead]
    assigned: int = 0
    passed: int = 0
    overdue: int = 0


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_ids: list[DbId] = Field(min_length=1, max_length=1000)
    due_at: AwareDatetime | None = None
    source: str | None = Field(None, max_length=200)


class CohortRequest(BaseModel):
    """A cohort as analytics' findings name it: a subsidiary (its subtree), optionally some of
    its teams and a tenure band (lt3m, 3to12m, 1to3y, gt3y — analytics' codes)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: DbId
    team_ids: list[DbId] = Field(default_factory=list, max_length=200)
    tenure_band: str | None = Field(None, max_length=16)
    source: str | None = Field(None, max_length=200)


class TrainingAssignmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    course_id: int
    employee_id: int
    reason: str
    source: str
    assigned_at: datetime
    due_at: datetime
    completed_at: datetime | None
    best_score: int | None
    attempts: int


class AssignmentRow(TrainingAssignmentRead):
    employee_name: str
    employee_no: str
    overdue: bool


class MyAssignment(TrainingAssignmentRead):
    course_title: str
    mandatory: bool
    pass_mark: int
    overdue: bool


class MyCourse(BaseModel):
    assignment: TrainingAssignmentRead
    course_title: str
    body_html: str
    pass_mark: int
    questions: list[QuestionRead]
    attachments: list[AttachmentRead]


class QuizSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # question id → the chosen option indexes
    answers: dict[DbId, list[int]] = Field(max_length=100)


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    assignment_id: int
    score: int
    passed: bool
    submitted_at: datetime


class RateRead(BaseModel):
    violations: int
    conversations: int
    per_1000: float | None


class EffectRead(BaseModel):
    course_id: int
    days: int
    trained: RateRead
    untrained: RateRead
    before: RateRead
    after: RateRead
    trained_people: int
    untrained_people: int


class CaseStudyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: DbId


class CaseStudyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=200)
    body_md: str | None = Field(None, min_length=1, max_length=100_000)


class CaseStudyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tenant_id: int
    case_id: int
    title: str
    body_md: str
    status: CaseStudyStatus
    created_at: datetime
    published_at: datetime | None
