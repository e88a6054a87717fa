"""The routes under /v1: predict, jobs, workflows, search, photo results, models, keys, taste profiles. Each
declares its scope; sidecar/app.py checks it before the handler runs."""

from __future__ import annotations

import os
import shutil
import tempfile

from flask import request

from keepers import __version__
from keepers.sidecar import auth, library, schemas as s
from keepers.sidecar.app import ANY_KEY, PUBLIC, ROUTES, ApiError, Ctx, route  # noqa: F401
from keepers.sidecar.models import ModelRefused
from keepers.sidecar.paths import Echo, PathRefused, resolve

INT_ID = {"type": "integer", "minimum": 1, "maximum": 2**62}
NAME = {"type": "string", "pattern": s.NAME_PATTERN}
JOB_ID = {"type": "string", "pattern": "^[0-9a-f]{16}$"}


def _resolve_all(ctx: Ctx, paths: list[str], limit: int | None = None) -> list[str]:
    """Every path resolved inside the key's roots, or 403 for the whole request (nothing is read)."""
    limit = limit or ctx.daemon.daemon_settings.max_inputs
    if len(paths) > limit:
        raise ApiError(400, "bad_request", f"at most {limit} inputs per request")
    try:
        return [resolve(p, ctx.key.roots) for p in paths]
    except PathRefused as e:
        raise ApiError(403, "path_refused", str(e)) from None


def _run(ctx: Ctx, names: list[str] | None, write: bool = False) -> tuple[dict, int]:
    from keepers.sidecar.api_taste import check_taste

    engine, results, ops = ctx.daemon.engine, [], 0
    try:
        if request.mimetype == "multipart/form-data":
            results, ops = _uploads(ctx, names)
        else:
            taste = ctx.body.taste
            real_paths = _resolve_all(ctx, ctx.body.paths)
            check_taste(ctx, taste)
            for given, real in zip(ctx.body.paths, real_paths):
                r, n = engine.predict(real, ctx.key.app_id, names, write=write, label=given, taste=taste)
                echo = Echo()  # the path, its RAW's companion and its sidecar in the form the caller sent
                echo.add(given, real)
                results.append(echo.record(r))
                ops += n
    except ModelRefused as e:
        raise ApiError(e.status, e.code, str(e)) from None
    return {"results": results, "operations": ops}, ops


def _uploads(ctx: Ctx, names: list[str] | None) -> tuple[list, int]:
    files = request.files.getlist("file")
    if not files:
        raise ApiError(400, "bad_request", "a multipart upload needs one or more `file` fields")
    if len(files) > ctx.daemon.daemon_settings.max_inputs:
        raise ApiError(400, "bad_request", f"at most {ctx.daemon.daemon_settings.max_inputs} inputs per request")
    if names is None and request.form.get("models"):
        names = [n.strip() for n in request.form["models"].split(",") if n.strip()] or None
    taste = request.form.get("taste") or None
    if taste is not None:
        from keepers.sidecar.api_taste import check_taste

        check_taste(ctx, taste)
    tmp = tempfile.mkdtemp(prefix="keepers-upload-")
    results, ops = [], 0
    try:
        for i, f in enumerate(files):
            ext = os.path.splitext(f.filename or "")[1].lower()
            ext = ext if ext[1:].isalnum() and len(ext) <= 6 else ""
            path = os.path.join(tmp, f"upload-{i}{ext}")
            f.save(path)
            r, n = ctx.daemon.engine.predict(path, ctx.key.app_id, names, label=(f.filename or f"upload-{i}")[:255],
                                             cache=False, taste=taste)
            results.append(r)
            ops += n
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results, ops


@route("GET", "/health", scope=PUBLIC, summary="Models, execution providers and queue depth", response=s.Health)
def health(ctx: Ctx):
    from keepers.core.inference.runtime import choose_providers
    from keepers.core.taste.term import state

    d = ctx.daemon
    queue = {"jobs": d.jobs.pending(), "watch": d.store.queue_counts().get("queued", 0)
             + d.store.queue_counts().get("running", 0)}
    return {"status": "ok", "version": __version__, "models": d.engine.model_states(),
            "providers": choose_providers(d.settings.providers), "queue": queue, "taste": state(d.settings)}


@route("GET", "/v1/me", scope=ANY_KEY, summary="The key's application, scopes and usage", response=s.Me)
def me(ctx: Ctx):
    row = ctx.daemon.store.one("SELECT * FROM keys WHERE id = ?", (ctx.key.id,))
    return {"application": ctx.key.app_name, "key": auth.key_dict(row)}


@route("POST", "/v1/predict", scope="predict", summary="Predict photos (paths on this machine, or uploads) with "
       "every enabled model or those named", body=s.PredictRequest, multipart=True, response=s.PredictResponse,
       errors=(404, 503))
def predict(ctx: Ctx):
    body = ctx.body
    return _run(ctx, body.models if body else None, write=bool(body and body.write))


@route("POST", "/v1/jobs", scope="predict", summary="Start a batch job over photos or folders", body=s.JobCreate,
       response=s.Job, status=202, errors=(404,))
def job_create(ctx: Ctx):
    from keepers.sidecar.api_taste import check_taste

    _resolve_all(ctx, ctx.body.paths, s.MAX_JOB_INPUTS)  # all refused now if one is; read by the job as sent
    check_taste(ctx, ctx.body.taste)
    return ctx.daemon.jobs.create(ctx.key, ctx.body.paths, ctx.body.write, ctx.body.taste)


@route("GET", "/v1/jobs", scope="predict", summary="This application's jobs, newest first", response=s.JobList)
def job_list(ctx: Ctx):
    return {"jobs": ctx.daemon.jobs.list(ctx.key.app_id)}


def _job(ctx: Ctx, job_id: str) -> dict:
    job = ctx.daemon.jobs.get(job_id, ctx.key.app_id)
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id}")
    return job


@route("GET", "/v1/jobs/{job_id}", scope="predict", summary="A job's progress", response=s.Job,
       params={"job_id": JOB_ID}, errors=(404,))
def job_get(ctx: Ctx, job_id: str):
    return _job(ctx, job_id)


@route("POST", "/v1/jobs/{job_id}/cancel", scope="predict", summary="Cancel a job", response=s.Job,
       params={"job_id": JOB_ID}, errors=(404,))
def job_cancel(ctx: Ctx, job_id: str):
    _job(ctx, job_id)
    return ctx.daemon.jobs.cancel(job_id)


@route("GET", "/v1/jobs/{job_id}/results", scope="predict", summary="A finished job's results: all of them, or a page "
       "(`?limit=` results from `?offset=`); `?view=verdict` leaves out each result's `models`, `meta` and `video` "
       "(empty), for a client that applies verdicts", response=s.JobResults, params={"job_id": JOB_ID},
       options={"offset": {"type": "integer", "minimum": 0, "maximum": 2**31},
                "limit": {"type": "integer", "minimum": 1, "maximum": s.RESULTS_PAGE},
                "view": {"type": "string", "enum": ["full", "verdict"]}}, errors=(404,))
def job_results(ctx: Ctx, job_id: str):
    job = _job(ctx, job_id)
    offset, limit = ctx.args.get("offset", 0), ctx.args.get("limit")
    results, total = ctx.daemon.jobs.results(job_id, offset, limit, ctx.args.get("view") == "verdict")
    nxt = offset + len(results)
    return {"id": job_id, "state": job["state"], "total": total, "offset": offset,
            "next_offset": nxt if nxt < total else None, "results": results}


# --- workflows --------------------------------------------------------------------------------------------------


@route("GET", "/v1/workflows", scope="workflows", summary="This application's workflows", response=s.WorkflowList)
def workflow_list(ctx: Ctx):
    return {"workflows": library.workflows(ctx.daemon.store, ctx.key.app_id)}


@route("POST", "/v1/workflows", scope="workflows", summary="Create a workflow: a named list of models",
       body=s.WorkflowCreate, response=s.Workflow, status=201, errors=(404, 409))
def workflow_create(ctx: Ctx):
    try:
        ctx.daemon.engine.plan(ctx.key.app_id, ctx.body.models)  # every model must exist
        return library.create_workflow(ctx.daemon.store, ctx.key.app_id, ctx.body.name, ctx.body.models)
    except ModelRefused as e:
        raise ApiError(e.status, e.code, str(e)) from None


def _workflow(ctx: Ctx, name: str) -> dict:
    wf = library.workflow(ctx.daemon.store, ctx.key.app_id, name)
    if wf is None:
        raise ApiError(404, "not_found", f"no workflow named {name!r}")
    return wf


@route("GET", "/v1/workflows/{name}", scope="workflows", summary="One workflow", response=s.Workflow,
       params={"name": NAME}, errors=(404,))
def workflow_get(ctx: Ctx, name: str):
    return _workflow(ctx, name)


@route("DELETE", "/v1/workflows/{name}", scope="workflows", summary="Delete a workflow", response=s.Deleted,
       params={"name": NAME}, errors=(404,))
def workflow_delete(ctx: Ctx, name: str):
    _workflow(ctx, name)
    library.delete_workflow(ctx.daemon.store, ctx.key.app_id, name)
    return {"deleted": name}


@route("POST", "/v1/workflows/{name}/predict", scope="predict", summary="Run a workflow's models on photos: each "
       "model's output and the verdict, in one response", body=s.WorkflowPredictRequest, multipart=True,
       response=s.PredictResponse, params={"name": NAME}, errors=(404, 503))
def workflow_predict(ctx: Ctx, name: str):
    return _run(ctx, _workflow(ctx, name)["models"])


# --- search and results -----------------------------------------------------------------------------------------


@route("POST", "/v1/search/similar", scope="search", summary="Photos that look like a photo (by id or path)",
       body=s.SimilarRequest, response=s.SearchResponse, errors=(404, 409, 501))
def search_similar(ctx: Ctx):
    b = ctx.body
    if (b.photo_id is None) == (b.path is None):
        raise ApiError(400, "bad_request", "give exactly one of photo_id and path")
    return library.similar(ctx.daemon.engine, ctx.key, b.photo_id, b.path, b.k)


@route("POST", "/v1/search/text", scope="search", summary="Photos matching a text query", body=s.TextRequest,
       response=s.SearchResponse, errors=(501,))
def search_text(ctx: Ctx):
    return library.text(ctx.daemon.engine, ctx.key, ctx.body.query, ctx.body.k)


@route("GET", "/v1/photos/{photo_id}", scope="predict", summary="What is known of one photo of the library",
       response=s.PhotoResult, params={"photo_id": INT_ID}, errors=(404,))
def photo_get(ctx: Ctx, photo_id: int):
    return library.photo(ctx.daemon.engine, ctx.key, photo_id=photo_id)


@route("GET", "/v1/photos", scope="predict", summary="What is known of the photo at `path`", response=s.PhotoResult,
       query={"path": {"type": "string", "minLength": 1, "maxLength": 4096}}, errors=(404,))
def photo_by_path(ctx: Ctx):
    given = request.args["path"]
    try:
        real = resolve(given, ctx.key.roots)
    except PathRefused as e:
        raise ApiError(403, "path_refused", str(e)) from None
    echo = Echo()
    echo.add(given, real)
    return echo.record(library.photo(ctx.daemon.engine, ctx.key, path=real))


# --- the review page ---------------------------------------------------------------------------------------------


@route("POST", "/v1/review", scope="predict", summary="Open the review page on photos or folders the daemon has "
       "judged and written (a job with `write`); answers the page's link with its token", body=s.ReviewOpen,
       response=s.ReviewOpened, errors=(409,))
def review_open(ctx: Ctx):
    from flask import current_app

    from keepers.sidecar.review.daemon import NotReady, open_review

    real = _resolve_all(ctx, ctx.body.paths, s.MAX_JOB_INPUTS)
    try:
        return open_review(current_app, ctx.daemon.settings, real, request.host_url)
    except NotReady as e:
        raise ApiError(409, "not_judged", str(e)) from None


@route("POST", "/v1/review/choices", scope="predict", summary="The photographer's choices made in the review page "
       "(stars, pick/reject flag, colour label) on these photos, for a host's plug-in to apply where no sidecar "
       "carries them (Lightroom's JPEG, TIFF, PSD, PNG, DNG)", body=s.ChoicesRequest, response=s.ChoiceList)
def review_choices(ctx: Ctx):
    from keepers.sidecar.review.daemon import choices

    real = _resolve_all(ctx, ctx.body.paths, s.MAX_JOB_INPUTS)
    found = choices(ctx.daemon.engine.catalog(), real)
    return {"choices": [{"path": given, **found[r]} for given, r in zip(ctx.body.paths, real) if r in found]}


# --- the photographer's own signals -----------------------------------------------------------------------------


@route("POST", "/v1/signals", scope="predict", summary="Store the photographer's picks, rejects, stars, labels and "
       "keywords from their own program (for learning their taste)", body=s.SignalsRequest, response=s.SignalsStored)
def signals_store(ctx: Ctx):
    b = ctx.body
    real = _resolve_all(ctx, [p.path for p in b.photos])  # files may be offline: only where they lie is checked
    out = library.store_signals(ctx.daemon.engine, ctx.key, b.source, list(zip(real, b.photos)))
    # the profiles that follow this application's signals retrain from them, off this request (sidecar/taste.py)
    out["retraining"] = [r["name"] for r in ctx.daemon.store.all(
        "SELECT name FROM taste_profiles WHERE app_id = ? AND follow_signals = 1 ORDER BY name", (ctx.key.app_id,))]
    for name in out["retraining"]:
        ctx.daemon.trainer.request(name, signals=True)
    return out


@route("GET", "/v1/signals", scope="predict", summary="The photographer's signals stored for this application (for "
       "one photo with `?path=`)", response=s.SignalList,
       options={"path": {"type": "string", "minLength": 1, "maxLength": 4096},
                "offset": {"type": "integer", "minimum": 0, "maximum": 2**31},
                "limit": {"type": "integer", "minimum": 1, "maximum": s.RESULTS_PAGE}})
def signals_list(ctx: Ctx):
    given = ctx.args.get("path")
    real = None
    if given is not None:
        try:
            real = resolve(given, ctx.key.roots)
        except PathRefused as e:
            raise ApiError(403, "path_refused", str(e)) from None
    rows = library.signals(ctx.daemon.store, ctx.key, real, ctx.args.get("offset", 0),
                           ctx.args.get("limit", s.RESULTS_PAGE))
    for r in rows:
        if given is not None:
            r["path"] = given
    return {"signals": rows}


# the admin routes (models, keys), taste and watched folders live beside: importing them here fills ROUTES completely
from keepers.sidecar import api_admin, api_taste, api_watch  # noqa: E402,F401
