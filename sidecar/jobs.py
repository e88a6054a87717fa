"""Batch jobs: a list of photos or folders run through the same Cull as `keepers cull`, with the daemon's shared
models, one job at a time in a background thread. Jobs live in the daemon's SQLite file, so a restart resumes
them (the catalog skips what was already analysed). A job takes up to 20,000 paths (a wedding is 2,000-5,000 frames;
bursts are found across one job's photos) and its results are read a page at a time."""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time

from keepers.core.io.catalog import Catalog
from keepers.core.io.discover import discover
from keepers.sidecar import auth
from keepers.sidecar.engine import Stopping
from keepers.sidecar.paths import Echo, PathRefused, inside, real_roots, resolve
from keepers.sidecar.store import now

log = logging.getLogger("keepers.sidecar.jobs")
FIELDS = "id, state, total, done, errors, write, taste, error, created_at, finished_at"


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

    def create(self, key: auth.Key, paths: list[str], write: bool, taste: str | None = None) -> dict:
        job_id = secrets.token_hex(8)
        self.store.run("INSERT INTO jobs (id, app_id, key_id, paths, write, taste, state, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)", (job_id, key.app_id, key.id, json.dumps(paths),
                                                                  int(write), taste, now()))
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

    def results(self, job_id: str, offset: int = 0, limit: int | None = None,
                verdicts_only: bool = False) -> tuple[list[dict], int]:
        """A page of a job's results (all of them without `limit`) and how many it has. `verdicts_only`: without
        the models' outputs, capture facts and a video's seconds, for a host plug-in that applies verdicts: 0.7 KB a
        photo instead of 12 KB, which for a 10,000-photo shoot is 120 MB held inside Lightroom)."""
        total = self.store.one("SELECT count(*) FROM job_results WHERE job_id = ?", (job_id,))[0]
        if total:
            rows = self.store.all("SELECT record FROM job_results WHERE job_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
                                  (job_id, offset, -1 if limit is None else limit))
            page = [json.loads(r["record"]) for r in rows]
        else:  # a job finished before results were kept a row each
            row = self.store.one("SELECT results FROM jobs WHERE id = ?", (job_id,))
            old = json.loads(row["results"]) if row and row["results"] else []
            page, total = old[offset:None if limit is None else offset + limit], len(old)
        if verdicts_only:
            for r in page:
                r.update(models={}, meta=None, video=None)
        return page, total

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

        job_id, app_roots = row["id"], json.loads(row["roots"])
        roots, write = real_roots(app_roots), bool(row["write"])
        self.store.run("UPDATE jobs SET state = 'running' WHERE id = ?", (job_id,))
        # the paths as the caller sent them: the answer gives each back in that form (Echo), while the work is done
        # on the real files (one catalog row per file however it is reached)
        echo, real, refused = Echo(), [], []
        for given in json.loads(row["paths"]):
            try:
                real.append(resolve(given, app_roots))
                echo.add(given, real[-1])
            except PathRefused as e:  # the folder or link changed since the job was accepted
                refused.append(failed(given, given, "path_refused", str(e)))
        videos: list[tuple[str, str]] = []
        photos, walk_errors = discover(real, skipped=videos)
        # a folder may hold symlinks to files elsewhere: those are not the application's to read
        allowed = [p for p in photos if all(inside(os.path.realpath(f), roots) for f in p.files)]
        refused += [failed(echo(p.path), echo(p.path), "path_refused", "outside this application's library roots")
                    for p in photos if p not in allowed]
        clips = [v for v, _ in videos]
        videos = [v for v in clips if inside(os.path.realpath(v), roots)]
        refused += [failed(echo(v), echo(v), "path_refused", "outside this application's library roots")
                    for v in clips if v not in videos]
        total = len(allowed) + len(videos)
        self.store.run("UPDATE jobs SET total = ? WHERE id = ?", (total, job_id))
        progress = _Progress(self, job_id)

        # in-process: the daemon's loaded models are used, not reloaded in worker processes
        cull = self.engine.cull(catalog, write=write, progress=progress, taste=row["taste"])
        try:
            results = cull.run([f for p in allowed for f in p.files])
            analyzers, concepts = self.engine.plan(row["app_id"], None)
            # the same result as predict gives, for each photo (the application's models and concepts)
            records = [echo.record(self.engine.record(r, analyzers, concepts, label=r.photo.path, write=write))
                       for r in results]
            for v in videos:  # a clip is judged a frame a second, as predict judges one: never dropped unanswered
                progress("video", 0, 0)
                rec, _ = self.engine.predict(v, row["app_id"], write=write, label=echo(v), taste=row["taste"],
                                             stopping=progress.stopped)
                records.append(echo.record(rec))
        except (Cancelled, Stopping):  # a clip ends at its next second (Stopping), a photo batch at its next photo
            stopped = self._stop.is_set() or self.engine.stopping.is_set()
            state = "queued" if stopped and job_id not in self._cancel else "cancelled"
            self.store.run("UPDATE jobs SET state = ?, finished_at = ? WHERE id = ?",
                           (state, None if state == "queued" else now(), job_id))
            return
        for r in records:
            r["input"] = r["path"]
        records += refused
        records += [failed(echo(p), echo(p), "read_error" if os.path.lexists(p) else "not_found", e)
                    for p, e in walk_errors]
        records += _aliases(records, echo)
        errors = sum(1 for r in records if r["error"])
        # billed like predict: one operation per model output a result holds (a file not read costs nothing)
        auth.add_operations(self.store, row["key_id"], sum(len(r["models"]) for r in records))
        self.store.batch([("DELETE FROM job_results WHERE job_id = ?", [(job_id,)]),
                          ("INSERT INTO job_results (job_id, seq, record) VALUES (?, ?, ?)",
                           [(job_id, i, json.dumps(r, default=str)) for i, r in enumerate(records)])])
        self.store.run("UPDATE jobs SET state = 'done', done = ?, errors = ?, finished_at = ? WHERE id = ?",
                       (total, errors, now(), job_id))


class _Progress:
    """A running job's `done`: photos answered from the catalog, then those analysed, then each video. It checks
    for a cancel at every call and writes to the store at most every half second (each write is a transaction
    synced to disk: not one per photo)."""

    def __init__(self, jobs: Jobs, job_id: str):
        self.jobs, self.job_id = jobs, job_id
        self.known = self.analysed = self.videos = 0
        self.written, self.at = 0, 0.0

    def stopped(self) -> bool:
        """The job was cancelled or the daemon stops."""
        return self.job_id in self.jobs._cancel or self.jobs._stop.is_set()

    def __call__(self, stage: str, done: int, _total: int) -> None:
        if self.stopped():
            raise Cancelled()
        if stage == "catalog":
            self.known = done
        elif stage == "analyze":
            self.analysed = done
        elif stage == "video":
            self.videos += 1
        n = self.known + self.analysed + self.videos
        if n != self.written and time.monotonic() - self.at >= 0.5:
            self.jobs.store.run("UPDATE jobs SET done = ? WHERE id = ?", (n, self.job_id))
            self.written, self.at = n, time.monotonic()


def _aliases(records: list[dict], echo: Echo) -> list[dict]:
    """A file sent in two forms (a folder and a link to it, two links) is read once: each further form gets its
    own copy of the result, so every path sent is answered in its own form."""
    if all(len(forms) == 1 for forms in echo.sent.values()):
        return []
    out = []
    for r in records:
        for i, f in enumerate(r["files"]):
            for other in echo.sent.get(echo.mod.normcase(os.path.realpath(f)), [])[1:]:
                files = [other if j == i else x for j, x in enumerate(r["files"])]
                out.append({**r, "input": other, "path": other if i == 0 else r["path"], "files": files})
    return out
