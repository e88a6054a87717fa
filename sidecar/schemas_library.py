"""The library (sidecar/api.py, api_admin.py): similar photos and text search, the photographer's signals, the
models and an application's concepts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from keepers.sidecar.schemas_base import CONCEPT_PATTERN, NAME_PATTERN, Path_, Strict


class SimilarRequest(Strict):
    photo_id: int | None = Field(None, ge=1, le=2**62, description="the photo to match (or give its path)")
    path: Path_ | None = None
    k: int = Field(10, ge=1, le=100)


class TextRequest(Strict):
    query: str = Field(min_length=1, max_length=500)
    k: int = Field(10, ge=1, le=100)


class Hit(BaseModel):
    photo_id: int
    path: str
    distance: float = Field(description="cosine distance to the query: lower is nearer; hits come nearest first")


class SearchResponse(BaseModel):
    results: list[Hit]


class PhotoSignals(Strict):
    """What the photographer gave one photo in their own program (Keepers' own values left out by the sender)."""

    path: Path_
    pick: int | None = Field(None, ge=-1, le=1, description="1 picked, -1 rejected, 0 or null: no flag")
    rating: int | None = Field(None, ge=0, le=5, description="stars; 0 or null: unrated")
    label: str | None = Field(None, max_length=64, description="colour label (red, yellow...), or null")
    keywords: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list, max_length=500, description="their keywords, hierarchical with `|` (places|Norway)")


class SignalsRequest(Strict):
    source: str = Field("lightroom", pattern=NAME_PATTERN, description="the program the signals come from")
    photos: list[PhotoSignals] = Field(min_length=1, max_length=1000, description="each photo's signals from "
                                       "`source` replace those it had from there")


class SignalsStored(BaseModel):
    photos: int = Field(description="photos whose signals from this source were replaced")
    signals: int = Field(description="signals stored")
    retraining: list[str] = Field(default_factory=list, description="this application's taste profiles that "
                                  "follow its signals: each retrains now, in the background (its `state`)")


class SignalOut(BaseModel):
    path: str = Field(description="the photo's path as given (here: as asked for, else the daemon's)")
    photo_id: int | None = Field(description="the photo's id in the library, when Keepers knows it")
    kind: Literal["pick", "reject", "rating", "label", "keyword"]
    value: str
    source: str
    time: str


class SignalList(BaseModel):
    signals: list[SignalOut]


class ModelPatch(Strict):
    weight: float | None = Field(None, ge=0, le=100, description="kept and listed for this application; the "
                                 "verdict is the judging step's, the same for every application (as `keepers cull` "
                                 "makes it), so a weight no longer changes it")
    enabled: bool | None = Field(None, description="false: the model's output is left out of this application's "
                                                   "results (and not billed)")


class ConceptCreate(Strict):
    name: str = Field(pattern=CONCEPT_PATTERN)
    examples: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(min_length=1, max_length=100,
                                                                  description="photo ids showing the concept")
    threshold: float = Field(0.8, ge=0, le=1, description="cosine similarity from which a photo gets the keyword")


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
