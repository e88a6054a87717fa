"""Request and response bodies of the API, as pydantic models: requests are validated with them and the OpenAPI
document is generated from them, so the document says what the server does.

The models live by the part of the API they serve; every name is imported here, so `schemas.X` names any of them:
`schemas_base.py` (the field types, names and limits, the strict base of every request, the error body),
`schemas_result.py` (the one result shape: `Result` and its reasons, verdict, models' outputs, video),
`schemas_predict.py` (predict, jobs, workflows), `schemas_library.py` (similar photos, text search, signals, models
and concepts), `schemas_keys.py` (keys, the caller's own key, health, watched folders) and `schemas_taste.py` (the
review page, taste profiles)."""

from __future__ import annotations

# every name the API's modules (sidecar/api*.py, openapi.py) and tests use, from the module that holds it
from keepers.sidecar.schemas_base import (  # noqa: F401
    CONCEPT_PATTERN, MAX_JOB_INPUTS, NAME_PATTERN, RESULTS_PAGE, Deleted, Error, ErrorBody, ModelName, Path_, Scope,
    Strict)
from keepers.sidecar.schemas_keys import (  # noqa: F401
    Health, Key, KeyCreate, KeyCreated, KeyList, Me, WatchFailure, WatchStatus)
from keepers.sidecar.schemas_library import (  # noqa: F401
    ConceptCreate, Hit, Model, ModelList, ModelPatch, PhotoSignals, SearchResponse, SignalList, SignalOut,
    SignalsRequest, SignalsStored, SimilarRequest, TextRequest)
from keepers.sidecar.schemas_predict import (  # noqa: F401
    Job, JobCreate, JobList, JobResults, PredictRequest, PredictResponse, Workflow, WorkflowCreate, WorkflowList,
    WorkflowPredictRequest)
from keepers.sidecar.schemas_result import (  # noqa: F401
    ModelOut, PhotoResult, ReasonOut, Result, VerdictOut, VideoOut, VideoSecond)
from keepers.sidecar.schemas_taste import (  # noqa: F401
    MAX_CHOICES, MAX_CSV_CHARS, ChoiceList, ChoicesRequest, PageChoice, ReviewOpen, ReviewOpened, TasteChoice,
    TasteChoices, TasteFile, TasteList, TastePatch, TasteProfile, TasteSignal)
