"""The admin routes under /v1: models (list, add a concept, patch an analyzer for the application) and keys."""

from __future__ import annotations

from keepers.sidecar import auth, library, schemas as s
from keepers.sidecar.app import ApiError, Ctx, route
from keepers.sidecar.models import ModelRefused

INT_ID = {"type": "integer", "minimum": 1, "maximum": 2**62}
NAME = {"type": "string", "pattern": s.NAME_PATTERN}


# --- models -----------------------------------------------------------------------------------------------------


@route("GET", "/v1/models", scope="predict", summary="The models this application can name", response=s.ModelList)
def model_list(ctx: Ctx):
    from keepers.sidecar import models

    return {"models": models.listing(ctx.daemon.engine, ctx.key.app_id)}


@route("POST", "/v1/models", scope="models:add", summary="Add a concept: photos like these examples get its keyword",
       body=s.ConceptCreate, response=s.Model, status=201, errors=(404, 409, 501))
def model_add(ctx: Ctx):
    from keepers.sidecar import models

    b, engine = ctx.body, ctx.daemon.engine
    try:
        return models.add_concept(engine, ctx.key.app_id, b.name, b.examples, b.threshold,
                                  lambda ids: library.visible_ids(engine.catalog(), ctx.key.roots, ids))
    except ModelRefused as e:
        raise ApiError(e.status, e.code, str(e)) from None


@route("PATCH", "/v1/models/{name}", scope="models:patch", summary="Change an analyzer's weight or switch it off for "
       "this application", body=s.ModelPatch, response=s.Model, params={"name": NAME}, errors=(404,))
def model_patch(ctx: Ctx, name: str):
    from keepers.sidecar import models

    try:
        return models.patch(ctx.daemon.engine, ctx.key.app_id, name, ctx.body.weight, ctx.body.enabled)
    except ModelRefused as e:
        raise ApiError(e.status, e.code, str(e)) from None


@route("DELETE", "/v1/models/{name}", scope="models:add", summary="Delete a concept", response=s.Deleted,
       params={"name": NAME}, errors=(404,))
def model_delete(ctx: Ctx, name: str):
    from keepers.sidecar import models

    if not models.delete_concept(ctx.daemon.engine, ctx.key.app_id, name):
        raise ApiError(404, "not_found", f"no concept named {name!r}")
    return {"deleted": name}


# --- keys -------------------------------------------------------------------------------------------------------


@route("GET", "/v1/keys", scope="keys:admin", summary="This application's keys and their usage", response=s.KeyList)
def key_list(ctx: Ctx):
    return {"keys": [{k: v for k, v in d.items() if k != "app_id"}
                     for d in auth.list_keys(ctx.daemon.store, ctx.key.app_id)]}


@route("POST", "/v1/keys", scope="keys:admin", summary="Create a key for this application (the secret is shown once)",
       body=s.KeyCreate, response=s.KeyCreated, status=201)
def key_create(ctx: Ctx):
    store = ctx.daemon.store
    key_id, token = auth.create_key(store, ctx.key.app_id, ctx.body.scopes, ctx.body.note)
    return {**auth.key_dict(store.one("SELECT * FROM keys WHERE id = ?", (key_id,))), "key": token}


@route("DELETE", "/v1/keys/{key_id}", scope="keys:admin", summary="Revoke a key of this application",
       response=s.Key, params={"key_id": INT_ID}, errors=(404, 409))
def key_revoke(ctx: Ctx, key_id: int):
    store = ctx.daemon.store
    if key_id == ctx.key.id:  # the last admin key must not lock its owner out by accident
        raise ApiError(409, "conflict", "a key cannot revoke itself: use another keys:admin key, "
                                        "or `keepers keys revoke` on the daemon's machine")
    if not auth.revoke(store, key_id, ctx.key.app_id):
        raise ApiError(404, "not_found", f"no live key {key_id} in this application")
    return auth.key_dict(store.one("SELECT * FROM keys WHERE id = ?", (key_id,)))
