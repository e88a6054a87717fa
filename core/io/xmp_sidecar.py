"""The write into a photo's sidecar (SidecarWriter.write; core/io/xmp.py holds the writer and its rules), read
top-down; WriteResult is what a write or an embed did."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from exiftool.exceptions import ExifToolException

from keepers.core.io import exiftool as et_proc
from keepers.core.errors import ReadError, WriteError
from keepers.core.io.xmp_args import NOT_SEEDED, SEP, assignments, check_packet, without_darktable
from keepers.core.io.xmp_files import check_writable, remove_stale_temps, replace, temp_name, unlink
from keepers.core.io.xmp_plan import owned_keys, plan
from keepers.core.io.xmp_read import empty, num, photo_rating, photo_xmp, raw_tags
from keepers.core.types import Verdict

log = logging.getLogger("keepers.core.io.xmp")  # the writer's log, named as before the split


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


class SidecarWrite:
    """SidecarWriter's write into a sidecar (through the writer's `sidecar` and `_run`)."""

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
