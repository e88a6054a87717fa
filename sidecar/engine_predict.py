"""Predict on one input (keepers.sidecar.engine's Engine inherits it): a photo through the daemon's Cull, a video
second by second (keepers.sidecar.video), an upload judged and not remembered; each result as the `keepers cull
--json` record with the chosen models' outputs."""

from __future__ import annotations

import zlib
from typing import Callable

from keepers.core.io.catalog import Catalog
from keepers.core.io.discover import is_video  # the one list: a cull skips what the daemon judges as video
from keepers.core.commands.cull import record as cull_record
from keepers.core.pipeline import Result
from keepers.sidecar import models as app_models
from keepers.sidecar.engine_cull import Stopping
from keepers.sidecar.output import failed, finding_dict, jsonable
from keepers.sidecar.paths import unreadable

class Predicting:
    """The Engine's predict and its records; it runs on the Engine's `stopping` event, `catalog()`, `cull()` and
    `_path_locks` (keepers.sidecar.engine)."""

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
