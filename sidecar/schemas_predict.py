"""Predict, jobs and workflows (sidecar/api.py): what a request to judge photos sends, and what it answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from keepers.sidecar.schemas_base import MAX_JOB_INPUTS, NAME_PATTERN, ModelName, Path_, Strict
from keepers.sidecar.schemas_result import Result


class PredictRequest(Strict):
    paths: list[Path_] = Field(min_length=1, max_length=1000)
    models: list[ModelName] | None = Field(None, min_length=1, max_length=64,
                                           description="models to run (default: every enabled model)")
    write: bool = Field(False, description="also write the verdict into each photo's XMP sidecar")
    taste: str | None = Field(None, pattern=NAME_PATTERN, description="judge with this application's taste "
                              "profile (/v1/taste/profiles): a `taste` reason says what it moved")


class WorkflowPredictRequest(Strict):
    paths: list[Path_] = Field(min_length=1, max_length=1000)
    taste: str | None = Field(None, pattern=NAME_PATTERN, description="judge with this application's taste "
                              "profile (/v1/taste/profiles): a `taste` reason says what it moved")


class JobCreate(Strict):
    paths: list[Path_] = Field(min_length=1, max_length=MAX_JOB_INPUTS, description="photos or folders (walked); "
                               "each result gives its paths in the form they were sent (a path through a symlink "
                               "or a mapped drive comes back as sent)")
    write: bool = Field(False, description="write each verdict into the photo's XMP sidecar")
    taste: str | None = Field(None, pattern=NAME_PATTERN, description="judge with this application's taste "
                              "profile (/v1/taste/profiles): a `taste` reason says what it moved")


class WorkflowCreate(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    models: list[ModelName] = Field(min_length=1, max_length=32)


class PredictResponse(BaseModel):
    results: list[Result]
    operations: int = Field(description="model outputs returned (inputs x models; an input that could not be "
                                        "read costs nothing), as counted against the key")


class Job(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    total: int = Field(description="the photos and videos it judges (known once it runs; 0 while queued): inputs "
                       "refused or not found are not counted here, they are in its results, as errors")
    done: int = Field(description="how many of `total` are answered so far (from the catalog or analysed)")
    errors: int = Field(description="results with an error, once done: refused and missing inputs included")
    write: bool
    taste: str | None = Field(None, description="the taste profile it judges with; null: none named")
    error: str | None = Field(description="why the job failed as a whole; null otherwise")
    created_at: str
    finished_at: str | None


class JobList(BaseModel):
    jobs: list[Job]


class JobResults(BaseModel):
    id: str
    state: str
    total: int = Field(description="how many results the job has")
    offset: int = Field(description="the index of this page's first result")
    next_offset: int | None = Field(description="where the next page starts (`?offset=`); null: this is the last")
    results: list[Result] = Field(description="one result per photo, the same as predict gives, with each path "
                                              "in the form it was sent; a path that led to nothing it could judge "
                                              "has a result that says why, never none")


class Workflow(BaseModel):
    name: str
    models: list[str]
    created_at: str


class WorkflowList(BaseModel):
    workflows: list[Workflow]
