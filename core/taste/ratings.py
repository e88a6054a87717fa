"""The photographer's own ratings as taste signals: stars, picks and rejects from XMP sidecars and embedded XMP
(keepers.plugins.importer reads them, leaving out what Keepers wrote: a rating equal to keepers:RatingSet),
digiKam's database and a Lightroom catalog (`.lrcat`, SQLite, opened read-only).

A rating says nothing across shoots (three stars at a wedding, three on holiday), so signals are pairs within
one folder: a higher-rated photo preferred over a lower-rated one. A reject is below every rating, a Lightroom
pick (flag) half a star above its stars. Each photo is paired with at most `PER_PHOTO` others (evenly over the
folder's ratings), so a folder of thousands gives thousands of pairs, not millions. Colour labels are kept out:
their meaning is the photographer's own (red may be "to print" or "to delete")."""

from __future__ import annotations

import os
import sqlite3
from collections import defaultdict
from pathlib import Path

PER_PHOTO = 8


def value(rating: int | None, rejected: bool | None, pick: int | None = None) -> float | None:
    """One number to order a folder's photos by; None: the photographer said nothing about this photo."""
    if rejected or (pick is not None and pick < 0):
        return -1.0
    if rating is None and not pick:
        return None
    return float(rating or 0) + (0.5 if pick and pick > 0 else 0.0)


def from_lrcat(path: str | os.PathLike) -> dict[str, float]:
    """photo path -> value from a Lightroom Classic catalog (Adobe_images.rating, pick; read-only)."""
    uri = f"file:{Path(path).resolve()}?mode=ro"
    con = sqlite3.connect(uri, uri=True)
    try:
        rows = con.execute(
            "SELECT r.absolutePath || fo.pathFromRoot || fi.idx_filename, i.rating, i.pick "
            "FROM Adobe_images i JOIN AgLibraryFile fi ON i.rootFile = fi.id_local "
            "JOIN AgLibraryFolder fo ON fi.folder = fo.id_local "
            "JOIN AgLibraryRootFolder r ON fo.rootFolder = r.id_local").fetchall()
    finally:
        con.close()
    out = {}
    for p, rating, pick in rows:
        v = value(int(rating) if rating is not None else None, None, int(pick or 0))
        if v is not None:
            out[os.path.normpath(p)] = v
    return out


def from_paths(paths: list[str]) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """photo path -> value from sidecars and embedded XMP under `paths` (folders or files), a digiKam database
    (`*.db`) and Lightroom catalogs (`*.lrcat`); and the (file, error) of what could not be read."""
    from keepers.plugins import importer

    out: dict[str, float] = {}
    files = []
    for p in paths:
        if str(p).lower().endswith(".lrcat"):
            out.update(from_lrcat(p))
        elif str(p).lower().endswith(".db"):
            for r in importer.from_digikam(p):
                v = value(r.rating, r.rejected, 1 if r.pick_label == 3 else None)
                if v is not None:
                    out[os.path.abspath(r.path)] = v
        else:
            files.append(str(p))
    errors: list[tuple[str, str]] = []
    if files:
        found, errors = importer.from_files(files)
        for r in found:
            v = value(r.rating, r.rejected)
            if v is not None:
                out[os.path.abspath(r.path)] = v
    return out, errors


def pairs(values: dict[str, float]) -> list[tuple[str, str]]:
    """(preferred, other) within each folder, each photo paired with at most PER_PHOTO photos rated otherwise."""
    by_folder: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for p, v in values.items():
        by_folder[os.path.dirname(p)].append((v, p))
    out = []
    for photos in by_folder.values():
        photos.sort()
        n = len(photos)
        for i, (v, p) in enumerate(photos):
            # partners spread over the folder's order (deterministic: a re-import adds nothing twice)
            step = max(1, n // PER_PHOTO)
            for j in range(i % step, n, step):
                w, q = photos[j]
                if w < v:
                    out.append((p, q))
    return sorted(set(out))
