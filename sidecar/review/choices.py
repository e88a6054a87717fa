"""How a choice made in the page is written: the XMP values that say it, into the sidecar or the file (on the
review's one writer thread), and its row in the catalog's review_choices, returning what it replaced so an undo
restores it exactly. A mixin of Review, which holds the lock, the writer, the catalog and the items it uses."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from keepers.sidecar.review import xmpio
from keepers.sidecar.review.items import LABELS, Item

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


class ChoiceWriter:
    """Review's write path of a choice (Review._set and what it uses)."""

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
