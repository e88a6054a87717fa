"""The daemon's engine: the analyzers loaded once and shared by every request thread, and predict on one input
through the same Cull as `keepers cull` (keepers.core.pipeline): the same freshness check (content hash and
analyzer versions), the same judging step and the same per-photo sidecar write, with the daemon's loaded models.
A workflow or a `models` list chooses which models' outputs a result shows; the verdict is always the judge's.

Beside it: `engine_cull.py` (the daemon's Cull, and Stopping: how a background cull ends as the daemon stops) and
`engine_predict.py` (predict on one input and its result record, which Engine inherits); this module holds the
loaded analyzers, each thread's catalog connection, the warm-up and the daemon's close."""

from __future__ import annotations

import logging
import threading

import numpy as np

from keepers.core import pm
from keepers.core.io.catalog import Catalog
from keepers.core.judge.judgement import judge
from keepers.core.settings import Settings
from keepers.core.types import Finding, Frame, Judgement, Meta, Photo
from keepers.sidecar.engine_cull import SharedCull
from keepers.sidecar.engine_predict import Predicting
from keepers.sidecar.store import Store

# what callers import from here (sidecar/app.py, jobs.py, taste.py, video.py, watch.py), from the module that holds it
from keepers.sidecar.engine_cull import Stopping, stop_when  # noqa: F401

log = logging.getLogger("keepers.sidecar")


class Engine(Predicting):
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
