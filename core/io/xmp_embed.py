"""The write into the photo itself (`SidecarWriter.embed`, core/io/xmp.py, which holds the writer and the rules it
follows), for a host that reads no sidecar for the file: the photo's XMP read, the plan, and the photo written by
exiftool to a temp file beside it that replaces it."""

from __future__ import annotations

import os
from pathlib import Path

from keepers.core.io import exiftool as et_proc
from keepers.core.errors import ReadError, WriteError
from keepers.core.io.xmp_args import SEP, assignments
from keepers.core.io.xmp_files import check_writable, remove_stale_temps, rewrite
from keepers.core.io.xmp_plan import plan
from keepers.core.io.xmp_read import num, photo_xmp
from keepers.core.io.xmp_sidecar import WriteResult
from keepers.core.types import Verdict


class Embed:
    """SidecarWriter's write into the photo's own XMP; it uses the writer's `folder_names` and `_run`."""

    def embed(self, photo_file, verdict: Verdict, *, analyzers: dict[str, str], dry_run: bool = False,
              overwrite_ratings: bool = False, extra: dict | None = None, host=None,
              keep_original: bool = False) -> WriteResult:
        """Write the verdict into the photo's own XMP, for a host that reads no sidecar for it (Lightroom: JPEG,
        TIFF, PSD, PNG, DNG), under a sidecar's rules (what the photographer set stays). The exiftool way: exiftool
        writes the photo with its new XMP to a temp file beside it, keeping everything else in the file; that is
        fsynced and renamed over the photo, so the photo is always either the old file or the new one.
        `keep_original`: the photo as it was stays as `<name>_original` (exiftool's name; an existing one is kept).
        WriteError, changing nothing, where it cannot be written."""
        if host is None:
            from keepers.core.io.hosts import GenericAdapter

            host = GenericAdapter()
        photo = Path(os.path.abspath(photo_file))
        if not photo.is_file():
            raise WriteError(photo, "photo not found")
        target = Path(os.path.realpath(photo))  # a symlinked photo stays a link to the file written
        if any(c in str(target) for c in "\r\n"):
            raise WriteError(photo, "file names with line breaks cannot be passed to exiftool")
        check_writable(target, True, "photo")
        try:
            et = et_proc.get()
            old, _, exif_rating = photo_xmp(et, target)
        except ReadError as e:
            raise WriteError(photo, f"cannot read the photo's metadata: {e.reason}") from e
        embedded = None
        if not overwrite_ratings and (num(old.get("Rating")) is None or host.rating_unset(old)):
            embedded = exif_rating
        p = plan(old, verdict, overwrite_ratings, embedded, host)
        result = WriteResult(photo, False, p["rating"], p["added"], dry_run, p["removed"], p["copied"],
                             p["props_set"])
        if dry_run:
            return result
        def write_copy(tmp: Path) -> None:
            remove_stale_temps(target, self.folder_names(target.parent))
            self._run(et, ["-sep", SEP, "-o", os.fsencode(tmp), *assignments(p, verdict, analyzers, host, extra),
                           os.fsencode(target)], photo, "exiftool could not write the photo")

        rewrite(target, write_copy, keep_original, photo)
        return result
