"""Request and response bodies of the API, as pydantic models: requests are validated with them and the OpenAPI
document is generated from them, so the document says what the server does."""

from __future__ import annotations

from typing import Annotated, Any, Literal

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


# --- requests ---------------------------------------------------------------------------------------------------


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


class SimilarRequest(Strict):
    photo_id: int | None = Field(None, ge=1, le=2**62, description="the photo to match (or give its path)")
    path: Path_ | None = None
    k: int = Field(10, ge=1, le=100)


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


class TextRequest(Strict):
    query: str = Field(min_length=1, max_length=500)
    k: int = Field(10, ge=1, le=100)


class KeyCreate(Strict):
    scopes: list[Scope] = Field(min_length=1, max_length=7)
    note: str = Field("", max_length=200)


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


class PredictResponse(BaseModel):
    results: list[Result]
    operations: int = Field(description="model outputs returned (inputs x models; an input that could not be "
                                        "read costs nothing), as counted against the key")


class Job(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    total: int
    done: int
    errors: int
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


class PhotoResult(Result):
    analyzed_at: str | None


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
    taste: dict[str, Any] | None = Field(None, description="the `taste` setting's profile, whether it is in use, "
                                         "and why not (a deleted profile: judged without taste)")


# --- taste profiles (sidecar/api_taste.py) ------------------------------------------------------------------------

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
