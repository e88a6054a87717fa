"""The Cull the daemon runs (keepers.sidecar.engine): the command line's Cull over the daemon's loaded analyzers,
and how a background cull ends when the daemon stops (Stopping, at its next photo)."""

from __future__ import annotations

import os
from typing import Callable

from keepers.core.io.catalog import Catalog
from keepers.core.pipeline import Cull, Result, place_writes
from keepers.core.settings import Settings


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
