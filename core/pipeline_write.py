"""The run's write-back step, as part of `Cull` (core/pipeline.py): which files of a photo get a sidecar and which
the host reads none for (`place_writes`), what a written verdict depends on (`write_fingerprint`, kept in the
catalog: the same again writes nothing), and the writes themselves on the run's writer threads, one photo's failure
reported and the batch going on (core/io/xmp.py's SidecarWriter does each write)."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor

from keepers.core.io.catalog import dumps
from keepers.core.pipeline_result import Result
from keepers.core.pipeline_worker import file_hash

log = logging.getLogger("keepers.pipeline")


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


class WriteBack:
    """`Cull`'s write-back step; it reads the run's settings, host, catalog, versions, progress and stats."""

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
                # `sidecars` lists what is (or would be) written: a DAM reading the record would look for this one
                r.sidecars.remove(str(sidecars[outside.index(f)]))
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
