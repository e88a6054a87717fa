"""Batch jobs: a list of photos or folders run through the same Cull as `keepers cull`, with the daemon's shared
models, one job at a time in a background thread. Jobs live in the daemon's SQLite file, so a restart resumes
them (the catalog skips what was already analysed)."""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading

from keepers.core.io.catalog import Catalog
from keepers.core.io.discover import discover
from keepers.sidecar import auth
from keepers.sidecar.paths import inside, real_roots
from keepers.sidecar.store import now

log = logging.getLogger("keepers.sidecar.jobs")
FIELDS = "id, state, total, done, errors, write, error, created_at, finished_at"


class Cancelled(Exception):
    pass


def _job(row) -> dict:
    d = {k: row[k] for k in FIELDS.split(", ")}
    d["write"] = bool(d["write"])
    return d


class Jobs:
    def __init__(self, engine):
        self.engine, self.store = engine, engine.store
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cancel: set[str] = set()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.store.run("UPDATE jobs SET state = 'queued' WHERE state = 'running'")  # interrupted by a restart
        self._thread = threading.Thread(target=self._loop, name="keepers-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=30)

    # --- the API's side -----------------------------------------------------------------------------------------

    def create(self, key: auth.Key, paths: list[str], write: bool) -> dict:
        job_id = secrets.token_hex(8)
        self.store.run("INSERT INTO jobs (id, app_id, key_id, paths, write, state, created_at) "
                       "VALUES (?, ?, ?, ?, ?, 'queued', ?)", (job_id, key.app_id, key.id, json.dumps(paths),
                                                               int(write), now()))
        self._wake.set()
        return self.get(job_id)

    def get(self, job_id: str, app_id: int | None = None) -> dict | None:
        row = self.store.one(f"SELECT {FIELDS}, app_id FROM jobs WHERE id = ?", (job_id,))
        if row is None or (app_id is not None and row["app_id"] != app_id):
            return None
        return _job(row)

    def list(self, app_id: int) -> list[dict]:
        rows = self.store.all(f"SELECT {FIELDS} FROM jobs WHERE app_id = ? ORDER BY created_at DESC, rowid DESC "
                              "LIMIT 200", (app_id,))
        return [_job(r) for r in rows]

    def results(self, job_id: str) -> list[dict]:
        row = self.store.one("SELECT results FROM jobs WHERE id = ?", (job_id,))
        return json.loads(row["results"]) if row and row["results"] else []

    def cancel(self, job_id: str) -> dict:
        self._cancel.add(job_id)
        self.store.run("UPDATE jobs SET state = 'cancelled', finished_at = ? WHERE id = ? AND state = 'queued'",
                       (now(), job_id))
        return self.get(job_id)

    def pending(self) -> int:
        return self.store.one("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')")[0]

    # --- the runner ---------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        catalog = Catalog(self.engine.settings.catalog)
        while not self._stop.is_set():
            row = self.store.one("SELECT j.*, a.roots FROM jobs j JOIN applications a ON a.id = j.app_id "
                                 "WHERE j.state = 'queued' ORDER BY j.created_at, j.rowid LIMIT 1")
            if row is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            try:
                self._run(row, catalog)
            except Exception as e:  # one broken job must not stop the runner
                log.exception("job %s failed", row["id"])
                self.store.run("UPDATE jobs SET state = 'failed', error = ?, finished_at = ? WHERE id = ?",
                               (str(e), now(), row["id"]))
        catalog.close()

    def _run(self, row, catalog: Catalog) -> None:
        from keepers.sidecar.output import failed

        job_id, roots = row["id"], real_roots(json.loads(row["roots"]))
        self.store.run("UPDATE jobs SET state = 'running' WHERE id = ?", (job_id,))
        photos, walk_errors = discover(json.loads(row["paths"]))
        # a folder may hold symlinks to files elsewhere: those are not the application's to read
        allowed = [p for p in photos if all(inside(os.path.realpath(f), roots) for f in p.files)]
        refused = [failed(p.path, p.path, "path_refused", "outside this application's library roots")
                   for p in photos if p not in allowed]
        total = len(allowed)
        self.store.run("UPDATE jobs SET total = ? WHERE id = ?", (total, job_id))

        def progress(stage: str, done: int, _total: int) -> None:
            if job_id in self._cancel or self._stop.is_set():
                raise Cancelled()
            if stage == "analyze" and done:
                self.store.run("UPDATE jobs SET done = ? WHERE id = ?", (done, job_id))

        # in-process: the daemon's loaded models are used, not reloaded in worker processes
        cull = self.engine.cull(catalog, write=bool(row["write"]), progress=progress)
        try:
            results = cull.run([f for p in allowed for f in p.files])
        except Cancelled:
            state = "queued" if self._stop.is_set() and job_id not in self._cancel else "cancelled"
            self.store.run("UPDATE jobs SET state = ?, finished_at = ? WHERE id = ?",
                           (state, None if state == "queued" else now(), job_id))
            return
        # the same result as predict gives, for each photo (the application's models and concepts)
        analyzers, concepts = self.engine.plan(row["app_id"], None)
        records = [self.engine.record(r, analyzers, concepts, label=r.photo.path, write=bool(row["write"]))
                   for r in results] + refused
        records += [failed(p, p, "read_error" if os.path.lexists(p) else "not_found", e) for p, e in walk_errors]
        errors = sum(1 for r in records if r["error"])
        # billed like predict: one operation per model output a result holds (a file not read costs nothing)
        auth.add_operations(self.store, row["key_id"], sum(len(r["models"]) for r in records))
        self.store.run("UPDATE jobs SET state = 'done', done = ?, errors = ?, results = ?, finished_at = ? "
                       "WHERE id = ?", (total, errors, json.dumps(records, default=str), now(), job_id))
