"""The OpenAPI 3.1 document, generated from the route table and the pydantic models the server validates with."""

from __future__ import annotations

from pydantic.json_schema import models_json_schema

from keepers import __version__
from keepers.sidecar import schemas

REF = "#/components/schemas/{model}"
STATUS_TEXT = {400: "Bad request", 401: "No valid API key (`unauthorized`), or a revoked one (`key_revoked`)", 403: "The key lacks the scope, or the path is outside "
               "the application's library roots", 404: "Not found", 409: "Conflict", 413: "Request too large",
               501: "Not available in this installation",
               503: "The daemon is stopping (`stopping`): send the request again once it runs"}
UPLOAD = {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "array", "items": {"type": "string", "format": "binary"}, "description": "photos or videos"},
    "models": {"type": "string", "description": "comma-separated model names (default: every enabled model)"},
    "taste": {"type": "string", "description": "judge with this application's taste profile"}}}


def document(routes) -> dict:
    models = {schemas.Error}
    for r in routes:
        models.update(m for m in (r.body, r.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    keyed, defs = models_json_schema([(m, "validation") for m in ordered], ref_template=REF)
    components = dict(defs.get("$defs", {}))
    ref = {m: keyed[(m, "validation")] for m in ordered}
    paths: dict[str, dict] = {}
    for r in routes:
        op: dict = {"summary": r.summary, "operationId": f"{r.method.lower()}{r.path}".replace("/", "_")
                    .replace("{", "").replace("}", "").replace(".", "_"),
                    "responses": {str(r.status): {"description": "OK", "content": {
                        "application/json": {"schema": ref[r.response] if r.response else {"type": "object"}}}}}}
        if r.scope is not None:
            op["security"] = [{"apiKey": []}]
            op["description"] = f"Needs a key with the `{r.scope}` scope." if r.scope else "Needs any valid key."
        else:
            op["security"] = []
        params = [{"name": n, "in": "path", "required": True, "schema": s} for n, s in r.params.items()]
        params += [{"name": n, "in": "query", "required": True, "schema": s} for n, s in r.query.items()]
        params += [{"name": n, "in": "query", "required": False, "schema": s} for n, s in r.options.items()]
        if params:
            op["parameters"] = params
        if r.body is not None:
            content = {"application/json": {"schema": ref[r.body]}}
            if r.multipart:
                content["multipart/form-data"] = {"schema": UPLOAD}
            op["requestBody"] = {"required": True, "content": content}
        codes = set(r.errors) | ({401, 403} if r.scope is not None else set())
        codes |= {400} if r.body is not None or r.query or r.options else set()
        codes |= {413} if r.body is not None else set()
        for c in sorted(codes):
            op["responses"][str(c)] = {"description": STATUS_TEXT[c],
                                       "content": {"application/json": {"schema": ref[schemas.Error]}}}
        paths.setdefault(r.path, {})[r.method.lower()] = op
    paths["/v1/openapi.json"] = {"get": {"summary": "This document", "operationId": "get_openapi", "security": [],
                                         "responses": {"200": {"description": "OK", "content": {
                                             "application/json": {"schema": {"type": "object"}}}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Keepers daemon API", "version": __version__,
                 "description": "Local photo culling engine. Keys: `keepers keys create`; send them as "
                                "`Authorization: Bearer kp_...`. A refused request: `{\"error\": {\"code\", \"message\"}}`. "
                                "Predict, workflows, jobs and photo lookups give one result shape (`Result`): the "
                                "`keepers cull --json` record (an input that could not be judged says why in "
                                "`error` and `error_code`, as the command line does) and the models' outputs."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
    }
