"""The run's discover -> (catalog or) load + analyze step, as part of `Cull` (core/pipeline.py): each photo the
catalog answers for (its content and analyzer versions unchanged, found by content hash wherever it was moved or
copied), the others analysed in a process pool (core/pipeline_worker.py, one worker per core) or in this process
for a few, every result saved to the catalog as it comes in, and the pool's last thread waited for at the run's end
(`_join_pool`)."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable, Iterable

from keepers.core.pipeline_result import Result
from keepers.core.pipeline_worker import _init_worker, analyze_photo, file_hash
from keepers.core.types import Photo
from keepers.core.workers import ctrl_c_held, pool_context

log = logging.getLogger("keepers.pipeline")


class Analysis:
    """`Cull`'s analysis step; it reads the run's settings, catalog, analyzers and versions, progress and stats."""

    def _from_catalog(self, r: Result) -> bool:
        """Fill `r` from the catalog when its content is known and every analyzer's version is unchanged: the same
        file (same size and mtime, or same hash), a photo moved here (its row follows it, with the record of what
        its sidecars hold) or copied here (its findings are copied). A file whose content could not be read is not
        tried again until it changes: `r` gets the error it had."""
        from keepers.core.io.catalog import LASTING_ERRORS

        path = r.photo.path
        checked = self._folders_checked
        if os.path.dirname(path) not in checked:  # once per folder: its rows whose files are gone are marked
            checked.add(os.path.dirname(path))
            self.catalog.check_folder(os.path.dirname(path))
        try:
            st = os.stat(path)
        except OSError:
            return False
        row = self.catalog.photo_row(path)
        if row is None or (row["size"], row["mtime_ns"]) != (st.st_size, st.st_mtime_ns):
            if row is None and not self.catalog.known_size(st.st_size):
                return False  # no catalogued file has this size: new content, hashed by the analysis worker
            try:
                content_hash = file_hash(path)
            except OSError:
                return False  # unreadable (its permissions): the analysis reports why, for this photo alone
            if row is not None and row["content_hash"] == content_hash:
                self.catalog.touch(row["id"], path, st.st_size, st.st_mtime_ns)  # touched, not changed
            elif self.catalog.adopt(r.photo, content_hash, st.st_size, st.st_mtime_ns) is None:
                return False  # new content
            row = self.catalog.photo_row(path)
        if row["error"] is not None:
            if not row["error"].startswith(LASTING_ERRORS):
                return False  # it may read now (permissions, memory, the pixel limit)
            r.photo_id, r.error = row["id"], row["error"]
            return True
        if row["analyzed_at"] is None or self.catalog.analyzer_versions(row["id"]) != self.versions:
            return False
        r.photo_id, r.meta, r.findings = row["id"], self.catalog.meta(row["id"]), self.catalog.findings(row["id"])
        return True

    def _analyze(self, todo: list[Photo], results: dict[str, Result],
                 start_writers: Callable[[], None] = lambda: None) -> None:
        """Analyse `todo` into `results`; `start_writers` is called once, when a core is free for them."""
        total = len(todo)
        self.progress("analyze", 0, total)
        workers = max(1, min(self.settings.workers, total))
        if workers == 1 or total < 4:  # a pool costs ~1 s to start: not worth it for a few photos
            start_writers()  # this process analyses: the other cores are free
            outs: Iterable[dict] = (analyze_photo(p, self.settings, self.analyzers) for p in todo)
            self._collect(outs, results, total)
            return
        # not forked from this process, which holds SQLite and exiftool handles: from a fresh, warmed fork server
        pool = ProcessPoolExecutor(workers, mp_context=pool_context(), initializer=_init_worker,
                                   initargs=(self.settings.model_dump_json(),))

        def outs() -> Iterable[dict]:
            for done, f in enumerate(as_completed(futures), 1):
                # more writers' exiftools start (0.2 s of CPU each) once a worker has no photo left, on the core it
                # leaves; started with the analysis they took that CPU from the workers (docs/benchmarks.md)
                if done == total - workers + 1:
                    start_writers()
                yield f.result()

        try:
            with ctrl_c_held():  # the pool starts its workers as photos are submitted: never one it does not know of
                futures = [pool.submit(analyze_photo, p) for p in todo]
            self._collect(outs(), results, total)
        finally:
            # not waiting for the workers to exit: that took 0.2 s, while the sidecars could already be written;
            # `run` waits for the pool's last thread once they are (`_join_pool`)
            self._pool_thread = getattr(pool, "_executor_manager_thread", None)
            pool.shutdown(wait=False, cancel_futures=True)

    def _join_pool(self, timeout: float = 30.0) -> None:
        """Wait for the analysis pool's manager thread, which outlives `shutdown(wait=False)` until the workers have
        exited, to end: a run leaves no thread behind (a daemon runs batch after batch, and a process's exit waits
        for every such thread: CI once waited 80 minutes after the tests' report). By the end of a run the workers
        have long exited; a pool that has not ended by `timeout` is said in the log, not waited for."""
        t, self._pool_thread = self._pool_thread, None
        if t is not None:
            t.join(timeout)
            if t.is_alive():
                log.warning("the analysis workers had not ended %.0f s after the run", timeout)

    def _collect(self, outs: Iterable[dict], results: dict[str, Result], total: int) -> None:
        for done, out in enumerate(outs, 1):
            r = results[out["photo"].path]
            r.analyzed, r.meta, r.findings, r.error = True, out["meta"], out["findings"], out["error"]
            if "hash" in out:  # the file could at least be read: remember it (with its error, if any)
                r.photo_id = self.catalog.save(r.photo, content_hash=out["hash"], size=out["size"],
                                               mtime_ns=out["mtime_ns"], meta=r.meta, findings=r.findings,
                                               error=r.error)
            self.stats["analyzed"] += r.error is None
            self.progress("analyze", done, total)
