"""The Flask app: one route table (sidecar/api.py) from which both the URL map and the OpenAPI document are built;
every route checks its key and scope here, and every error leaves as `{"error": {"code", "message"}}`."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Flask, Response, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from keepers.core.errors import UserError
from keepers.core.settings import DaemonSettings, Settings
from keepers.sidecar import auth
from keepers.sidecar.store import Store

log = logging.getLogger("keepers.sidecar")
PUBLIC, ANY_KEY = None, ""  # Route.scope values: no key needed / any valid key


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Route:
    method: str
    path: str  # OpenAPI style: /v1/jobs/{job_id}
    scope: str | None
    summary: str
    func: Callable
    response: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    multipart: bool = False  # also accepts multipart/form-data uploads (field `file`, repeated)
    status: int = 200
    params: dict[str, dict] = field(default_factory=dict)  # path parameters -> JSON schema
    query: dict[str, dict] = field(default_factory=dict)  # required query parameters -> JSON schema
    options: dict[str, dict] = field(default_factory=dict)  # optional query parameters -> JSON schema
    errors: tuple[int, ...] = ()


ROUTES: list[Route] = []


def route(method: str, path: str, *, scope: str | None, summary: str, **kw):
    def deco(fn):
        ROUTES.append(Route(method, path, scope, summary, fn, **kw))
        return fn

    return deco


@dataclass
class Ctx:
    """What a handler gets: the request's key and parsed body, and the daemon's parts."""

    key: auth.Key | None
    body: Any
    daemon: Any  # sidecar.daemon.Daemon
    args: dict = field(default_factory=dict)  # the optional query parameters given, checked and converted


def error_response(status: int, code: str, message: str) -> Response:
    return Response(json.dumps({"error": {"code": code, "message": message}}), status, mimetype="application/json")


def _validation_message(e: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, x['loc'])) or 'body'}: {x['msg']}" for x in e.errors()[:5]]
    return "invalid request body: " + "; ".join(parts)


def _option(name: str, schema: dict, text: str):
    """An optional query parameter's value, checked against its schema (integers and strings)."""
    if schema.get("type") == "integer":
        try:
            v = int(text)
        except ValueError:
            raise ApiError(400, "bad_request", f"the query parameter {name!r} must be an integer") from None
        if not schema.get("minimum", v) <= v <= schema.get("maximum", v):
            raise ApiError(400, "bad_request", f"the query parameter {name!r} must be between "
                                               f"{schema.get('minimum')} and {schema.get('maximum')}")
        return v
    if not schema.get("minLength", 0) <= len(text) <= schema.get("maxLength", len(text)):
        raise ApiError(400, "bad_request", f"the query parameter {name!r} is empty or too long")
    if "enum" in schema and text not in schema["enum"]:
        raise ApiError(400, "bad_request", f"the query parameter {name!r} is one of {', '.join(schema['enum'])}")
    return text


def _flask_path(path: str, params: dict[str, dict]) -> str:
    for name, schema in params.items():
        conv = "int:" if schema.get("type") == "integer" else ""
        path = path.replace("{" + name + "}", f"<{conv}{name}>")
    return path


def _view(r: Route, daemon):
    def view(**params):
        for name, schema in r.params.items():  # an id no row can have (SQLite ints are 64-bit) is simply not found
            v = params.get(name)
            if isinstance(v, int) and not schema.get("minimum", v) <= v <= schema.get("maximum", v):
                raise ApiError(404, "not_found", f"no such {name.removesuffix('_id')}")
        key = None
        if r.scope is not PUBLIC:
            try:
                key = auth.check(daemon.store, request.headers.get("Authorization"))
            except auth.Refused as e:
                raise ApiError(401, e.code, e.message) from None
            if r.scope and r.scope not in key.scopes:
                raise ApiError(403, "forbidden", f"this key lacks the {r.scope!r} scope")
        body = None
        if r.body is not None and not (r.multipart and request.mimetype == "multipart/form-data"):
            data = request.get_json(silent=True)
            if data is None and request.is_json and request.get_data():  # sent as JSON, but not JSON: say where
                try:
                    json.loads(request.get_data())
                except ValueError as e:
                    raise ApiError(400, "bad_request", f"the body is not valid JSON: {e}") from None
            if not isinstance(data, dict):
                raise ApiError(400, "bad_request", "expected a JSON object body (Content-Type: application/json)")
            try:
                body = r.body.model_validate(data)
            except ValidationError as e:
                raise ApiError(400, "bad_request", _validation_message(e)) from None
        for name, schema in r.query.items():
            if not request.args.get(name):
                raise ApiError(400, "bad_request", f"the query parameter {name!r} is required")
        args = {name: _option(name, schema, request.args[name]) for name, schema in r.options.items()
                if name in request.args}
        out = r.func(Ctx(key, body, daemon, args), **params)
        payload, ops = out if isinstance(out, tuple) else (out, 0)
        if key is not None:
            auth.count_usage(daemon.store, key.id, ops)
        return Response(json.dumps(payload), r.status, mimetype="application/json")

    view.__name__ = f"{r.method.lower()}_{r.path}"
    return view


def create_app(daemon) -> Flask:
    """The WSGI app of a `Daemon` (which holds the settings, store, engine, jobs and watcher)."""
    from keepers.sidecar import api  # noqa: F401  (fills ROUTES)
    from keepers.sidecar.engine import Stopping
    from keepers.sidecar.openapi import document
    from keepers.sidecar.review import blueprint as review_blueprint

    app = Flask("keepers.sidecar")
    app.config["MAX_CONTENT_LENGTH"] = daemon.daemon_settings.max_upload_bytes
    app.json.sort_keys = False
    for r in ROUTES:
        app.add_url_rule(_flask_path(r.path, r.params), endpoint=f"{r.method} {r.path}", view_func=_view(r, daemon),
                         methods=[r.method])
    doc = document(ROUTES)
    app.add_url_rule("/v1/openapi.json", "openapi", lambda: Response(json.dumps(doc), mimetype="application/json"))
    app.register_blueprint(review_blueprint)  # /review: the page `keepers review` serves (404 here until one runs)

    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        return error_response(e.status, e.code, e.message)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        code = (e.name or "error").lower().replace(" ", "_")
        if e.code == 413:
            return error_response(413, "payload_too_large",
                                  f"the request is over the {daemon.daemon_settings.max_upload_bytes} byte limit")
        resp = error_response(e.code or 500, code, e.description or e.name)
        for name, value in e.get_headers():  # e.g. Allow on a 405
            if name.lower() != "content-type":
                resp.headers[name] = value
        return resp

    @app.errorhandler(Stopping)
    def _stopping(e: Stopping):  # what was predicted is remembered: the request sent again is answered at once
        return error_response(503, "stopping", "the daemon is stopping: this request was not finished; send it "
                                               "again once the daemon runs")

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "the daemon hit an unexpected error; see its log")

    return app


class Daemon:
    """Everything a running daemon holds: settings, the store, the shared engine, the job runner, the taste trainer,
    the watcher."""

    def __init__(self, settings: Settings, daemon_settings: DaemonSettings, *, start_workers: bool = True):
        from keepers.core.taste.term import profile_for
        from keepers.sidecar.engine import Engine
        from keepers.sidecar.jobs import Jobs
        from keepers.sidecar.taste import Trainer

        self.settings, self.daemon_settings = settings, daemon_settings
        self.store = Store(daemon_settings.store_path(settings.catalog))
        self.engine = Engine(settings, self.store)
        profile_for(settings)  # a `taste` setting naming a deleted profile: logged once now, not per photo
        if daemon_settings.warm_up:
            self.engine.warm_up()
        self.jobs = Jobs(self.engine)
        self.trainer = Trainer(self.engine)  # taste profiles retrained off the request path
        self.watcher = None
        if start_workers:
            from keepers.core.io.catalog import Catalog

            # made (migrated) here, once: the job runner and the trainer open it at once, and two threads making
            # a new catalog's tables together failed one ("table photos already exists"), its thread gone
            Catalog(settings.catalog).close()
            self.jobs.start()
            self.trainer.start()
            if daemon_settings.watch:
                from keepers.sidecar.watch import Watcher

                self.watcher = Watcher([str(p) for p in daemon_settings.watch], self.engine,
                                       settle_s=daemon_settings.settle_s, batch=daemon_settings.watch_batch,
                                       workers=daemon_settings.watch_workers)
                try:
                    self.watcher.start()
                except FileNotFoundError as e:  # a typo in [daemon] watch: said plainly, no traceback
                    self.jobs.stop()
                    self.trainer.stop()
                    raise UserError(f"{e} (see [daemon] watch in the config file)") from None

    def close(self) -> None:
        from keepers.core.io import exiftool as et_proc

        self.engine.stopping.set()  # a clip being judged, by a job or a request, ends at its next second
        if self.watcher:
            self.watcher.stop()
        self.jobs.stop()
        self.trainer.stop()
        self.engine.close()  # the request threads' catalog connections (their threads have ended)
        # the exiftool processes of threads that have ended now (the job runner's, the server's request threads'):
        # left, they lived on until the process ended
        et_proc.reap()
