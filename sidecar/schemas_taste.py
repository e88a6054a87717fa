"""The review page and taste profiles (sidecar/api.py, api_taste.py): a review opened and the choices made in it;
a profile's choices, its file and what it says of itself."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from keepers.sidecar.schemas_base import MAX_JOB_INPUTS, NAME_PATTERN, Path_, Strict


class ReviewOpen(Strict):
    paths: list[Path_] = Field(min_length=1, max_length=MAX_JOB_INPUTS, description="photos or folders of the "
                               "library, judged and written by a job (`write`: true)")


class ChoicesRequest(Strict):
    paths: list[Path_] = Field(min_length=1, max_length=MAX_JOB_INPUTS, description="photos of the library, as the "
                               "host knows them (a folder is not looked into)")


class PageChoice(BaseModel):
    path: str = Field(description="the photo's path as sent")
    rating: int | None = Field(ge=0, le=5, description="the stars the photographer gave in the page; null: none "
                               "given there (the stars it showed were Keepers' or the host's)")
    flag: Literal["pick", "reject"] | None = Field(description="the pick or reject flag given in the page; null: none")
    label: Literal["red", "yellow", "green", "blue", "purple"] | None = Field(description="the colour label given "
                                                                             "in the page; null: none")
    decided_at: str = Field(description="when the photographer last chose in the page (UTC, ISO 8601)")


class ChoiceList(BaseModel):
    choices: list[PageChoice] = Field(description="one for each photo sent that the photographer chose for in the page")


class ReviewOpened(BaseModel):
    url: str = Field(description="the review page's link on 127.0.0.1, with its token (open it in a browser on "
                                 "this machine); opening another review ends this link")
    photos: int = Field(description="photos in the review")


MAX_CHOICES = MAX_JOB_INPUTS  # choices one import takes (a CSV's rows)
MAX_CSV_CHARS = 4 * 1024 * 1024  # a CSV's text, 20,000 rows of two long paths


class TasteChoice(Strict):
    """One pairwise choice: the photographer preferred `preferred` over `other`."""

    preferred: Path_
    other: Path_


class TasteChoices(Strict):
    """Choices added to a profile (made when it is not there): exactly one of `csv`, `choices` and `signals`."""

    csv: str | None = Field(None, description=f"a CSV with the header `preferred,other` (photo paths; a relative "
                            f"one is relative to `base`), at most {MAX_CHOICES} rows and {MAX_CSV_CHARS} characters")
    base: Path_ | None = Field(None, description="the folder a relative path of the CSV is relative to")
    choices: list[TasteChoice] | None = Field(None, min_length=1, max_length=MAX_CHOICES)
    signals: bool = Field(False, description="the picks, rejects and stars this application sent (/v1/signals), "
                          "as they are now: they replace what its signals gave the profile before")
    follow_signals: bool | None = Field(None, description="retrain the profile whenever this application sends "
                                        "signals (unchanged: null)")


class TastePatch(Strict):
    follow_signals: bool = Field(description="retrain whenever this application sends signals (from them)")


class TasteSignal(BaseModel):
    model_config = ConfigDict(strict=True)  # other fields a later version may add are left out

    preferred: Path_
    other: Path_
    source: str = Field("import", max_length=4200)


class TasteFile(Strict):
    """A profile as `keepers taste export` writes it and `keepers taste import P FILE.json` reads it."""

    format: Literal["keepers-taste/1"]
    name: str = Field(pattern=NAME_PATTERN)
    signals: list[TasteSignal] = Field(max_length=100_000)
    cv: float | None = Field(None, ge=0, le=1)
    trained_on: int = Field(0, ge=0)
    explanation: list[Annotated[str, Field(max_length=1000)]] = Field(default_factory=list, max_length=50)
    model: dict[str, Any] | None = None


class TasteProfile(BaseModel):
    name: str
    signals: int = Field(description="choices it holds")
    sources: dict[str, int] = Field(description="choices by where they came from (csv, signals, ratings, review)")
    trained_on: int = Field(description="choices its model learned from (both photos readable)")
    cv_agreement: float | None = Field(description="held-out agreement: share of its choices predicted by a model "
                                       "trained on the others (5-fold cross-validation); null under 10 choices")
    weight: float = Field(description="points of the 1-10 score per spread of taste (grows with the evidence)")
    prefers: list[str] = Field(description="what it prefers, in words")
    follow_signals: bool
    state: Literal["untrained", "queued", "retraining", "trained", "failed"] = Field(
        description="`queued`/`retraining`: a retrain is waiting or running, in the background; `trained`: at "
                    "`trained_at`")
    trained_at: str | None
    error: str | None = Field(description="why the last retrain failed; null otherwise")


class TasteList(BaseModel):
    profiles: list[TasteProfile]
