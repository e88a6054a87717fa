"""Request and response bodies of the API, as pydantic models: requests are validated with them and the OpenAPI
document is generated from them, so the document says what the server does."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Path_ = Annotated[str, Field(min_length=1, max_length=4096, description="absolute path on the daemon's machine")]
ModelName = Annotated[str, Field(min_length=1, max_length=64)]
Scope = Literal["predict", "search", "workflows", "models:add", "models:patch", "keys:admin"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
CONCEPT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # JSON 0 is not false, "1" is not 1


# --- requests ---------------------------------------------------------------------------------------------------


class PredictRequest(Strict):
    paths: list[Path_] = Field(min_length=1, max_length=1000)
    models: list[ModelName] | None = Field(None, min_length=1, max_length=64,
                                           description="models to run (default: every enabled model)")
    write: bool = Field(False, description="also write the verdict into each photo's XMP sidecar")


class WorkflowPredictRequest(Strict):
    paths: list[Path_] = Field(min_length=1, max_length=1000)


class JobCreate(Strict):
    paths: list[Path_] = Field(min_length=1, max_length=1000, description="photos or folders (walked)")
    write: bool = Field(False, description="write each verdict into the photo's XMP sidecar")


class WorkflowCreate(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    models: list[ModelName] = Field(min_length=1, max_length=32)


class SimilarRequest(Strict):
    photo_id: int | None = Field(None, ge=1, le=2**62, description="the photo to match (or give its path)")
    path: Path_ | None = None
    k: int = Field(10, ge=1, le=100)


class TextRequest(Strict):
    query: str = Field(min_length=1, max_length=500)
    k: int = Field(10, ge=1, le=100)


class KeyCreate(Strict):
    scopes: list[Scope] = Field(min_length=1, max_length=6)
    note: str = Field("", max_length=200)


class ModelPatch(Strict):
    weight: float | None = Field(None, ge=0, le=100, description="this model's weight in the score; 0 = ignore it")
    enabled: bool | None = Field(None, description="false: the model no longer runs in this application's predict")


class ConceptCreate(Strict):
    name: str = Field(pattern=CONCEPT_PATTERN)
    examples: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(min_length=1, max_length=100,
                                                                  description="photo ids showing the concept")
    threshold: float = Field(0.8, ge=0, le=1, description="cosine similarity from which a photo gets the keyword")


# --- responses --------------------------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    error: ErrorBody


class ReasonOut(BaseModel):
    code: str
    message: str
    severity: float
    cost: float


class VerdictOut(BaseModel):
    score: float
    verdict: Literal["good", "bad"]
    confidence: float
    stars: int
    reasons: list[ReasonOut]
    keywords: list[str]
    group: str | None = None
    pick: bool = False
    judged_by: str | None = None


class ModelOut(BaseModel):
    version: str
    score: float | None
    weight: float
    reasons: list[ReasonOut]
    features: dict[str, float | None]
    data: dict[str, Any]
    keywords: list[str]


class VideoSecond(BaseModel):
    t: int = Field(description="second of the clip this frame was sampled at")
    verdict: VerdictOut
    models: dict[str, ModelOut]
    nsfw: float | None = Field(None, description="probability this second is pornographic, when the NSFW analyzer "
                                                 "is on (`nsfw = true`), else null")


class VideoOut(BaseModel):
    duration: float
    seconds: list[VideoSecond]
    summary: dict[str, Any]


class InputResult(BaseModel):
    input: str
    photo_id: int | None
    error: ErrorBody | None
    verdict: VerdictOut | None
    models: dict[str, ModelOut]
    sidecars: list[str]
    video: VideoOut | None = None
    meta: dict[str, Any] | None = Field(None, description="capture facts read from EXIF (camera, lens, exposure...)")


class PredictResponse(BaseModel):
    results: list[InputResult]
    operations: int = Field(description="inputs x models, as counted against the key")


class Job(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    total: int
    done: int
    errors: int
    write: bool
    error: str | None
    created_at: str
    finished_at: str | None


class JobList(BaseModel):
    jobs: list[Job]


class JobResults(BaseModel):
    id: str
    state: str
    results: list[dict[str, Any]] = Field(description="one `keepers cull --json` record per photo, plus photo_id")


class Workflow(BaseModel):
    name: str
    models: list[str]
    created_at: str


class WorkflowList(BaseModel):
    workflows: list[Workflow]


class Hit(BaseModel):
    photo_id: int
    path: str
    distance: float = Field(description="cosine distance to the query: lower is nearer; hits come nearest first")


class SearchResponse(BaseModel):
    results: list[Hit]


class PhotoResult(BaseModel):
    photo_id: int
    path: str
    files: list[str]
    analyzed_at: str | None
    verdict: VerdictOut | None
    models: dict[str, ModelOut]


class Model(BaseModel):
    name: str
    kind: Literal["analyzer", "concept"]
    version: str
    weight: float | None
    enabled: bool
    threshold: float | None = None
    examples: list[int] | None = None


class ModelList(BaseModel):
    models: list[Model]


class Deleted(BaseModel):
    deleted: str


class Key(BaseModel):
    id: int
    prefix: str
    scopes: list[str]
    note: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None
    requests: int
    operations: int


class KeyList(BaseModel):
    keys: list[Key]


class KeyCreated(Key):
    key: str = Field(description="the secret: shown this once, stored only as a hash")


class Me(BaseModel):
    application: str
    key: Key


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    models: list[dict[str, Any]]
    providers: list[str]
    queue: dict[str, int]
