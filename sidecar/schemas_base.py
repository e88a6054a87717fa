"""What every part of the API's bodies shares: the field types (a path, a model's name, a key's scope), names and
limits, the strict base of every request, the error body and the answer to a deletion."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


Path_ = Annotated[str, Field(min_length=1, max_length=4096, description="absolute path on the daemon's machine")]
ModelName = Annotated[str, Field(min_length=1, max_length=64)]
Scope = Literal["predict", "search", "workflows", "models:add", "models:patch", "keys:admin", "taste"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# a job is a whole shoot (a wedding: 2,000-5,000 frames) in one request, so its bursts are found across all of it;
# predict answers while the caller waits and keeps to `[daemon] max_inputs`
MAX_JOB_INPUTS = 20_000
RESULTS_PAGE = 1000  # results a page of /v1/jobs/{id}/results holds at most, when a page is asked for
CONCEPT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # JSON 0 is not false, "1" is not 1


class ErrorBody(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    error: ErrorBody


class Deleted(BaseModel):
    deleted: str
