"""Watched folders: a new photo is analysed and its sidecar written once it is completely written.

watchdog reports files; a file is queued once its size and mtime have stayed the same for `settle_s` and it opens.
The queue lives in the daemon's SQLite file, one row per (path, mtime): queued -> running -> done | failed. After a
crash, rows left `running` go back to `queued` and run again through Cull, which answers finished photos from the
catalog (same file, same analyzer versions) and skips sidecars already written, so nothing is lost or done twice.
A start also scans the folders, for files that arrived while the daemon was down.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

from keepers.core.io.catalog import Catalog
from keepers.core.io.discover import SKIP_DIRS, is_video, kind_of
from keepers.sidecar.engine import SharedCull, Stopping, stop_when

log = logging.getLogger("keepers.sidecar.watch")

# A file still empty after this long is queued (and named as failed, "file is empty"): a copy that creates its file
# and writes the bytes later is not judged empty at once; if it grows later, its new mtime queues it again.
EMPTY_SETTLE_S = 5.0
# how often the watched folders themselves are checked: one deleted and made again needs a new watch (`_rearm`)
REARM_S = 1.0


def wanted(path: str) -> bool:
    """A photo or video file (not a sidecar, not one of our temp files, not a hidden file)."""
    name = os.path.basename(path)
    return not name.startswith(".") and (kind_of(name) != "unknown" or is_video(name))


def _identity(folder: str) -> tuple[int, int] | None:
    """(device, inode) of a folder, None when there is none: a folder made again is another."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: "Watcher"):
        self.watcher = watcher

    def on_any_event(self, event) -> None:
        if event.is_directory:
            if event.event_type == "deleted":  # a watched folder itself: its watch has ended (`Watcher._rearm`)
                self.watcher.lost(os.fsdecode(event.src_path))
            if event.event_type in ("created", "moved"):  # a folder moved in brings files no event announced
                self.watcher.scan_later(getattr(event, "dest_path", "") or event.src_path)
            return
        path = getattr(event, "dest_path", "") or event.src_path
        if event.event_type in ("created", "modified", "moved", "closed") and wanted(os.fsdecode(path)):
            self.watcher.note(os.fsdecode(path))


class Watcher:
    def __init__(self, folders: list[str], engine, *, settle_s: float = 1.0, batch: int = 64, poll_s: float = 0.2,
                 workers: int | None = None, on_batch=None):
        self.folders = [os.path.abspath(f) for f in folders]
        self.engine, self.store = engine, engine.store
        self.settle_s, self.batch, self.poll_s = settle_s, batch, poll_s
        # 1: in this process with the engine's loaded models; more: Cull's worker processes, each loading its own
        self.settings = engine.settings if workers is None else engine.settings.model_copy(update={"workers": workers})
        self.on_batch = on_batch or (lambda done, failed: None)
        self._pending: dict[str, tuple[int, int, float]] = {}  # path -> (size, mtime_ns, unchanged since)
        self._scans: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._work = threading.Event()
        self._threads: list[threading.Thread] = []
        self._observer = None
        self._roots: dict[str, tuple[tuple[int, int] | None, object]] = {}  # folder -> (its identity, its watch)
        self._lost: set[str] = set()  # watched folders whose deletion was seen (made again, one may keep its inode)

    def start(self) -> None:
        missing = [f for f in self.folders if not os.path.isdir(f)]
        if missing:
            raise FileNotFoundError(f"cannot watch {', '.join(missing)}: not a folder")
        if self.store.requeue_running():
            log.info("resuming files interrupted by the last stop")
        self._observer = Observer()
        for f in self.folders:
            self._roots[f] = (_identity(f), self._observer.schedule(_Handler(self), f, recursive=True))
        self._observer.start()  # before the scan: a file arriving during it is seen either way
        self._scans.extend(self.folders)
        for target, name in ((self._settle_loop, "keepers-watch-settle"), (self._work_loop, "keepers-watch-work")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        self._work.set()

    def stop(self) -> None:
        self._stop.set()
        self._work.set()
        if self._observer:
            self._observer.stop()
            self._observer.join(timeout=10)
        for t in self._threads:
            t.join(timeout=60)

    # --- noticing files -----------------------------------------------------------------------------------------

    def note(self, path: str) -> None:
        with self._lock:
            if path not in self._pending:
                self._pending[path] = (-1, -1, time.monotonic())

    def lost(self, folder: str) -> None:
        with self._lock:
            if folder in self._roots:
                self._lost.add(folder)

    def scan_later(self, folder: str) -> None:
        with self._lock:
            self._scans.append(folder)

    def _scan(self, folder: str) -> None:
        for root, dirs, names in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS]
            for n in names:
                p = os.path.join(root, n)
                if wanted(p):
                    try:
                        st = os.stat(p)
                    except OSError:
                        continue
                    if not self.store.known(p, st.st_mtime_ns):
                        self.note(p)

    def _rearm(self) -> None:
        """A watched folder deleted and made again (emptied by an import tool, a card's folder made anew) is a new
        folder its old watch never sees: nothing in it was analysed until the next start, and nothing said so. It
        is watched again and scanned; while it is gone, that is said once."""
        for f, (known, watch) in list(self._roots.items()):
            now = _identity(f)
            with self._lock:
                lost = f in self._lost
                self._lost.discard(f)
            if now == known and not lost:
                continue
            if now is None:
                if known is not None:
                    log.warning("watched folder %s is gone: it is watched again once it is back", f)
            else:
                try:
                    self._observer.unschedule(watch)
                except Exception:  # its watch ended with the folder
                    pass
                try:
                    watch = self._observer.schedule(_Handler(self), f, recursive=True)
                except OSError as e:  # gone again already, or unreadable: tried at the next round
                    log.debug("cannot watch %s yet: %s", f, e)
                    continue
                self.scan_later(f)
                log.warning("watched folder %s is back: watching it again", f)
            self._roots[f] = (now, watch)

    def _settle_loop(self) -> None:
        rearmed = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - rearmed >= REARM_S:
                self._rearm()
                rearmed = time.monotonic()
            with self._lock:
                scans, self._scans = self._scans, []
            for folder in scans:
                self._scan(folder)
            ready = self._settle()
            if ready:
                self.store.enqueue(ready)
                self._work.set()
            self._stop.wait(self.poll_s)

    def _settle(self) -> list[tuple[str, int, int]]:
        """Files unchanged for settle_s and openable now: (path, mtime_ns, size)."""
        ready, t = [], time.monotonic()
        with self._lock:
            items = list(self._pending.items())
        for path, (size, mtime, since) in items:
            try:
                st = os.stat(path)
            except OSError:  # gone (a temp file renamed away, a file deleted): nothing to do
                with self._lock:
                    self._pending.pop(path, None)
                continue
            if (st.st_size, st.st_mtime_ns) != (size, mtime):
                with self._lock:
                    self._pending[path] = (st.st_size, st.st_mtime_ns, t)
                continue
            if t - since < (self.settle_s if st.st_size else max(self.settle_s, EMPTY_SETTLE_S)):
                continue
            try:
                with open(path, "rb") as f:
                    f.read(1)
            except OSError:
                continue  # still locked or unreadable: try again next round
            ready.append((path, st.st_mtime_ns, st.st_size))
            with self._lock:
                self._pending.pop(path, None)
        return ready

    # --- processing the queue -----------------------------------------------------------------------------------

    def _work_loop(self) -> None:
        catalog = Catalog(self.engine.settings.catalog)
        while not self._stop.is_set():
            rows = self.store.claim(self.batch)
            if not rows:
                self._work.wait(1.0)
                self._work.clear()
                continue
            try:
                done = self.process([r["path"] for r in rows], catalog)
            except Stopping:  # the batch goes back to the queue, first at the next start; its finished photos
                self.store.requeue_running()  # are answered from the catalog then
                break
            except Exception as e:  # a batch that breaks is retried file by file next time, not lost
                log.exception("watch batch failed")
                done = {r["path"]: ("failed", f"{type(e).__name__}: {e}") for r in rows}
            # each queued file's outcome, looked up once: what is stored, named and counted is one list (the count
            # was taken from every file the batch's photos hold, the rest from the queued files)
            outcomes = [(r, *done.get(r["path"], ("failed", "not processed"))) for r in rows]
            self.store.finish([(r["path"], r["mtime_ns"], state, err) for r, state, err in outcomes])
            for r, state, err in outcomes:  # the count alone ("2 failed") leaves the photographer to find which files
                if state == "failed":
                    log.warning("not analysed: %s: %s", r["path"], err)
            self.on_batch(sum(state == "done" for _, state, _ in outcomes),
                          sum(state == "failed" for _, state, _ in outcomes))
        catalog.close()

    def process(self, paths: list[str], catalog: Catalog) -> dict[str, tuple[str, str | None]]:
        """Analyse and write back `paths` (one Cull run for the photos); path -> (state, error)."""
        from keepers.sidecar import video

        out: dict[str, tuple[str, str | None]] = {}
        photos = [p for p in paths if not is_video(p)]
        if photos:
            cull = SharedCull(self.settings, catalog, self.engine.analyzers,
                              progress=stop_when(self._stop.is_set))
            for r in cull.run(photos):
                err = r.error or r.write_error
                for f in r.photo.files:
                    out[f] = ("failed", err) if err else ("done", None)
        for p in paths:
            if is_video(p):
                if self._stop.is_set():  # as a photo's batch ends at its next photo (stop_when)
                    raise Stopping()
                try:
                    judged = video.judge(self.engine, p, self.engine.analyzers, stopping=self._stop.is_set)
                    _, err = video.write_sidecar(self.engine, p, judged)
                    out[p] = ("failed", err) if err else ("done", None)
                except (video.VideoError, OSError) as e:
                    out[p] = ("failed", str(e))
        return out
