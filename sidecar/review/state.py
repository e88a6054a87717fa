"""What a review page shows and changes: the culled photos of some folders, in capture order, and the
photographer's choices (stars, pick/reject flag, colour label), each written at once where the host reads it and
to the catalog.

A choice is the photographer's in the sidecar's own terms (core/io/xmp.py): xmp:Rating is set and keepers:RatingSet
cleared, so a later cull sees a rating Keepers did not set and never replaces it; a label is set in the host's label
property (xmp:Label "Red"..., darktable:colorlabels, digiKam:ColorLabel) or removed, and leaves
keepers:PropertiesSet; what was chosen is named in keepers:Overruled, so a later cull keeps it, a removed label
included. A reject is xmp:Rating -1 (XMP spec, darktable, Lightroom's reject on "Read metadata from
files"). A pick has no portable XMP property, so it is kept in the catalog (table review_choices), where every
overruling also waits for the taste issue. Where the host reads no sidecar for a file (Lightroom's JPEG, TIFF, PSD,
PNG, DNG) the choice goes into the file itself with the `embed` setting, as `keepers cull --embed` writes;
otherwise only into the catalog (the page says so), where the Lightroom plug-in reads it (POST /v1/review/choices)
and applies it."""

from __future__ import annotations

import copy
import os
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from keepers.sidecar.review import xmpio
from keepers.sidecar.review.thumbs import Closed

_CHOICES = """CREATE TABLE IF NOT EXISTS review_choices (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    rating INTEGER,            -- the stars the photographer gave (0-5), NULL: none given in the page
    flag TEXT,                 -- 'pick', 'reject' or NULL
    keepers_stars INTEGER,     -- what Keepers had judged, for the taste issue
    decided_at TEXT NOT NULL,
    label TEXT,                -- the colour label given in the page ('red'...), NULL: none
    rated INTEGER              -- 1: `rating` was given in the page (a taste signal); 0: the stars shown, kept with
                               -- a flag or label (maybe Keepers'); NULL: a catalog from before this column
)"""
LABELS = ("red", "yellow", "green", "blue", "purple")


@dataclass
class Item:
    id: int
    photo: object  # keepers.core.types.Photo
    content_hash: str
    rating: int  # the stars shown (0-5)
    flag: str | None  # 'pick', 'reject' or None
    label: str | None  # 'red'... or None
    where: str  # where a choice goes: 'sidecar', 'embedded' (into the file) or 'plugin' (the catalog only)
    target: Path | None  # the sidecar or the photo file written
    info: dict = field(default_factory=dict)  # what the page shows and never changes: score, reasons, group...
    seq: int = 0  # the review's change number at this photo's last change: a page keeps the newest it was told

    def as_dict(self) -> dict:
        return {"id": self.id, "rating": self.rating, "flag": self.flag, "label": self.label, "where": self.where,
                "seq": self.seq, **self.info}

    def state(self) -> tuple:
        return self.rating, self.flag, self.label


def _focus(r) -> list[float] | None:
    """Where focus was judged, as fractions (x0, y0, x1, y1) of the frame: the largest face, else the sharpness
    analyzer's sharpest tile; None where neither was found. Boxes are in analysis-image pixels (the long side
    shrunk to the analysis size, never enlarged)."""
    m, found = r.meta, {f.analyzer: f for f in (r.findings or [])}
    if m is None or not m.width or not m.height:
        return None
    faces = ((found.get("faces") and found["faces"].data) or {}).get("faces") or []
    box = faces[0].get("box") if faces else ((found.get("sharpness") and found["sharpness"].data) or {}).get("best_box")
    if not box or len(box) != 4:
        return None
    k = min(1.0, 1024 / max(m.width, m.height))  # Settings.analysis_size's default; a ratio, so only k matters
    w, h = max(1, round(m.width * k)), max(1, round(m.height * k))
    return [round(min(max(v / s, 0.0), 1.0), 4) for v, s in zip(box, (w, h, w, h))]


def _info(r) -> dict:
    from keepers.core.commands.cull import why
    from keepers.core.judge.flaws import role, shown
    from keepers.core.judge.texts import plain, points

    v, m = r.verdict, r.meta
    # the reasons as `keepers show` lists them (a keeper's flaws that cost nothing left out), with its words and
    # signed points; the grid's line is the cull table's why
    return {"name": os.path.basename(r.photo.path), "path": r.photo.path, "score": round(v.score, 1),
            "verdict": v.verdict, "stars": v.stars, "group": v.group, "pick": v.pick, "why": why(v),
            "reasons": [{"code": x.code, "message": x.message, "cost": round(x.cost, 2), "role": role(x),
                         "points": points(x.cost), "said": plain(x)} for x in shown(v.reasons, v.verdict == "good")],
            "keywords": v.keywords, "time": m.capture_time if m else None, "focus": _focus(r),
            "exif": {k: getattr(m, k, None) for k in ("model", "lens", "exposure_time", "f_number", "iso", "width",
                                                       "height")} if m else {}}


class Changed(Exception):
    """An undo (or redo) of a photo changed since by another tab: refused, as it would take back that change too."""


class Review:
    """One review: the token, the roots whose photos may be served, the photos and each tab's undo history.

    A page may be open in two tabs or windows: each sends its own id, and its undo takes back only what it did
    (one history for the review took back the other tab's last change). Every change is numbered (`seq`); a tab asks
    for the photos changed since the last number it saw, so it shows what another tab did."""

    def __init__(self, settings, results, roots):
        from concurrent.futures import ThreadPoolExecutor

        from keepers.core.io import exiftool as et_proc
        from keepers.core.io.catalog import Catalog
        from keepers.core.io.hosts import adapter_for
        from keepers.sidecar.review.thumbs import Queue

        self.settings = settings
        self.token = secrets.token_urlsafe(32)
        self.roots = [os.path.realpath(r) for r in roots]
        self.host = adapter_for(settings)
        self.embed = bool(getattr(settings, "embed", False))
        self.catalog = Catalog(settings.catalog)
        self.thumbs = Path(settings.catalog).with_name("previews")
        self.previews = Queue()
        self._lock = threading.RLock()
        self._closed = False
        # tab id -> [(photo id, stars, flag, label, file's values, catalog row) before, the photo's state after]
        self._undo: dict[str, list[tuple]] = {}
        self._redo: dict[str, list[tuple]] = {}
        self.seq = 0  # changes made so far, every tab's
        # one writer thread, its exiftool started now: a request thread's first write started one (0.5 s and more
        # on a busy machine), and the page promises the sidecar within a second of the key
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="keepers-review-write")
        self._writer.submit(et_proc.warm)
        try:
            self._load(results)
        except BaseException:
            # its threads and catalog are closed with it: a review that failed to open (exiftool gone, a catalog
            # that cannot be read) left its preview threads, its writer thread and the writer's exiftool running
            # until the process ended
            self.close()
            raise

    def _load(self, results) -> None:
        """The photos of `results` as the page shows them, with the choices the sidecars and catalog hold."""
        from keepers.core.io.hosts import ROLES
        from keepers.core.io.xmp import SidecarWriter

        # the host's own label properties, as it writes Keepers' labels: an adapter of its kind whose every role
        # has the colour (a label is the photographer's: keepers:PropertiesSet loses the entry)
        self._label_props = {}
        for c in LABELS:
            a = copy.copy(self.host)
            a.labels = {role: c for role in ROLES}
            v = SimpleNamespace(stars=0, keywords=[], pick=False, group=None, verdict="good")
            self._label_props[c] = [p for p in a.props(v) if "label" in p.name.lower()]
        db = self.catalog.db
        with self.catalog._lock, db:
            db.execute(_CHOICES)
            if "label" not in {row[1] for row in db.execute("PRAGMA table_info(review_choices)")}:
                db.execute("ALTER TABLE review_choices ADD COLUMN label TEXT")  # a catalog of the first page
            if "rated" not in {row[1] for row in db.execute("PRAGMA table_info(review_choices)")}:
                db.execute("ALTER TABLE review_choices ADD COLUMN rated INTEGER")
        judged = [r for r in results if r.verdict is not None and r.photo_id is not None]
        judged.sort(key=lambda r: ((r.meta.capture_time or "") if r.meta else "", r.photo.path))
        writer = SidecarWriter(cache_folders=True)  # each folder listed once, not once per photo
        where = {}
        for r in judged:
            if self.host.reads_sidecar(r.photo.path):
                where[r.photo_id] = ("sidecar", Path(os.path.realpath(writer.sidecar(r.photo.path, self.host)[1])))
            else:
                real = Path(os.path.realpath(r.photo.path))
                where[r.photo_id] = ("embedded", real) if self.embed else ("plugin", None)
        facts = xmpio.read_many([t for w, t in where.values() if w == "sidecar"])
        hashes = dict(db.execute("SELECT id, content_hash FROM photos"))
        chosen = {row[0]: row for row in db.execute("SELECT photo_id, rating, flag, label FROM review_choices")}
        by_xmp_label = any(p.tag == "XMP-xmp:Label" for p in self._label_props["red"])
        self.items: dict[int, Item] = {}
        for r in judged:
            w, target = where[r.photo_id]
            got = facts.get(target, {}) if w == "sidecar" else {}
            row = chosen.get(r.photo_id)
            rating = got.get("rating")
            if rating is None:
                rating = row[1] if row and row[1] is not None else (r.meta.rating if r.meta and r.meta.rating
                                                                     is not None else r.verdict.stars)
            # xmp:Label is read back from the sidecar; a host with its own label property (darktable, digiKam)
            # shows the label last given in the page
            label = got.get("label") if w == "sidecar" and by_xmp_label else (row[3] if row else None)
            flag = row[2] if row else None
            rating = int(rating)
            if rating == -1:
                rating, flag = 0, "reject"
            self.items[r.photo_id] = Item(r.photo_id, r.photo, hashes.get(r.photo_id) or "", max(0, min(5, rating)),
                                          flag, (label or "").lower() or None, w, target, _info(r))

    def close(self) -> None:
        """End the review (its server stops, or another review replaces it). A choice being written is written
        whole first, its file and the catalog (the lock it holds); one asked after is refused (Closed). Then the
        preview threads and the writer thread end, and the writer's exiftool with it: left running, they lived
        until the process ended, and a stopping `keepers serve` waited at its exit for the writer's pool."""
        from keepers.core.io import exiftool as et_proc

        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.previews.close()
        self._writer.shutdown()  # waits for its thread to end
        et_proc.reap()  # the processes of ended threads: the writer's among them
        self.catalog.close()

    # --- what the page asks ---------------------------------------------------------------------------------

    def changed_since(self, since: int | None) -> tuple[int, list[dict]]:
        """The last change's number and the photos changed after change number `since` (None: every photo), read
        together."""
        with self._lock:
            return self.seq, [it.as_dict() for it in self.items.values() if since is None or it.seq > since]

    def allowed(self, path: str) -> bool:
        """Whether a file lies under one of the reviewed roots (symlinks resolved)."""
        real = os.path.realpath(path)
        return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in self.roots)

    # --- what the page changes ------------------------------------------------------------------------------

    def change(self, photo_id: int, *, rating: int | None = None, flag=..., label=..., tab: str = "") -> dict:
        """Set a photo's stars, flag and/or colour label; the file and the catalog have it when this returns.
        `tab`: the page's id, whose undo takes it back."""
        it = self.items[photo_id]
        rating_given = rating is not None
        rating = it.rating if rating is None else rating
        if not 0 <= rating <= 5 or flag not in (None, "pick", "reject", ...) or label not in (None, ..., *LABELS):
            raise ValueError("stars are 0-5, a flag is pick, reject or none, a label one of " + ", ".join(LABELS))
        with self._lock:
            self._refuse_if_closed()
            before = self._set(it, rating, it.flag if flag is ... else flag,
                               it.label if label is ... else label, rated=rating_given)
            self._undo.setdefault(tab, []).append((before, it.state()))
            self._redo.pop(tab, None)
            return it.as_dict()

    def undo(self, redo: bool = False, tab: str = "") -> dict | None:
        """Take back this tab's last change (redo: the last one it took back), exactly: the file's values (rating,
        whose it was, label) and the catalog's record, as they were. None when the tab has nothing to take back.
        A photo another tab has changed since: Changed, and the step is dropped (taking it back would take back
        the other tab's change as well); the tab's next undo goes on with its earlier changes."""
        with self._lock:
            self._refuse_if_closed()
            src, dst = (self._redo, self._undo) if redo else (self._undo, self._redo)
            if not src.get(tab):
                return None
            (photo_id, rating, flag, label, values, row), after = src[tab].pop()
            it = self.items[photo_id]
            if it.state() != after:
                raise Changed(f"{it.info['name']} was changed in another tab or window since (taking back this "
                              f"tab's change would take back that one too)")
            dst.setdefault(tab, []).append((self._set(it, rating, flag, label, values, row), (rating, flag, label)))
            return it.as_dict()

    def _refuse_if_closed(self) -> None:
        if self._closed:  # its writer and catalog are closed: the choice could be neither written nor kept
            raise Closed("the review has ended: this choice was not written")

    def _wanted(self, it: Item, rating: int, flag: str | None, label: str | None, rated: bool) -> tuple[dict, list]:
        """The XMP values that say the photographer's choice, {exiftool tag: value or None (removed)}, and the
        properties that are theirs from now on. Only what the choice changes: a star given leaves the labels alone
        (darktable's colour labels the page does not show among them), a label the stars."""
        want, theirs = {}, []
        if rated or rating != it.rating or flag != it.flag:
            want.update({"XMP-xmp:Rating": str(-1 if flag == "reject" else rating), "XMP-keepers:RatingSet": None})
            theirs.append("xmp:Rating")
        if label != it.label:
            for c in LABELS:  # every label property this host has, set to this colour or removed
                for p in self._label_props[c]:
                    want[p.tag] = None
                    theirs.append(p.name)
            for p in self._label_props.get(label, []):
                want[p.tag] = p.value
        return want, list(dict.fromkeys(theirs))

    def _set(self, it: Item, rating: int, flag, label, values: dict | None = None, row=..., rated=False) -> tuple:
        """Write a photo's state; returns what it replaced (for undo). `values`: the XMP values to write as given
        (an undo), else the photographer's; `row`: the review_choices row to restore (None: none), else this
        choice's; `rated`: the stars were given now (or were before, in the page), not only shown."""
        before = None
        if not os.path.exists(it.photo.path):  # else its sidecar would be written beside nothing
            from keepers.core.errors import WriteError

            raise WriteError(it.photo.path, "the photo is no longer there (deleted or moved since the page opened)")
        if it.where != "plugin":
            want, drop = (values, []) if values is not None else self._wanted(it, rating, flag, label, rated)
            before = self._writer.submit(self._write, it, want, drop).result()
        with self.catalog._lock, self.catalog.db:
            db = self.catalog.db
            old = db.execute("SELECT photo_id, rating, flag, keepers_stars, decided_at, label, rated "
                             "FROM review_choices WHERE photo_id = ?", (it.id,)).fetchone()
            if row is ...:
                row = (it.id, rating, flag, it.info["stars"], datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       label, int(bool(rated or (old is not None and old[6] and old[1] == rating))))
            if row is None:
                db.execute("DELETE FROM review_choices WHERE photo_id = ?", (it.id,))
            else:
                db.execute("INSERT OR REPLACE INTO review_choices (photo_id, rating, flag, keepers_stars, "
                           "decided_at, label, rated) VALUES (?, ?, ?, ?, ?, ?, ?)", tuple(row))
        snapshot = (it.id, it.rating, it.flag, it.label, before, None if old is None else tuple(old))
        it.rating, it.flag, it.label = rating, flag, label
        self.seq += 1
        it.seq = self.seq
        return snapshot

    def _write(self, it: Item, want: dict, drop: list[str]) -> dict:
        """The photo's XMP values set (in its sidecar, or in the file itself), everything else kept; returns the
        values as they were, keepers:PropertiesSet included, for an undo."""
        if it.where == "sidecar" and not it.target.exists():
            from keepers.core.errors import WriteError
            from keepers.core.io.xmp import SidecarWriter

            stored = self.catalog.verdict(it.id)
            if stored is None:
                raise WriteError(it.target, "the photo has no judgement in the catalog")
            SidecarWriter().write(it.photo.path, stored, analyzers={}, host=self.host)  # Keepers' first
        was = xmpio.write(it.target, want, drop_properties=drop, embedded=it.where == "embedded",
                          keep_original=bool(getattr(self.settings, "keep_originals", False)))
        if it.where == "embedded":
            # the file's content changed: the catalog follows, or the next cull would analyse it again
            from keepers.core.pipeline import file_hash

            st = os.stat(it.target)
            self.catalog.touch(it.id, it.photo.path, st.st_size, st.st_mtime_ns, content_hash=file_hash(it.target))
        return was
