"""The taste routes under /v1/taste/profiles (the `taste` scope): an application's own profiles, as `keepers taste`
has them: list, show (held-out agreement, what it prefers in words, where its training stands), add choices (a CSV
of `preferred,other`, a list, or the signals the application sent), follow the signals, reset, export and import
as a file. Adding choices answers at once: the profile retrains in the background (sidecar/taste.py)."""

from __future__ import annotations

import os

from keepers.core.errors import UserError
from keepers.sidecar import schemas as s
from keepers.sidecar.app import ApiError, Ctx, route
from keepers.sidecar.paths import PathRefused, resolve
from keepers.sidecar.taste import claim, summary

NAME = {"type": "string", "minLength": 1, "maxLength": 200}  # checked by the handler: a bad name is a 400


def owned(ctx: Ctx, name: str, exists: bool = True):
    """The store's row of this application's profile `name` (None: there is none and `exists` is False: the name
    is free for it). Refused: a bad name (400), no such profile (404), another application's or the command
    line's (403)."""
    from keepers.core.taste import store

    try:
        path = store.path_of(ctx.daemon.settings.catalog, name)
    except UserError as e:
        raise ApiError(400, "bad_request", str(e)) from None
    row = ctx.daemon.store.one("SELECT * FROM taste_profiles WHERE name = ?", (name,))
    if path.is_file():
        if row is None:
            raise ApiError(403, "forbidden", f"the taste profile {name!r} was made on this machine's command line, "
                           f"not by this application (keepers taste export {name} FILE.json, then PUT the file here)")
        if row["app_id"] != ctx.key.app_id:
            raise ApiError(403, "forbidden", f"the taste profile {name!r} belongs to another application")
        return row
    if exists:
        raise ApiError(404, "not_found", f"no taste profile {name!r}")
    return None


def check_taste(ctx: Ctx, name: str | None) -> None:
    """A predict's or job's `taste`: this application's profile, or the request is refused (404, 403)."""
    if name is not None:
        owned(ctx, name)


def _show(ctx: Ctx, name: str) -> dict:
    from keepers.core.taste import store

    row = owned(ctx, name)
    profile = store.load(ctx.daemon.settings.catalog, name)  # replaced whole (renamed over): no lock to read it
    if profile is None:
        raise ApiError(404, "not_found", f"no taste profile {name!r}")
    return summary(profile, row)


def _inside(ctx: Ctx, pairs) -> list[tuple[str, str]]:
    """Each photo of the choices inside the application's roots (its real path), or 403 for the whole request."""
    try:
        return [(resolve(a, ctx.key.roots), resolve(b, ctx.key.roots)) for a, b in pairs]
    except PathRefused as e:
        raise ApiError(403, "path_refused", str(e)) from None


@route("GET", "/v1/taste/profiles", scope="taste", summary="This application's taste profiles", response=s.TasteList)
def taste_list(ctx: Ctx):
    from keepers.core.taste import store

    out = []
    for row in ctx.daemon.store.all("SELECT * FROM taste_profiles WHERE app_id = ? ORDER BY name", (ctx.key.app_id,)):
        profile = store.load(ctx.daemon.settings.catalog, row["name"])
        if profile is not None:  # reset on the command line since
            out.append(summary(profile, row))
    return {"profiles": out}


@route("GET", "/v1/taste/profiles/{name}", scope="taste", summary="A profile: its choices, held-out agreement, what "
       "it prefers in words, and whether it is retraining", response=s.TasteProfile, params={"name": NAME},
       errors=(400, 404))
def taste_show(ctx: Ctx, name: str):
    return _show(ctx, name)


@route("POST", "/v1/taste/profiles/{name}/choices", scope="taste", summary="Add choices to a profile (made when it is "
       "not there): a CSV of `preferred,other`, a list, or this application's signals; answers at once, the profile "
       "retrains in the background", body=s.TasteChoices, response=s.TasteProfile, params={"name": NAME},
       status=202, errors=(400, 404))
def taste_choices(ctx: Ctx, name: str):
    from keepers.core.taste import learn, store

    b, daemon = ctx.body, ctx.daemon
    if sum((b.csv is not None, b.choices is not None, b.signals)) != 1:
        raise ApiError(400, "bad_request", "give exactly one of csv, choices and signals")
    row = owned(ctx, name, exists=False)
    if b.csv is not None:
        if len(b.csv) > s.MAX_CSV_CHARS:
            raise ApiError(413, "payload_too_large", f"the CSV is {len(b.csv):,} characters: one import takes at most "
                           f"{s.MAX_CSV_CHARS:,} ({s.MAX_CHOICES:,} choices); send it in parts")
        if b.base is not None and not os.path.isabs(b.base):
            raise ApiError(400, "bad_request", "base must be an absolute folder")
        try:
            pairs = learn.parse_choices(b.csv, b.base, "the CSV")
        except UserError as e:
            raise ApiError(400, "bad_request", str(e)) from None
        if len(pairs) > s.MAX_CHOICES:
            raise ApiError(413, "payload_too_large", f"the CSV has {len(pairs):,} choices: one import takes at most "
                           f"{s.MAX_CHOICES:,} choices; send it in parts")
        if not pairs:
            raise ApiError(400, "bad_request", "the CSV holds no choices (rows of preferred,other)")
        source = "csv"
    else:
        pairs, source = [(c.preferred, c.other) for c in b.choices or []], "choices"
    real = _inside(ctx, pairs)
    follow = b.follow_signals if b.follow_signals is not None else bool(row and row["follow_signals"])
    with daemon.trainer.lock(name):
        profile = store.load(daemon.settings.catalog, name) or store.Profile(name)
        learn.merge(profile, real, source)
        if row is None:
            claim(daemon, ctx.key, name, follow)
        elif b.follow_signals is not None:
            daemon.store.run("UPDATE taste_profiles SET follow_signals = ? WHERE name = ?", (int(follow), name))
        store.save(daemon.settings.catalog, profile)
    daemon.trainer.request(name, signals=b.signals)
    return _show(ctx, name)


@route("PATCH", "/v1/taste/profiles/{name}", scope="taste", summary="Follow this application's signals (retrain "
       "whenever it sends some) or stop", body=s.TastePatch, response=s.TasteProfile, params={"name": NAME},
       errors=(400, 404))
def taste_patch(ctx: Ctx, name: str):
    owned(ctx, name)
    ctx.daemon.store.run("UPDATE taste_profiles SET follow_signals = ? WHERE name = ?",
                         (int(ctx.body.follow_signals), name))
    if ctx.body.follow_signals:  # what was sent so far counts now, not only at the next signals
        ctx.daemon.trainer.request(name, signals=True)
    return _show(ctx, name)


@route("DELETE", "/v1/taste/profiles/{name}", scope="taste", summary="Forget a profile and its choices",
       response=s.Deleted, params={"name": NAME}, errors=(400, 404))
def taste_delete(ctx: Ctx, name: str):
    from keepers.core.taste import store

    owned(ctx, name)
    with ctx.daemon.trainer.lock(name):
        store.remove(ctx.daemon.settings.catalog, name)
        ctx.daemon.store.run("DELETE FROM taste_profiles WHERE name = ?", (name,))
    return {"deleted": name}


@route("GET", "/v1/taste/profiles/{name}/file", scope="taste", summary="The profile as a file (what `keepers taste "
       "export` writes)", response=s.TasteFile, params={"name": NAME}, errors=(400, 404))
def taste_export(ctx: Ctx, name: str):
    from keepers.core.taste import store

    owned(ctx, name)
    profile = store.load(ctx.daemon.settings.catalog, name)
    if profile is None:
        raise ApiError(404, "not_found", f"no taste profile {name!r}")
    return profile.to_json()


@route("PUT", "/v1/taste/profiles/{name}/file", scope="taste", summary="Make or replace a profile from a file (one "
       "`keepers taste export` or GET .../file wrote); its photos must lie inside this application's roots",
       body=s.TasteFile, response=s.TasteProfile, params={"name": NAME}, errors=(400, 404))
def taste_import(ctx: Ctx, name: str):
    from keepers.core.taste import store

    row = owned(ctx, name, exists=False)
    data = ctx.body.model_dump()
    real = _inside(ctx, [(x["preferred"], x["other"]) for x in data["signals"]])
    data["signals"] = [{**x, "preferred": a, "other": b} for x, (a, b) in zip(data["signals"], real)]
    try:
        profile = store.Profile.from_json(data, name)
        if profile.model is not None:
            _usable(profile.model)
    except (UserError, ValueError, KeyError, TypeError, IndexError) as e:
        raise ApiError(400, "bad_request", f"not a taste profile this Keepers can use: {e}") from None
    with ctx.daemon.trainer.lock(name):  # its model as it came, trained where it was made: not retrained here
        store.save(ctx.daemon.settings.catalog, profile)
        claim(ctx.daemon, ctx.key, name, bool(row and row["follow_signals"]),
              "trained" if profile.model is not None else "untrained")
    return _show(ctx, name)


def _usable(model) -> None:
    """The model scores a photo to a finite number (a file from another version, or made up, must not break
    predictions later)."""
    import numpy as np

    from keepers.core.taste.features import Seen

    dim = int(np.asarray(model.arrays["mean"]).shape[-1])
    u = model.utility([Seen(np.full(dim, dim ** -0.5), {k: 0.0 for k in model.keys}, 5.0, [])])
    if dim != 1280 or u.shape != (1,) or not np.isfinite(u).all():
        raise ValueError("its model does not score a photo")
