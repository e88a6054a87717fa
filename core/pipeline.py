"""The one data path: discover -> load -> analyze -> judge -> group -> write back.

`Cull` runs it over folders. Analysis (decode + analyzers) runs in worker processes, one per core; the catalog
and the sidecar writes stay in this process. Photos whose file and analyzer versions are unchanged since the last
run are not decoded again: their findings come from the catalog, and only the cheap judging step re-runs (so a
changed star mapping applies without re-analysis).

Read top-down: `Cull` (the run, its order of work, the judging and grouping steps). Beside it:
`pipeline_result.py` (what a run knows of one photo, and its `--json` record), `pipeline_analyze.py` (the catalog
asked first, then the analysis pool started, collected and ended), `pipeline_worker.py` (one photo hashed, decoded
and analysed, in a worker process) and `pipeline_write.py` (the sidecars and embedded metadata written back).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

from keepers.core.io import exiftool as et_proc
from keepers.core import pm
from keepers.core.io.catalog import Catalog
from keepers.core.judge.judgement import judge
from keepers.core.io.discover import discover
from keepers.core.io.hosts import adapter_for
from keepers.core.pipeline_analyze import Analysis
from keepers.core.pipeline_result import Result
from keepers.core.pipeline_write import WriteBack
from keepers.core.settings import Settings
from keepers.core.types import Photo

# what callers import from here (sidecar/, core/commands/, tests, tools/), from the modules that now hold it
from keepers.core.pipeline_worker import analyze_photo, file_hash  # noqa: F401
from keepers.core.pipeline_write import place_writes, write_fingerprint  # noqa: F401


class Cull(Analysis, WriteBack):
    """One run over some folders. `progress(stage, done, total)` is called as work completes."""

    def __init__(self, settings: Settings, catalog: Catalog, *, dry_run: bool = False,
                 progress: Callable[[str, int, int], None] | None = None):
        self.settings = settings
        self.catalog = catalog
        self.dry_run = dry_run
        self.progress = progress or (lambda stage, done, total: None)
        self.host = adapter_for(settings)  # an unknown host fails here, before any analysis
        self.analyzers = pm.analyzers(settings)
        self.versions = {a.name: a.version for a in self.analyzers}
        self.groups: dict = {}  # path -> Membership, filled by group()
        self._stats_lock = threading.Lock()
        self._pool_thread: threading.Thread | None = None  # the last analysis pool's manager (`_join_pool`)
        self._folders_checked: set[str] = set()  # folders whose gone photos were looked for in this run
        self.skipped: list[tuple[str, str]] = []  # (path, why): files a run saw and left alone (videos)
        # written: photos whose sidecars were written; embedded: files written into (--embed); via_plugin: files
        # the host reads no sidecar for, left to its plug-in (Lightroom's JPEG, TIFF, PSD, PNG, DNG)
        self.stats = {"photos": 0, "analyzed": 0, "from_catalog": 0, "errors": 0, "written": 0, "embedded": 0,
                      "via_plugin": 0}

    def run(self, paths: Iterable[str]) -> list[Result]:
        self.skipped.clear()
        photos, walk_errors = discover(list(paths), skipped=self.skipped)
        results: dict[str, Result] = {}
        todo: list[Photo] = []
        for p in photos:
            r = results[p.path] = Result(p)
            if not self._from_catalog(r):
                todo.append(p)
        self.stats["from_catalog"] = len(photos) - len(todo)
        # the sidecar writers: exiftool does the work in its own process, one per thread (keepers.core.io.exiftool),
        # so threads use every core. Their processes start, ready to write, before the analysis ends: started after
        # it, at the end of a 64-photo batch on 2 cores, they took 0.3-0.4 s (docs/benchmarks.md). One starts with
        # the analysis, the others when a core is free (0.2 s of CPU each: docs/benchmarks.md, session 17)
        n_writers = max(1, self.settings.workers)
        writers = ThreadPoolExecutor(n_writers, thread_name_prefix="keepers-write")
        core_free = threading.Event()

        def warm_when_a_core_is_free() -> None:
            core_free.wait()
            et_proc.warm()

        try:
            # an unchanged folder writes nothing: no process to start; nor does one photo (the daemon's predict
            # writes it in the request's own thread, whose exiftool lives on: warming the pool's cost it 0.2 s)
            if len(todo) > 1 and not self.dry_run:
                for _ in range(n_writers - 1):  # (submitted first: each waiting task holds a thread of its own)
                    writers.submit(warm_when_a_core_is_free)
                writers.submit(et_proc.warm)
            self._analyze(todo, results, core_free.set)
            ordered = [results[p.path] for p in photos]
            for r in ordered:
                self._judge(r)
            self.group(ordered)
            for r in ordered:
                self._finish(r)
            self._write_back(ordered, writers)
        finally:
            core_free.set()  # (an analysis that failed never said so)
            writers.shutdown()
            et_proc.reap()  # the writer threads have ended, and so do their processes (a daemon runs many batches)
            self._join_pool()
        ordered += [Result(Photo(path, "unknown"), error=msg) for path, msg in walk_errors]
        self.stats["photos"], self.stats["skipped"] = len(ordered), len(self.skipped)
        self.stats["errors"] = sum(1 for r in ordered if r.error or r.write_error)
        return ordered

    def _judge(self, r: Result) -> None:
        """The judging step, once per photo (core/judge/judgement.py). A photo nothing could judge says why."""
        if r.error:
            return
        j = judge(r.findings, self.settings)
        if not j.judged:
            r.error = f"not judged: {j.reasons[0].message}"
            return
        r.verdict = j

    def group(self, results: list[Result]) -> None:
        """Bursts, near-duplicates, brackets, panoramas, focus stacks and their picks (core/judge/group.py), from the
        judged photos; grouping marks picks and alternates, it does not judge again."""
        from keepers.core.judge.group import apply_groups

        self.groups = apply_groups([r for r in results if r.verdict is not None], self.settings)

    def _finish(self, r: Result) -> None:
        """The photo's group into its judgement, the plugins' say, then the catalog."""
        if r.verdict is None:
            return
        from keepers.core.judge.group import annotate

        annotate(r.verdict, self.groups.get(r.photo.path))
        pm.manager.hook.keepers_photo_decided(photo=r.photo, verdict=r.verdict, findings=r.findings)  # may edit it
        if r.photo_id is not None and not self.dry_run:  # the catalog's is the judgement the sidecar got: `show`
            self.catalog.save_verdict(r.photo_id, r.verdict)  # reads it, and a dry run (or `show`) writes none
