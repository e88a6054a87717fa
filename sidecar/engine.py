"""The daemon's engine: the analyzers loaded once and shared by every request thread, and predict on one input
through the catalog (a photo analysed before, unchanged, is answered from it)."""

from __future__ import annotations

import logging
import os
import threading
import zlib
from dataclasses import replace

import numpy as np

from keepers.core import plugins
from keepers.core.catalog import Catalog
from keepers.core.decide import decide
from keepers.core.pipeline import Cull, analyze_photo
from keepers.core.settings import Settings
from keepers.core.types import Finding, Frame, Meta, Photo, Verdict
from keepers.sidecar import models as app_models
from keepers.sidecar.output import finding_dict, input_error, jsonable, verdict_dict
from keepers.sidecar.store import Store

log = logging.getLogger("keepers.sidecar")
VIDEO_EXTS = {".mp4", ".mov", ".mkv", ".m4v", ".avi", ".webm"}


def is_video(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in VIDEO_EXTS


class SharedCull(Cull):
    """The same Cull as the command line, running the daemon's already-loaded analyzers when it runs in-process."""

    def __init__(self, settings: Settings, catalog: Catalog, analyzers, **kw):
        super().__init__(settings, catalog, **kw)
        self.analyzers = analyzers
        self.versions = {a.name: a.version for a in analyzers}


class Engine:
    def __init__(self, settings: Settings, store: Store):
        self.settings = settings
        self.store = store
        self.analyzers = plugins.analyzers(settings)
        self.by_name = {a.name: a for a in self.analyzers}
        self.versions = {a.name: a.version for a in self.analyzers}
        self._local = threading.local()
        # two requests for the same unanalysed photo: the second waits and reads the first one's result
        self._path_locks = [threading.Lock() for _ in range(64)]

    def catalog(self) -> Catalog:
        """This thread's catalog connection (SQLite in WAL mode: readers in parallel, writes serialised)."""
        cat = getattr(self._local, "catalog", None)
        if cat is None:
            cat = self._local.catalog = Catalog(self.settings.catalog)
        return cat

    def warm_up(self) -> None:
        """Run each analyzer once on a synthetic frame, so their models load now and not on the first request."""
        y, x = np.mgrid[0:256, 0:384]
        rgb = np.stack([x % 256, y, (x + y) % 256], -1).astype(np.uint8)
        frame = Frame(Photo("warm-up", "jpeg"), rgb, Meta(width=384, height=256))
        for a in self.analyzers:
            try:
                a.analyze(frame)
            except Exception:  # a model that cannot load is reported by /health, not fatal at start
                log.warning("warm-up of analyzer %s failed", a.name, exc_info=True)

    def model_states(self) -> list[dict]:
        out = []
        for a in self.analyzers:
            model = getattr(a, "model", None)
            loaded = getattr(model, "loaded", None)
            out.append({"name": a.name, "version": a.version, "loaded": True if model is None else bool(loaded)})
        return out

    # --- predict ------------------------------------------------------------------------------------------------

    def plan(self, app_id: int, names: list[str] | None) -> tuple[list, list[dict]]:
        """(analyzers to run, concepts to score) for a request naming `names` (None: every enabled model)."""
        return app_models.plan(self, app_id, names)

    def _findings(self, photo: Photo, wanted: list) -> tuple[int | None, Meta | None, dict[str, Finding], dict | None]:
        cat = self.catalog()
        try:
            st = os.stat(photo.path)
        except FileNotFoundError:
            return None, None, {}, input_error("not_found", "no such file")
        except OSError as e:
            return None, None, {}, input_error("read_error", f"cannot read the file: {e.strerror or e}")
        if not os.path.isfile(photo.path):
            return None, None, {}, input_error("not_a_file", "not a regular file (a folder? use /v1/jobs)")
        with self._path_locks[zlib.crc32(photo.path.encode("utf-8", "surrogateescape")) % 64]:
            row = cat.photo_row(photo.path)
            stored: dict[str, Finding] = {}
            if (row is not None and row["error"] is None and row["analyzed_at"] is not None
                    and (row["size"], row["mtime_ns"]) == (st.st_size, st.st_mtime_ns)):
                stored = {f.analyzer: f for f in cat.findings(row["id"]) if self.versions.get(f.analyzer) == f.version}
            missing = [a for a in wanted if a.name not in stored]
            if not missing and stored:
                return row["id"], cat.meta(row["id"]), stored, None
            out = analyze_photo(photo, self.settings, missing)
            if out["error"]:
                return None, None, {}, input_error("read_error", out["error"])
            merged = {**stored, **{f.analyzer: f for f in out["findings"]}}
            pid = cat.save(photo, content_hash=out["hash"], size=out["size"], mtime_ns=out["mtime_ns"],
                           meta=out["meta"], findings=list(merged.values()), error=None)
            return pid, out["meta"], merged, None

    def adjust(self, findings: list[Finding], app_id: int | None) -> list[Finding]:
        """The findings with this application's weights (models:patch)."""
        settings = app_models.settings_for(self.store, app_id) if app_id is not None else {}
        return [replace(f, weight=settings[f.analyzer]["weight"])
                if settings.get(f.analyzer, {}).get("weight") is not None else f for f in findings]

    def verdict(self, photo: Photo, findings: list[Finding], app_id: int | None) -> Verdict:
        """The decision from findings already adjusted for the application."""
        v = decide(findings, self.settings)
        plugins.pm.hook.keepers_photo_decided(photo=photo, verdict=v, findings=findings)
        return v

    def predict(self, path: str, app_id: int, names: list[str] | None = None, *, write: bool = False,
                label: str | None = None, cache: bool = True) -> tuple[dict, int]:
        """Predict one input (a resolved path); returns (the input's result, operations it cost)."""
        from keepers.core.discover import kind_of

        analyzers, concepts = self.plan(app_id, names)
        n_models = len(analyzers) + len(concepts)
        result = {"input": label or path, "photo_id": None, "error": None, "verdict": None, "models": {},
                  "sidecars": [], "video": None, "meta": None}
        if is_video(path):
            from keepers.sidecar import video

            return video.predict(self, path, app_id, analyzers, concepts, result, write=write)
        photo = Photo(path, kind_of(path))
        if cache:
            pid, meta, found, err = self._findings(photo, analyzers)
        else:  # an upload: analysed, not remembered (it has no place in the library)
            out = analyze_photo(photo, self.settings, analyzers)
            pid, meta, err = None, out["meta"], input_error("read_error", out["error"]) if out["error"] else None
            found = {f.analyzer: f for f in out["findings"]}
        if err:
            result["error"] = err
            return result, n_models
        findings = self.adjust([found[a.name] for a in analyzers if a.name in found], app_id)
        findings += app_models.score_concepts(concepts, list(found.values()))
        v = self.verdict(photo, findings, app_id)
        result.update(photo_id=pid, verdict=verdict_dict(v), models={f.analyzer: finding_dict(f) for f in findings},
                      meta=jsonable(meta.as_dict()) if meta else None)
        if write:
            result["sidecars"], werr = self.write(photo, v, pid)
            if werr:
                result["error"] = input_error("write_error", werr)
        return result, n_models

    def write(self, photo: Photo, v: Verdict, photo_id: int | None, extra: dict | None = None) -> tuple[list, str | None]:
        """Write the verdict into the photo's sidecar(s); returns (sidecar paths, error or None)."""
        from keepers.core.errors import WriteError
        from keepers.core.hosts import adapter_for
        from keepers.core.xmp import SidecarWriter

        host = adapter_for(self.settings)  # the same host conventions as `keepers cull --host`
        sidecars = [str(host.sidecar(f)) for f in photo.files]
        try:
            with SidecarWriter() as w:
                for f in photo.files:
                    w.write(f, v, analyzers=self.versions, overwrite_ratings=self.settings.overwrite_ratings,
                            extra=extra, host=host)
        except WriteError as e:
            return sidecars, f"sidecar not written: {e.message}"
        if photo_id is not None:
            self.catalog().save_verdict(photo_id, v)
        return sidecars, None
