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
replace, stale temp files). This module holds the flow: SidecarWriter.write and .embed, read top-down.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from exiftool.exceptions import ExifToolException

from keepers.core.io import exiftool as et_proc
from keepers.core.errors import ReadError, WriteError
from keepers.core.io.naming import FolderNames
from keepers.core.io.xmp_args import NOT_SEEDED, SEP, assignments, check_packet, without_darktable
from keepers.core.io.xmp_files import check_writable, install, remove_stale_temps, replace, temp_name, unlink
from keepers.core.io.xmp_plan import ROOT, owned_keys, plan
from keepers.core.io.xmp_read import as_list, empty, num, photo_rating, photo_xmp, raw_tags, read_sidecar
from keepers.core.types import Verdict

# what callers use: the writer, read_sidecar, and the pieces the review page's own writes share (sidecar/review)
__all__ = ["ROOT", "SEP", "SidecarWriter", "WriteResult", "as_list", "check_packet", "install", "photo_rating",
           "photo_xmp", "read_sidecar", "replace", "temp_name", "unlink"]

log = logging.getLogger(__name__)


@dataclass
class WriteResult:
    sidecar: Path
    created: bool
    rating_written: bool
    keywords_added: list[str]  # entries inserted by this write: "Keepers|animal|bird" (hierarchical), "bird" (flat)
    dry_run: bool
    keywords_removed: list[str] = field(default_factory=list)
    keywords_copied: list[str] = field(default_factory=list)  # the photographer's, copied into a list a host reads
    properties: list[str] = field(default_factory=list)  # labels Keepers holds after this write: "xmp:Label=Red"


def _check(et, path: Path, doing: str) -> None:
    """exiftool's errors and non-minor warnings (a truncated packet would be rewritten short) fail the write."""
    err = (et.last_stderr or b"").decode("utf-8", "replace")
    bad = [ln for ln in err.splitlines()
           if ln.startswith("Error") or (ln.startswith("Warning") and "[minor]" not in ln)]
    if et.last_status not in (0, None) or bad:
        raise WriteError(path, f"{doing}: {'; '.join(bad) or f'exiftool exit status {et.last_status}'}")


class SidecarWriter:
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

    def write(self, photo_file, verdict: Verdict, *, analyzers: dict[str, str], dry_run: bool = False,
              overwrite_ratings: bool = False, extra: dict | None = None,
              host=None, embedded_rating: float | None = None, embedded_xmp: bool | None = None) -> WriteResult:
        """Write the verdict into the photo's sidecar (created if none); on failure raise WriteError, changing nothing.

        `host`: a keepers.core.io.hosts.HostAdapter deciding sidecar name, rating value, labels and keyword lists
        (default: the generic adapter).

        A new sidecar starts from the photo's own XMP packet (less develop settings: NOT_SEEDED), so what the
        photographer set there (rating, labels, keywords) is in it and decides, as in any sidecar, what Keepers may
        write. In an existing sidecar, a label or rating it lacks but the photo carries is the photographer's too.
        xmp:Rating = the host's value for verdict.stars (-1 = reject; digiKam 0) only where no rating is set (in the
        sidecar, nor a non-zero one in the photo itself; a host's placeholder counts as none) or the rating is the one
        Keepers set last (keepers:RatingSet), unless `overwrite_ratings`.
        Refuses a read-only sidecar or folder even as root.
        `embedded_rating`: the photo's own rating as the loader read it (0 = none; None = not known: exiftool reads it).
        `embedded_xmp`: whether the photo has an XMP packet, as the loader saw (None = not known: exiftool looks);
        False spares the exiftool command that reads it.
        `extra`: further keepers:* values (e.g. {"GroupKind": "burst"}). `dry_run`: read, plan, return the result,
        write nothing (a write that would fail still raises).
        """
        if host is None:
            from keepers.core.io.hosts import GenericAdapter

            host = GenericAdapter()
        photo, sidecar, names = self.sidecar(photo_file, host)
        if not photo.is_file():
            raise WriteError(photo, "photo not found")
        target = Path(os.path.realpath(sidecar))  # through a symlinked sidecar, not over the link
        if any(c in str(f) for f in (photo, target) for c in "\r\n"):
            raise WriteError(sidecar, "file names with line breaks cannot be passed to exiftool")
        try:
            exists = target.exists()
            check_writable(target, exists)
            et = et_proc.get()  # a fresh one if the last died
            try:
                old = raw_tags(et, target, strict=True) if exists else None  # None: write a new packet
            except ReadError:
                # a long-running exiftool can carry what it parsed from one file's structures over to the next
                # (seen with darktable:history after darktable sidecars): judge the file, and write it, with a
                # fresh process; only a file that a fresh exiftool cannot read either is refused
                et = et_proc.restart()
                old = raw_tags(et, target, strict=True)
            theirs, packet, exif_rating, looked = {}, None, None, False
            if embedded_xmp is not False and (old is None or any(empty(old.get(k))
                                                                  for k in owned_keys(host, verdict))):
                try:
                    theirs, packet, exif_rating = photo_xmp(et, photo)
                    looked = True
                except ReadError as e:  # the photo was judged from what could be read: its XMP counts as none
                    log.debug("%s", e)
            if old is None:
                plan_old = dict(theirs)  # the new sidecar is the photo's packet, with Keepers' changes
            else:  # the sidecar's own, and the photo's labels where the sidecar has none (its rating: below)
                plan_old = dict(old)
                for k in owned_keys(host, verdict)[1:]:
                    if empty(old.get(k)) and not empty(theirs.get(k)):
                        plan_old[k] = theirs[k]
            embedded = None
            if not overwrite_ratings and (num(plan_old.get("Rating")) is None or host.rating_unset(plan_old)):
                if looked:
                    stars = (None if old is None else num(theirs.get("Rating")), exif_rating)
                    embedded = next((s for s in stars if s), None)
                else:
                    embedded = photo_rating(et, photo) if embedded_rating is None else (embedded_rating or None)
        except ReadError as e:
            raise WriteError(sidecar, f"the existing sidecar is unreadable, left as it is: {e.reason}") from e
        except (OSError, ExifToolException) as e:
            raise WriteError(sidecar, str(e)) from e
        p = plan(plan_old, verdict, overwrite_ratings, embedded, host)
        result = WriteResult(sidecar, not exists, p["rating"], p["added"], dry_run, p["removed"], p["copied"],
                             p["props_set"])
        if dry_run:
            return result
        args = assignments(p, verdict, analyzers, host, extra)
        if not exists and sidecar.name.casefold() == (photo.stem + ".xmp").casefold():
            args.append(f"-XMP-photoshop:SidecarForExtension={photo.suffix[1:].upper()}")  # as Lightroom does
        seed, fresh = None, args
        if old is None and packet is not None:
            seed = temp_name(target)
            args = [*NOT_SEEDED, *without_darktable(args, packet, plan_old), os.fsencode(seed)]
        elif old is not None:
            args = [*args, os.fsencode(target)]
        out = "-.xmp" if old is None and seed is None else "-"
        here = names if target.parent == photo.parent else None  # the listing holds the target's folder
        try:
            if seed is not None:
                try:
                    with open(seed, "xb") as f:
                        f.write(packet)
                except OSError as e:
                    raise WriteError(sidecar, e.strerror or str(e)) from e
            doing = "exiftool could not write the sidecar"
            try:
                data = self._run(et, ["-sep", SEP, "-o", out, *args], sidecar, doing)
            except WriteError as e:
                if seed is None:
                    raise
                # a packet exiftool reads but will not rewrite: the sidecar holds Keepers' values only, which were
                # planned around the photo's (nothing of theirs is contradicted; it stays inside the photo)
                log.info("%s: the photo's own XMP not copied into its new sidecar: %s", photo, e.reason)
                data = self._run(et, ["-sep", SEP, "-o", "-.xmp", *fresh], sidecar, doing)
            check_packet(data, sidecar)
            remove_stale_temps(target, here)
            replace(target, data)
        finally:
            if seed is not None:
                unlink(seed)
        if here is not None:
            here.add(target.name)  # the batch's later photos see the sidecar just made
        return result

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
        tmp = temp_name(target)
        args = ["-sep", SEP, "-o", os.fsencode(tmp), *assignments(p, verdict, analyzers, host, extra),
                os.fsencode(target)]
        try:
            remove_stale_temps(target, self.folder_names(target.parent))
            self._run(et, args, photo, "exiftool could not write the photo")
            install(tmp, target, keep_original)
        except OSError as e:
            unlink(tmp)
            raise WriteError(photo, e.strerror or str(e)) from e
        except BaseException:
            unlink(tmp)
            raise
        return result
