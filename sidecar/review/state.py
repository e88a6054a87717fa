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
from pathlib import Path
from types import SimpleNamespace

from keepers.sidecar.review import xmpio
from keepers.sidecar.review.choices import _CHOICES, ChoiceWriter
from keepers.sidecar.review.items import LABELS, Item, _info
from keepers.sidecar.review.thumbs import Closed

__all__ = ["LABELS", "Changed", "Item", "Review"]  # imported from here by the page, the daemon and the tests


class Changed(Exception):
    """An undo (or redo) of a photo changed since by another tab: refused, as it would take back that change too."""


class Review(ChoiceWriter):
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
