"""The daemon's engine: the analyzers loaded once and shared by every request thread, and predict on one input
through the same Cull as `keepers cull` (keepers.core.pipeline): the same freshness check (content hash and
analyzer versions), the same judging step and the same per-photo sidecar write, with the daemon's loaded models.
A workflow or a `models` list chooses which models' outputs a result shows; the verdict is always the judge's."""

from __future__ import annotations

import logging
import os
import threading
import zlib
from typing import Callable

import numpy as np

from keepers.core import pm
from keepers.core.io.catalog import Catalog
from keepers.core.commands.cull import record as cull_record
from keepers.core.judge.judgement import judge
from keepers.core.pipeline import Cull, Result, place_writes
from keepers.core.settings import Settings
from keepers.core.types import Finding, Frame, Judgement, Meta, Photo
from keepers.sidecar import models as app_models
from keepers.sidecar.output import failed, finding_dict, jsonable
from keepers.sidecar.paths import unreadable
from keepers.sidecar.store import Store

log = logging.getLogger("keepers.sidecar")
VIDEO_EXTS = {".mp4", ".mov", ".mkv", ".m4v", ".avi", ".webm"}


def is_video(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in VIDEO_EXTS


class Stopping(Exception):
    """The daemon stops in the middle of a background cull (a watched folder's batch, a taste profile's photos):
    it ends, and runs again at the next start."""


def stop_when(stopping: Callable[[], bool]) -> Callable[[str, int, int], None]:
    """A cull's progress callback that ends it (Stopping) at its next photo analysed once `stopping()` is true;
    its sidecar writes are not cut short. Without it a stop waited for every photo of the batch (up to 60 s for a
    watched folder, 30 s for a profile), then returned with the thread still running."""
    def progress(stage: str, _done: int, _total: int) -> None:
        if stage == "analyze" and stopping():
            raise Stopping()

    return progress


class _InThisThread:
    """Cull's writer pool for one photo: written by this request's thread, whose exiftool stays up between
    requests, rather than by a new thread that starts one for each request (300 ms)."""

    @staticmethod
    def map(fn, items):
        return map(fn, items)


class SharedCull(Cull):
    """The same Cull as the command line, running the daemon's already-loaded analyzers when it runs in-process.
    `plan_writes=False`: nothing is to be written, nor checked for being writable (a predict without `write`):
    the write-back step only names the sidecars, instead of starting an exiftool to read them (170 ms a request)."""

    def __init__(self, settings: Settings, catalog: Catalog, analyzers, *, plan_writes: bool = True, **kw):
        super().__init__(settings, catalog, **kw)
        self.analyzers = analyzers
        self.versions = {a.name: a.version for a in analyzers}
        self.plan_writes = plan_writes
        self.known = 0

    def _from_catalog(self, r: Result) -> bool:
        """As Cull's, and each photo answered from the catalog is progress ("catalog", photos so far): a job of
        5,000 photos the daemon knows (or their copies, hashed and adopted) moves and can be cancelled before any
        is analysed."""
        hit = super()._from_catalog(r)
        if hit:
            self.known += 1
            self.progress("catalog", self.known, 0)
        return hit

    def _write_back(self, results: list[Result], pool) -> None:
        if self.plan_writes:
            return super()._write_back(results, _InThisThread() if len(results) == 1 else pool)
        from keepers.core.io.naming import FolderNames

        folders: dict[str, FolderNames] = {}  # each folder listed once: a 5,000-photo folder listed once a photo

        def names(f: str) -> FolderNames:  # took 120 of a 150 s job answered from the catalog
            d = os.path.dirname(f)
            if d not in folders:
                folders[d] = FolderNames(d)
            return folders[d]

        embed = bool(getattr(self.settings, "embed", False))
        for r in results:
            if r.verdict is not None:  # as the write would: no sidecar named for a file its host reads none for
                r.sidecars = [str(self.host.sidecar(f, names(f))) for f in place_writes(r, self.host, embed)]


class Engine:
    def __init__(self, settings: Settings, store: Store):
        self.settings = settings
        self.store = store
        self.analyzers = pm.analyzers(settings)
        self.by_name = {a.name: a for a in self.analyzers}
        self.versions = {a.name: a.version for a in self.analyzers}
        self._local = threading.local()
        self._catalogs: list[Catalog] = []  # every thread's, closed by close()
        self._catalogs_lock = threading.Lock()
        # set as the daemon stops: what runs on the engine ends at its next photo or video second (Stopping)
        self.stopping = threading.Event()
        # two requests for the same unanalysed photo: the second waits and reads the first one's result
        self._path_locks = [threading.Lock() for _ in range(64)]

    def catalog(self) -> Catalog:
        """This thread's catalog connection (SQLite in WAL mode: readers in parallel, writes serialised)."""
        cat = getattr(self._local, "catalog", None)
        if cat is None:
            cat = self._local.catalog = Catalog(self.settings.catalog)
            with self._catalogs_lock:
                self._catalogs.append(cat)
        return cat

    def close(self) -> None:
        """Close every thread's catalog connection, once the threads that used them have ended (a daemon's stop):
        after 4 requests at once and a stop, 7 files of the catalog stayed open (catalog.db 5 times, its -wal and
        -shm), and its -wal and -shm files beside it. Each is closed under its lock, so a write in flight is
        committed first; a thread that asks again later gets a new one."""
        with self._catalogs_lock:
            catalogs, self._catalogs = self._catalogs, []
            self._local = threading.local()
        for cat in catalogs:
            with cat._lock:
                cat.close()

    def warm_up(self) -> None:
        """Run each analyzer once on a synthetic frame, so their models load now and not on the first request."""
        from keepers.core.analyzers import run_all

        y, x = np.mgrid[0:256, 0:384]
        rgb = np.stack([x % 256, y, (x + y) % 256], -1).astype(np.uint8)
        frame = Frame(Photo("warm-up", "jpeg"), rgb, Meta(width=384, height=256))
        # a model that cannot load is logged by run_all and reported by /health, not fatal at start
        run_all(frame, self.analyzers)

    def model_states(self) -> list[dict]:
        out = []
        for a in self.analyzers:
            model = getattr(a, "model", None)
            loaded = getattr(model, "loaded", None)
            out.append({"name": a.name, "version": a.version, "loaded": True if model is None else bool(loaded)})
        return out

    # --- the one data path ------------------------------------------------------------------------------------

    def cull(self, catalog: Catalog, *, write: bool, progress=None, taste: str | None = None) -> SharedCull:
        """A Cull over the daemon's loaded analyzers, in this process (workers=1: nothing is loaded again); `taste`:
        judged with that taste profile (else the `taste` setting's, if any)."""
        settings = self.settings.model_copy(update={"workers": 1, **({"taste": taste} if taste else {})})
        return SharedCull(settings, catalog, self.analyzers, dry_run=not write, plan_writes=write, progress=progress)

    def judge_frame(self, photo: Photo, findings: list[Finding]) -> Judgement:
        """The judging step for a frame that is not a photo file (a second of a video), with the plugins' say."""
        v = judge(findings, self.settings)
        pm.manager.hook.keepers_photo_decided(photo=photo, verdict=v, findings=findings)
        return v

    # --- predict ------------------------------------------------------------------------------------------------

    def plan(self, app_id: int, names: list[str] | None) -> tuple[list, list[dict]]:
        """(analyzers whose outputs to show, concepts to score) for a request naming `names` (None: every enabled
        model)."""
        return app_models.plan(self, app_id, names)

    def record(self, r: Result, analyzers, concepts, *, label: str, write: bool) -> dict:
        """One result of predict, of a job or of a photo lookup: the `keepers cull --json` record, plus the input
        as given, the photo's id, the chosen models' outputs and the photo's capture facts."""
        rec = {"input": label, **cull_record(r, writing=write), "photo_id": r.photo_id, "models": {},
               "meta": jsonable(r.meta.as_dict()) if r.meta else None, "video": None}
        if r.findings:
            by = {f.analyzer: f for f in r.findings}
            shown = [by[a.name] for a in analyzers if a.name in by]
            tagged = app_models.score_concepts(concepts, r.findings)
            rec["models"] = {f.analyzer: finding_dict(f) for f in shown + tagged}
            if r.verdict is not None:  # this application's concepts tag its results (not the sidecar)
                rec["keywords"] = sorted(set(rec["keywords"]) | {k for f in tagged for k in f.keywords})
        return rec

    def predict(self, path: str, app_id: int, names: list[str] | None = None, *, write: bool = False,
                label: str | None = None, cache: bool = True, taste: str | None = None,
                stopping: Callable[[], bool] | None = None) -> tuple[dict, int]:
        """Predict one input (a resolved path); returns (the input's result, operations it cost: one per model
        output it holds, so an input that could not be read costs nothing). `taste`: judged with that profile.
        A video ends at its next second (Stopping) once the engine stops or `stopping()` is true; once it stops, no
        input starts (a request of many ends at its next one, Stopping, which answers 503)."""
        if self.stopping.is_set():
            raise Stopping()
        analyzers, concepts = self.plan(app_id, names)
        rec, ops = self._predict(path, analyzers, concepts, label or path, write=write, cache=cache, taste=taste,
                                 stopping=stopping)
        if not cache:  # an upload: its temporary file is gone when the answer leaves
            rec.update(path=rec["input"], files=[rec["input"]], sidecars=[], embedded=[], via_plugin=[], photo_id=None)
        return rec, ops

    def _predict(self, path: str, analyzers, concepts, label: str, *, write: bool, cache: bool,
                 taste: str | None = None, stopping: Callable[[], bool] | None = None) -> tuple[dict, int]:
        if is_video(path):
            from keepers.sidecar import video

            return video.predict(self, path, label, analyzers, concepts, write=write,
                                 stopping=lambda: self.stopping.is_set() or bool(stopping and stopping()))
        bad = unreadable(path)
        if bad:
            return failed(label, path, *bad), 0
        if cache:
            with self._path_locks[zlib.crc32(path.encode("utf-8", "surrogateescape")) % 64]:
                r = self._one(path, self.catalog(), write, taste)
        else:  # an upload: judged the same way, but not remembered (it has no place in the library)
            catalog = Catalog(":memory:")
            try:
                r = self._one(path, catalog, write=False, taste=taste)
            finally:
                catalog.close()
        if r is None:
            return failed(label, path, "read_error", "not a photo Keepers can read"), 0
        rec = self.record(r, analyzers, concepts, label=label, write=write)
        return rec, len(rec["models"])

    def _one(self, path: str, catalog: Catalog, write: bool, taste: str | None = None) -> Result | None:
        results = self.cull(catalog, write=write, taste=taste).run([path])
        return next((r for r in results if path in r.photo.files), results[0] if results else None)
