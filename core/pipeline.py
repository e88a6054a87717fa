"""The one data path: discover -> load -> analyze -> judge -> group -> write back.

`Cull` runs it over folders. Analysis (decode + analyzers) runs in worker processes, one per core; the catalog
and the sidecar writes stay in this process. Photos whose file and analyzer versions are unchanged since the last
run are not decoded again: their findings come from the catalog, and only the cheap judging step re-runs (so a
changed star mapping applies without re-analysis).
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import xxhash

from keepers.core.io import exiftool as et_proc
from keepers.core import pm
from keepers.core.analyzers import run_all
from keepers.core.io.catalog import Catalog, dumps
from keepers.core.judge.flaws import role
from keepers.core.judge.judgement import judge
from keepers.core.io.discover import discover
from keepers.core.errors import KeepersError
from keepers.core.io.hosts import adapter_for
from keepers.core.io.loader import load
from keepers.core.settings import Settings
from keepers.core.types import Finding, Judgement, Meta, Photo
from keepers.core.workers import pool_context, prepare_worker

log = logging.getLogger("keepers.pipeline")


@dataclass
class Result:
    """Everything known about one photo after a run; `record()` is its `--json` line."""

    photo: Photo
    photo_id: int | None = None
    meta: Meta | None = None
    findings: list[Finding] = field(default_factory=list)
    verdict: Judgement | None = None  # the judging step's, with the photo's group
    error: str | None = None
    analyzed: bool = False  # decoded and analysed in this run (False: from the catalog)
    sidecars: list[str] = field(default_factory=list)
    embedded: list[str] = field(default_factory=list)  # files whose own XMP holds the verdict (--embed)
    via_plugin: list[str] = field(default_factory=list)  # files the host reads no sidecar for: its plug-in applies it
    write_error: str | None = None

    def record(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "path": self.photo.path,
            "files": self.photo.files,
            "score": v.score if v else None,
            "verdict": v.verdict if v else None,
            "confidence": v.confidence if v else None,
            "stars": v.stars if v else None,
            # each reason with what it did: took, gave, a note, or a flaw measured and not charged (core/judge/flaws)
            "reasons": [{**r.as_dict(), "role": role(r)} for r in v.reasons] if v else [],
            "keywords": v.keywords if v else [],
            "group": v.group if v else None,
            "pick": bool(v.pick) if v else False,
            "judged_by": v.judged_by if v else None,
            "nsfw": next((f.data.get("nsfw") for f in self.findings if f.analyzer == "nsfw"), None),  # p(porn)
            "sidecars": self.sidecars,
            "embedded": self.embedded,
            "via_plugin": self.via_plugin,
            "error": self.error or self.write_error,
        }


def place_writes(r: Result, host, embed: bool) -> list[str]:
    """The files of `r` that get a sidecar (returned), and into `r.embedded` / `r.via_plugin` those the host reads
    no sidecar for (Lightroom's JPEG...): a sidecar the host would not read is never written, nor counted; the
    file's own XMP is the host's, written into with `embed`, else left to its plug-in."""
    inside = [f for f in r.photo.files if not host.reads_sidecar(f)]
    r.embedded, r.via_plugin = (inside, []) if embed else ([], inside)
    return [f for f in r.photo.files if f not in inside]


def write_fingerprint(v, host, settings) -> str:
    """What a verdict's write-back depends on (the catalog keeps it as `written`): the same again means the
    sidecars hold exactly this already."""
    embed = bool(getattr(settings, "embed", False))
    return dumps([v.score, v.stars, v.keywords, [x.code for x in v.reasons], v.group, v.pick, host.signature,
                  settings.overwrite_ratings] + (["embed"] if embed else []))


def file_hash(path: str) -> str:
    """Content hash: recognises an unchanged, touched, copied or moved photo. Not a security boundary, so a fast
    non-cryptographic 128-bit hash: xxh3 takes 1.4 ms on a 7.8 MB JPEG, SHA-256 6.7 ms, blake2b 8.7 ms."""
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- the worker side: load + analyze one photo ------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _init_worker(settings_json: str) -> None:
    prepare_worker()  # one thread per library, freed memory reused (keepers.core.workers)
    settings = Settings.model_validate_json(settings_json)
    _worker["settings"] = settings
    _worker["analyzers"] = pm.analyzers(settings)


def analyze_photo(photo: Photo, settings: Settings | None = None, analyzers=None) -> dict[str, Any]:
    """Hash, decode and analyse one photo. Never raises for a bad file: the error comes back as text."""
    settings = settings or _worker["settings"]
    analyzers = analyzers if analyzers is not None else _worker["analyzers"]
    out: dict[str, Any] = {"photo": photo, "meta": None, "findings": [], "error": None}
    try:
        st = os.stat(photo.path)
        out["size"], out["mtime_ns"] = st.st_size, st.st_mtime_ns
        out["hash"] = file_hash(photo.path)
        frame = load(photo, settings.analysis_size, settings.max_pixels)
    except KeepersError as e:
        out["error"] = getattr(e, "message", str(e))
        return out
    except OSError as e:
        out["error"] = f"cannot read the file: {e.strerror or e}"
        return out
    out["meta"], out["findings"] = frame.meta, run_all(frame, analyzers)
    return out


# --- the run ----------------------------------------------------------------------------------------------------


class Cull:
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

    # discover -> (catalog or) load + analyze
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
            content_hash = file_hash(path)
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

    def _write_back(self, results: list[Result], pool: ThreadPoolExecutor) -> None:
        from keepers.core.io.xmp import SidecarWriter

        todo = [r for r in results if r.verdict is not None]
        self.progress("write", 0, len(todo))
        # written serially, sidecars took a fifth of a 24 MP cull on 2 cores. Not `with SidecarWriter()`, which
        # starts this thread's exiftool: only the pool's threads write; each folder is listed once for the batch
        # (keepers.core.io.naming)
        writer = SidecarWriter(cache_folders=True)
        for done, _ in enumerate(pool.map(lambda r: self._write_one(writer, r), todo), 1):
            self.progress("write", done, len(todo))

    def _write_one(self, writer, r: Result) -> None:
        from keepers.core.errors import WriteError

        v, s, host = r.verdict, self.settings, self.host
        embed = bool(getattr(s, "embed", False))
        fingerprint = write_fingerprint(v, host, s)
        outside = place_writes(r, host, embed)
        sidecars = [writer.sidecar(f, host)[1] for f in outside]
        r.sidecars = [str(p) for p in sidecars]
        if r.via_plugin:
            with self._stats_lock:
                self.stats["via_plugin"] += len(r.via_plugin)
        if not outside and not r.embedded:
            return  # nothing for Keepers to write: the host's plug-in applies the verdict
        if (not self.dry_run and r.photo_id is not None and self.catalog.written(r.photo_id) == fingerprint
                and all(p.exists() for p in sidecars)):
            return  # already written exactly this
        ok = True
        for f in outside:
            try:  # the try_write pattern: one unwritable sidecar is reported, the batch goes on
                writer.write(f, v, analyzers=self.versions, dry_run=self.dry_run, overwrite_ratings=s.overwrite_ratings,
                             host=host, embedded_rating=r.meta.rating if r.meta and f == r.photo.path else None,
                             embedded_xmp=r.meta.xmp if r.meta and f == r.photo.path else None)
            except WriteError as e:
                # a dry run writes nothing: it says what a real run could not write (in --json too)
                ok, r.write_error = False, f"sidecar {'would not be' if self.dry_run else 'not'} written: {e.message}"
                # a dry run (and `keepers show`, which is one) would write nothing: its summary says it, not a warning
                (log.debug if self.dry_run else log.warning)("%s", e)
        done = 0
        for f in r.embedded:
            try:
                writer.embed(f, v, analyzers=self.versions, dry_run=self.dry_run,
                             overwrite_ratings=s.overwrite_ratings, host=host,
                             keep_original=bool(getattr(s, "keep_originals", False)))
                done += 1
                if f == r.photo.path and r.photo_id is not None and not self.dry_run:
                    # the photo's content changed: the catalog follows, or the next run would analyse it again
                    st = os.stat(f)
                    self.catalog.touch(r.photo_id, f, st.st_size, st.st_mtime_ns, content_hash=file_hash(f))
            except (WriteError, OSError) as e:
                ok, r.write_error = False, f"metadata not written into the photo: {getattr(e, 'message', e)}"
                (log.debug if self.dry_run else log.warning)("%s", e)
        if not self.dry_run:
            with self._stats_lock:
                self.stats["embedded"] += done
        if ok and not self.dry_run and r.photo_id is not None:
            self.catalog.mark_written(r.photo_id, fingerprint)
            if outside:
                with self._stats_lock:
                    self.stats["written"] += 1
