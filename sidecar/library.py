"""An application's view of the catalog: only photos under its roots; its workflows; search and photo results."""

from __future__ import annotations

import json
import os

from keepers.core.errors import KeepersError, UserError
from keepers.sidecar.app import ApiError
from keepers.sidecar.paths import inside, real_roots
from keepers.sidecar.store import Store, now


def _prefix_sql(roots: list[str]) -> tuple[str, list]:
    """SQL matching catalog paths under any of `roots` (as given and resolved): exact text, no LIKE wildcards."""
    forms = list(dict.fromkeys([os.path.abspath(r) for r in roots] + real_roots(roots)))
    parts, args = [], []
    for r in forms:
        r = r.rstrip(os.sep) or os.sep
        head = r if r.endswith(os.sep) else r + os.sep
        parts.append("(path = ? OR substr(path, 1, ?) = ?)")
        args += [r, len(head), head]
    return " OR ".join(parts) or "0", args


def visible_ids(catalog, roots: list[str], ids: list[int] | None = None) -> set[int]:
    where, args = _prefix_sql(roots)
    rows = catalog.db.execute(f"SELECT id, path FROM photos WHERE {where}", args).fetchall()
    rr = real_roots(roots)
    # the text matched; the real path must too (a symlinked photo pointing out of the roots stays hidden)
    out = {r[0] for r in rows if inside(os.path.realpath(r[1]), rr)}
    return out if ids is None else out & set(ids)


def _row(catalog, roots: list[str], photo_id: int | None = None, path: str | None = None):
    row = (catalog.db.execute("SELECT * FROM photos WHERE id = ?", (photo_id,)).fetchone() if photo_id is not None
           else catalog.db.execute("SELECT * FROM photos WHERE path = ?", (path,)).fetchone())
    if row is None or not inside(os.path.realpath(row["path"]), real_roots(roots)):
        # another application's photo is reported exactly like a missing one
        raise ApiError(404, "not_found", "no such photo in this application's library")
    return row


def photo(engine, key, photo_id: int | None = None, path: str | None = None) -> dict:
    """What the library knows of one photo, as a result: the judgement its sidecar was last given (its group
    included), or, never written, the judging step's on its stored findings (judged alone); the application's
    models; and when it was analysed."""
    from keepers.core.judge.judgement import judge
    from keepers.core.pipeline import Result
    from keepers.core.types import Meta, Photo

    cat = engine.catalog()
    row = _row(cat, key.roots, photo_id, path)
    analyzers, concepts = engine.plan(key.app_id, None)
    files = [row["path"], *json.loads(row["companions"])]
    current = [f for f in cat.findings(row["id"]) if engine.versions.get(f.analyzer) == f.version]
    verdict, error = None, row["error"]
    if error is None and current:
        verdict = cat.verdict(row["id"]) or judge(current, engine.settings)
        if not verdict.judged:  # as a cull says it
            verdict, error = None, f"not judged: {verdict.reasons[0].message}"
    r = Result(Photo(row["path"], row["kind"], files[1:]), photo_id=row["id"],
               meta=Meta(**json.loads(row["meta"])) if row["meta"] else None, findings=current,
               verdict=verdict, error=error)
    return {**engine.record(r, analyzers, concepts, label=row["path"], write=False), "analyzed_at": row["analyzed_at"]}


def _hits(engine, pairs, echo=None) -> dict:
    """Search hits; with `echo`, each path in the caller's form of its folder (Echo), where that leads to it."""
    cat = engine.catalog()
    out = []
    for pid, score in pairs:
        row = cat.db.execute("SELECT path FROM photos WHERE id = ?", (pid,)).fetchone()
        if row is not None:
            path = echo(row["path"]) if echo is not None else row["path"]
            out.append({"photo_id": int(pid), "path": path, "distance": round(float(score), 6)})
    return {"results": out}


def _similarity():
    try:
        from keepers.core.search import similarity
    except ImportError:
        raise ApiError(501, "not_available", "search is not available in this installation yet") from None
    return similarity


def similar(engine, key, photo_id: int | None, path: str | None, k: int) -> tuple[dict, int]:
    from keepers.sidecar.paths import Echo, PathRefused, resolve

    sim = _similarity()
    cat = engine.catalog()
    echo = None
    if path is not None:
        try:
            real = resolve(path, key.roots)
        except PathRefused as e:
            raise ApiError(403, "path_refused", str(e)) from None
        # the caller asked through its own form of the library (a symlink, a mapped drive): hits come in it too
        echo = Echo()
        echo.add(path, real)
        path = real
    row = _row(cat, key.roots, photo_id, path)
    within = sorted(visible_ids(cat, key.roots))
    try:
        pairs = sim.similar(cat, row["id"], k, within=within, check_files=True)  # never a file that is gone
    except UserError as e:  # analysed without the embedding model
        raise ApiError(409, "not_analysed", str(e)) from None
    return _hits(engine, [(p, sc) for p, sc in pairs if p != row["id"]][:k], echo), 1


def text(engine, key, query: str, k: int) -> tuple[dict, int]:
    sim = _similarity()
    cat = engine.catalog()
    try:
        pairs = sim.search_text(cat, query, k, within=sorted(visible_ids(cat, key.roots)), check_files=True)
    except UserError as e:  # a blank query
        raise ApiError(400, "bad_request", str(e)) from None
    except KeepersError as e:  # the text model is missing or broken
        raise ApiError(501, "not_available", f"text search is not available: {e}") from None
    return _hits(engine, pairs), 1


# --- workflows --------------------------------------------------------------------------------------------------


def _wf(row) -> dict:
    return {"name": row["name"], "models": json.loads(row["models"]), "created_at": row["created_at"]}


def workflows(store: Store, app_id: int) -> list[dict]:
    return [_wf(r) for r in store.all("SELECT * FROM workflows WHERE app_id = ? ORDER BY name", (app_id,))]


def workflow(store: Store, app_id: int, name: str) -> dict | None:
    row = store.one("SELECT * FROM workflows WHERE app_id = ? AND name = ?", (app_id, name))
    return _wf(row) if row else None


def create_workflow(store: Store, app_id: int, name: str, models: list[str]) -> dict:
    if workflow(store, app_id, name) is not None:
        raise ApiError(409, "conflict", f"a workflow named {name!r} exists already (delete it first)")
    store.run("INSERT INTO workflows (app_id, name, models, created_at) VALUES (?, ?, ?, ?)",
              (app_id, name, json.dumps(list(dict.fromkeys(models))), now()))
    return workflow(store, app_id, name)


def delete_workflow(store: Store, app_id: int, name: str) -> None:
    store.run("DELETE FROM workflows WHERE app_id = ? AND name = ?", (app_id, name))


# --- the photographer's signals ---------------------------------------------------------------------------------


def store_signals(engine, key, source: str, photos: list) -> dict:
    """(real path, PhotoSignals) pairs: each photo's signals from `source` replace those it had from there (a flag
    the photographer took off is gone), in one transaction. Kinds: pick, reject, rating (1-5), label, keyword."""
    photos = list({real: p for real, p in photos}.items())  # a photo named twice: the last naming counts
    t, rows = now(), []
    cat = engine.catalog()
    for real, p in photos:
        found = cat.photo_row(real)
        pid = found["id"] if found is not None else None
        kinds = [("pick", "1")] if p.pick == 1 else [("reject", "1")] if p.pick == -1 else []
        kinds += [("rating", str(p.rating))] if p.rating else []
        kinds += [("label", p.label.strip().lower())] if p.label and p.label.strip().lower() != "none" else []
        kinds += [("keyword", k) for k in dict.fromkeys(k.strip() for k in p.keywords) if k]
        rows += [(key.app_id, real, pid, kind, value, source, t) for kind, value in kinds]
    engine.store.batch([("DELETE FROM signals WHERE app_id = ? AND path = ? AND source = ?",
                         [(key.app_id, real, source) for real, _ in photos]),
                        ("INSERT INTO signals (app_id, path, photo_id, kind, value, source, time) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)])
    return {"photos": len(photos), "signals": len(rows)}


def signals(store: Store, key, path: str | None, offset: int, limit: int) -> list[dict]:
    where, args = "app_id = ?", [key.app_id]
    if path is not None:
        where, args = where + " AND path = ?", args + [path]
    rows = store.all(f"SELECT path, photo_id, kind, value, source, time FROM signals WHERE {where} ORDER BY id "
                     "LIMIT ? OFFSET ?", (*args, limit, offset))
    return [dict(r) for r in rows]
