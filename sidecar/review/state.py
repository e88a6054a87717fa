"""What a review page shows and changes: the culled photos of some folders, in capture order, and the
photographer's choices (stars, pick/reject flag), each written at once to the photo's sidecar and the catalog.

A choice is the photographer's in the sidecar's own terms (core/io/xmp.py): xmp:Rating is set and keepers:RatingSet
cleared, so a later cull sees a rating Keepers did not set and never replaces it. A reject is xmp:Rating -1 (XMP
spec, darktable, Lightroom's reject on "Read metadata from files"). A pick has no portable XMP property, so it is
kept in the catalog (table review_choices), where every overruling also waits for the taste issue."""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree

from keepers.core.errors import WriteError

_CHOICES = """CREATE TABLE IF NOT EXISTS review_choices (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    rating INTEGER,            -- the stars the photographer gave (0-5), NULL: none given in the page
    flag TEXT,                 -- 'pick', 'reject' or NULL
    keepers_stars INTEGER,     -- what Keepers had judged, for the taste issue
    decided_at TEXT NOT NULL
)"""


@dataclass
class Item:
    id: int
    photo: object  # keepers.core.types.Photo
    content_hash: str
    rating: int  # the stars shown (0-5)
    flag: str | None  # 'pick', 'reject' or None
    info: dict = field(default_factory=dict)  # what the page shows and never changes: score, reasons, group...

    def as_dict(self) -> dict:
        return {"id": self.id, "rating": self.rating, "flag": self.flag, **self.info}


def _sidecar_ratings(sidecars: list[Path]) -> dict[Path, float]:
    """xmp:Rating of each existing sidecar, in one exiftool command per 500 files."""
    import json

    from keepers.core.io import exiftool as et_proc

    have = [p for p in sidecars if p.exists()]
    out: dict[Path, float] = {}
    et = et_proc.get()
    for i in range(0, len(have), 500):
        chunk = have[i:i + 500]
        text = et.execute("-j", "-XMP-xmp:Rating", *map(os.fsencode, chunk), raw_bytes=True).decode("utf-8", "replace")
        for rec in json.loads(text or "[]"):
            if "XMP:Rating" in rec:
                out[Path(rec["SourceFile"])] = float(rec["XMP:Rating"])
    return out


class Review:
    """One review: the token, the roots whose photos may be served, the photos and the undo history."""

    def __init__(self, settings, results, roots):
        from keepers.core.io.catalog import Catalog
        from keepers.core.io.hosts import adapter_for
        from keepers.core.io.xmp import SidecarWriter

        self.settings = settings
        self.token = secrets.token_urlsafe(32)
        self.roots = [os.path.realpath(r) for r in roots]
        self.host = adapter_for(settings)
        self.catalog = Catalog(settings.catalog)
        self.thumbs = Path(settings.catalog).with_name("previews")
        self._lock = threading.RLock()
        self._undo: list[tuple] = []  # (photo id, stars, flag, sidecar rating and RatingSet, catalog row) before
        self._redo: list[tuple] = []
        # one writer thread, its exiftool started now: a request thread's first write started one (0.5 s and more
        # on a busy machine), and the page promises the sidecar within a second of the key
        from concurrent.futures import ThreadPoolExecutor

        from keepers.core.io import exiftool as et_proc

        self._writer = ThreadPoolExecutor(1, thread_name_prefix="keepers-review-write")
        self._writer.submit(et_proc.warm)
        with self.catalog._lock, self.catalog.db:
            self.catalog.db.execute(_CHOICES)
        writer = SidecarWriter()
        judged = [r for r in results if r.verdict is not None and r.photo_id is not None]
        judged.sort(key=lambda r: ((r.meta.capture_time or "") if r.meta else "", r.photo.path))
        sidecars = {r.photo_id: writer.sidecar(r.photo.path, self.host)[1] for r in judged}
        stars = {os.path.realpath(p): v for p, v in _sidecar_ratings(list(sidecars.values())).items()}
        flags = {row[0]: row[1] for row in self.catalog.db.execute("SELECT photo_id, flag FROM review_choices")}
        self.items: dict[int, Item] = {}
        for r in judged:
            v = r.verdict
            got = stars.get(os.path.realpath(sidecars[r.photo_id]))
            rating = v.stars if got is None else int(got)
            flag = flags.get(r.photo_id)
            if rating == -1:
                rating, flag = 0, "reject"
            row = self.catalog.photo_row(r.photo.path)
            m = r.meta
            self.items[r.photo_id] = Item(r.photo_id, r.photo, row["content_hash"] if row else "", rating, flag, {
                "name": os.path.basename(r.photo.path), "path": r.photo.path, "score": round(v.score, 1),
                "verdict": v.verdict, "stars": v.stars, "group": v.group, "pick": v.pick,
                "reasons": [{"code": x.code, "message": x.message, "cost": round(x.cost, 2)} for x in v.reasons],
                "keywords": v.keywords, "time": m.capture_time if m else None,
                "exif": {k: getattr(m, k, None) for k in ("model", "lens", "exposure_time", "f_number", "iso",
                                                            "width", "height")} if m else {},
            })

    def close(self) -> None:
        self._writer.shutdown()
        self.catalog.close()

    # --- what the page asks ---------------------------------------------------------------------------------

    def photos(self) -> list[dict]:
        with self._lock:
            return [it.as_dict() for it in self.items.values()]

    def allowed(self, path: str) -> bool:
        """Whether a file lies under one of the reviewed roots (symlinks resolved)."""
        real = os.path.realpath(path)
        return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in self.roots)

    # --- what the page changes ------------------------------------------------------------------------------

    def change(self, photo_id: int, *, rating: int | None = None, flag: str | None | type(...) = ...) -> dict:
        """Set a photo's stars and/or flag; the sidecar and the catalog have it when this returns."""
        rating = self.items[photo_id].rating if rating is None else rating
        if not 0 <= rating <= 5 or flag not in (None, "pick", "reject", ...):
            raise ValueError("stars are 0-5 and a flag is pick, reject or none")
        with self._lock:
            it = self.items[photo_id]
            self._undo.append(self._set(it, rating, it.flag if flag is ... else flag))
            self._redo.clear()
            return it.as_dict()

    def undo(self, redo: bool = False) -> dict | None:
        """Take back the last change (redo: the last one taken back), exactly: the sidecar's rating and whose it
        was, and the catalog's record, as they were. None when there is nothing to take back."""
        with self._lock:
            src, dst = (self._redo, self._undo) if redo else (self._undo, self._redo)
            if not src:
                return None
            photo_id, rating, flag, sidecar, row = src.pop()
            it = self.items[photo_id]
            dst.append(self._set(it, rating, flag, sidecar, row))
            return it.as_dict()

    def _set(self, it: Item, rating: int, flag: str | None, sidecar: tuple | None = None, row=...) -> tuple:
        """Write a photo's state; returns what it replaced (for undo). `sidecar`: (xmp:Rating, keepers:RatingSet)
        to write as given (an undo), else the photographer's rating; `row`: the review_choices row to restore
        (None: none), else this choice's."""
        value = -1 if flag == "reject" else rating
        before = self._writer.submit(self._write_sidecar, it, *(sidecar or (value, None))).result()
        with self.catalog._lock, self.catalog.db:
            db = self.catalog.db
            old = db.execute("SELECT * FROM review_choices WHERE photo_id = ?", (it.id,)).fetchone()
            if row is ...:
                row = (it.id, rating, flag, it.info["stars"], datetime.now(timezone.utc).isoformat(timespec="seconds"))
            if row is None:
                db.execute("DELETE FROM review_choices WHERE photo_id = ?", (it.id,))
            else:
                db.execute("INSERT OR REPLACE INTO review_choices VALUES (?, ?, ?, ?, ?)", tuple(row))
        snapshot = (it.id, it.rating, it.flag, before, None if old is None else tuple(old))
        it.rating, it.flag = rating, flag
        return snapshot

    def _write_sidecar(self, it: Item, value: int | None, rating_set: int | None) -> tuple:
        """xmp:Rating = value and keepers:RatingSet = rating_set (None: removed; a rating without it is the
        photographer's), everything else in the sidecar kept, through the sidecar writer's atomic replace. Returns
        the two as they were. A photo without a sidecar gets Keepers' first."""
        import json

        from keepers.core.io import exiftool as et_proc
        from keepers.core.io.xmp import SidecarWriter, _replace

        writer = SidecarWriter()
        photo, sidecar, _ = writer.sidecar(it.photo.path, self.host)
        target = Path(os.path.realpath(sidecar))
        if not target.exists():
            stored = self.catalog.verdict(it.id)
            if stored is None:
                raise WriteError(sidecar, "the photo has no judgement in the catalog")
            writer.write(photo, stored, analyzers={}, host=self.host)
        et = et_proc.get()
        was = json.loads(et.execute("-j", "-XMP-xmp:Rating", "-XMP-keepers:RatingSet", os.fsencode(target),
                                    raw_bytes=True) or b"[{}]")[0]
        data = et.execute("-o", "-", "-XMP-xmp:Rating=" + ("" if value is None else str(int(value))),
                          "-XMP-keepers:RatingSet=" + ("" if rating_set is None else str(int(rating_set))),
                          os.fsencode(target), raw_bytes=True)
        start, end = data.find(b"<x:xmpmeta"), data.rfind(b"</x:xmpmeta>")
        try:
            ElementTree.fromstring(data[start:end + 12] if 0 <= start < end else b"")
        except ElementTree.ParseError as e:  # never replace a sidecar with something that is not whole
            raise WriteError(sidecar, f"exiftool returned no valid XMP packet ({e})") from e
        _replace(target, data)
        return was.get("XMP:Rating"), was.get("XMP:RatingSet")
