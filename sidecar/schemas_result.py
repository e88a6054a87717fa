"""The one result shape (`Result`: predict, workflows, jobs and photo lookups give it) and its parts: a reason,
a verdict, a model's output, a video's seconds."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ReasonOut(BaseModel):
    code: str
    message: str
    severity: float
    cost: float
    role: Literal["took", "gave", "note", "measured"] | None = Field(
        None, description="what the reason did: took points, gave points, a note (what was recognised), or a flaw "
                          "measured and not charged (cost 0; `keepers show` lists it only where the photo is not kept)")


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
    verdict: VerdictOut | None = Field(description="this second's judgement; null where nothing could judge it")
    models: dict[str, ModelOut]
    nsfw: float | None = Field(None, description="probability this second is pornographic, when the NSFW analyzer "
                                                 "is on (`nsfw = true`), else null")


class VideoOut(BaseModel):
    duration: float
    seconds: list[VideoSecond]
    summary: dict[str, Any]


class Result(BaseModel):
    """One input's result, in one shape wherever the API gives one (predict, workflows, jobs, photo lookups): the
    `keepers cull --json` record (README: the `--json` contract) plus `input`, `photo_id`, `models`, `meta` and
    `video`. The verdict is always the judging step's over every analyzer, as `keepers cull` makes it; a workflow
    or `models` list chooses which models' outputs `models` shows."""

    input: str = Field(description="the path or upload name as given (a job: the photo's path)")
    path: str = Field(description="the photo (the RAW of a RAW+JPEG pair); an upload: its name")
    files: list[str]
    score: float | None = Field(description="1-10; null when the input could not be judged")
    verdict: Literal["good", "bad"] | None
    confidence: float | None
    stars: int | None = Field(description="0-5, or -1 for a reject")
    reasons: list[ReasonOut] = Field(description="worst first; `cost` is the points of the score it took")
    keywords: list[str] = Field(description="hierarchical keywords (`animal|dog`), this application's concepts "
                                            "(`concept|name`) included")
    group: str | None
    pick: bool
    judged_by: str | None
    nsfw: float | None
    sidecars: list[str] = Field(description="the sidecar file(s) written, or that a write would write")
    embedded: list[str] = Field(description="files whose own XMP holds the verdict (`embed = true`): no sidecar")
    via_plugin: list[str] = Field(description="files whose host reads no sidecar for them (Lightroom: a JPEG, TIFF, "
                                              "PSD or DNG): its plug-in applies the verdict; nothing written")
    error: str | None = Field(description="null, or why this input could not be judged, or why its sidecar was "
                                          "not written (as `keepers cull --json` says it)")
    error_code: Literal["not_found", "not_a_file", "read_error", "not_judged", "path_refused",
                        "write_error"] | None = Field(description="the error's kind, null without one; "
                                                                   "`write_error`: judged, the verdict stands")
    photo_id: int | None = Field(description="the photo's id in the library; null for an upload or an error")
    models: dict[str, ModelOut] = Field(description="the chosen models' outputs; the `tags` model's `data.top` "
                                                    "lists the classifier's classes as keywords")
    meta: dict[str, Any] | None = Field(description="capture facts read from EXIF (camera, lens, exposure...)")
    video: VideoOut | None = Field(description="a video's seconds and summary; null for a photo")


class PhotoResult(Result):
    analyzed_at: str | None
