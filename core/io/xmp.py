"""XMP sidecars: find the one sidecar of a photo and write Keepers' verdict into it without losing anything.

Which properties a host reads is its adapter's business (keepers.core.io.hosts: sidecar name, rating value, colour
labels, extra keyword lists); this module applies the ownership rules to whatever the adapter asks for.

Rules (../shared/research/hosts-xmp.md A.1-A.5): everything in a sidecar that Keepers did not write stays as it was
(exiftool rewrites the packet from what it parsed; it drops only empty rdf lists, which carry nothing). A rating the
photographer set is never replaced. Keywords go under the root `Keepers|` in lr:hierarchicalSubject (full path) and
as the leaf alone in dc:subject (flat tools show "bird", not "Keepers"/"animal" noise); keepers:KeywordsAdded
records what Keepers inserted, entries with a `|` for lr:hierarchicalSubject, `Keepers/…` for digiKam:TagsList and
the rest for dc:subject, and only those are ever removed. A label (xmp:Label, digiKam:PickLabel...) is set only where
there is none or it is still the one Keepers set (keepers:PropertiesSet records those). What Keepers set and the
photographer changed or removed since (in a DAM, in a text editor, in the review page) is theirs for good:
keepers:Overruled records it (property names such as `xmp:Rating`, `xmp:Label`; keyword entries as in
KeywordsAdded) and Keepers never writes it again, so a removed label, rating or keyword stays removed. A write goes
to a temp file in the sidecar's folder, is fsynced and renamed over the sidecar, so a sidecar is always either the
old one or the new one.

The photo's own XMP is the photographer's too (../shared/research/hosts-xmp.md: digiKam reading sidecars ignores
what is inside the photo). A new sidecar starts as a copy of the photo's XMP packet (exiftool's `-xmp -b` recipe for
a sidecar from an image), less develop settings (below), so the labels, rating and keywords a DAM showed stay; and
a label or rating the photo carries counts as the photographer's also where an existing sidecar has none. For a host
that reads no sidecar for a file (Lightroom: JPEG, TIFF, PSD, PNG, DNG), `SidecarWriter.embed` writes the same
properties into the file itself, under the same rules, the exiftool way (a new file, renamed over the photo).

The pieces, read from here: xmp_read.py (what a sidecar and the photo hold, through exiftool; read_sidecar),
xmp_plan.py (the rules above applied: what a write may change), xmp_args.py (the plan as exiftool arguments; a new
sidecar seeded from the photo's packet; the packet checked) and xmp_files.py (read-only files refused, the atomic
replace, stale temp files). The writer: this module holds SidecarWriter and what its two writes share (the photo's
one sidecar named, each folder listed once for a batch, an exiftool command run and its errors checked);
xmp_sidecar.py its write into the sidecar (SidecarWriter.write, the flow read top-down; WriteResult) and
xmp_embed.py its write into the photo itself (SidecarWriter.embed).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from exiftool.exceptions import ExifToolException

from keepers.core.io import exiftool as et_proc
from keepers.core.errors import WriteError
from keepers.core.io.naming import FolderNames
from keepers.core.io.xmp_embed import Embed
from keepers.core.io.xmp_sidecar import SidecarWrite

# the names of __all__ below, from the modules that hold them
from keepers.core.io.xmp_args import SEP, check_packet  # noqa: F401
from keepers.core.io.xmp_files import install, replace, temp_name, unlink  # noqa: F401
from keepers.core.io.xmp_plan import ROOT  # noqa: F401
from keepers.core.io.xmp_read import as_list, photo_rating, photo_xmp, read_sidecar  # noqa: F401
from keepers.core.io.xmp_sidecar import WriteResult  # noqa: F401

# what callers use: the writer, read_sidecar, and the pieces the review page's own writes share (sidecar/review)
__all__ = ["ROOT", "SEP", "SidecarWriter", "WriteResult", "as_list", "check_packet", "install", "photo_rating",
           "photo_xmp", "read_sidecar", "replace", "temp_name", "unlink"]


def _check(et, path: Path, doing: str) -> None:
    """exiftool's errors and non-minor warnings (a truncated packet would be rewritten short) fail the write."""
    err = (et.last_stderr or b"").decode("utf-8", "replace")
    bad = [ln for ln in err.splitlines()
           if ln.startswith("Error") or (ln.startswith("Warning") and "[minor]" not in ln)]
    if et.last_status not in (0, None) or bad:
        raise WriteError(path, f"{doing}: {'; '.join(bad) or f'exiftool exit status {et.last_status}'}")


class SidecarWriter(SidecarWrite, Embed):
    """Writes verdicts into sidecars through this thread's exiftool -stay_open process.

    A new sidecar costs one exiftool command; an update two (read the current rating and keywords, then write),
    because what is written depends on what is there. The write always comes from exiftool's `-o -`, so exiftool
    never modifies a file in place: Python writes the temp file and renames it.
    """

    def __init__(self, cache_folders: bool = False):
        # a batch (one run's write-back) reads each folder once; a writer kept longer must see files others add
        self._folders: dict[Path, FolderNames] | None = {} if cache_folders else None
        self._lock = threading.Lock()

    def folder_names(self, folder: Path) -> FolderNames:
        """The folder's names: listed now, or, in a batch, once for the whole batch."""
        if self._folders is None:
            return FolderNames(folder)
        with self._lock:
            if folder not in self._folders:
                self._folders[folder] = FolderNames(folder)
            return self._folders[folder]

    def sidecar(self, photo_file, host) -> tuple[Path, Path, FolderNames]:
        """(photo as an absolute path, its one sidecar under `host`'s naming, the photo folder's names)."""
        photo = Path(os.path.abspath(photo_file))
        names = self.folder_names(photo.parent)
        return photo, host.sidecar(photo, names), names

    def __enter__(self) -> "SidecarWriter":
        et_proc.get()  # start it now, not inside the first write
        return self

    def __exit__(self, *exc) -> None:
        pass  # the process is this thread's, shared with readers, and stays for the next user

    def _run(self, et, args: list, path: Path, doing: str) -> bytes:
        try:
            # UTF-8 whatever the locale: exiftool reads values as UTF-8 (its default charset)
            out = et.execute(*[a.encode() if isinstance(a, str) else a for a in args], raw_bytes=True)
        except (OSError, ExifToolException) as e:
            raise WriteError(path, f"exiftool failed: {e}") from e
        _check(et, path, doing)
        return out
