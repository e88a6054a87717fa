"""Known content under a new path: a photo the catalog holds under another path, found by its content hash
(row_by_hash), and taken over (adopt: its row follows a moved file, a copied file gets a row of its own with the
stored analysis), so a moved or copied folder is not analysed again; known_size tells whether a new file is worth
hashing at all. A part of Catalog (catalog.py): the methods use its connection, lock and the record of files seen
present (self.db, self._lock, self._seen), and adopt stores through catalog_photos.py's save, touch and
copy_findings.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from keepers.core.io.catalog_schema import LASTING_ERRORS
from keepers.core.types import Photo


class Twins:
    """Catalog's look-ups by content (a mixin: Catalog opens the connection and the record of files seen)."""

    def row_by_hash(self, content_hash: str, exclude_path: str | None = None, *, errors: bool = False):
        """The row holding this content under another path than `exclude_path`: one whose file is gone first (the
        photo moved, and its row should follow it), else the newest (the photo was copied). Of several (identical
        files in one folder), the one whose path ends most like `exclude_path` (same folder and file names): their
        rows, and what their sidecars hold, must not be swapped. `errors`: a file whose content could not be read
        counts too (LASTING_ERRORS).

        A folder of 2,000 identical frames asks this once per frame, each time of every copy catalogued before it:
        each copy's path is compared only where its file name is the new one's, and a file seen present in the last
        PRESENT_FOR seconds is not stat'ed again (1,000 copies took 47 s here, 2,000 about four times that)."""
        with self._lock:
            rows = self.db.execute(
                "SELECT id, path, error FROM photos WHERE content_hash = ? AND path IS NOT ? AND "
                "((error IS NULL AND analyzed_at IS NOT NULL) OR (? AND error IS NOT NULL)) ORDER BY id DESC",
                (content_hash, exclude_path, errors)).fetchall()
        rows = [r for r in rows if r[2] is None or r[2].startswith(LASTING_ERRORS)]
        if not rows:
            return None
        seen, fresh = self._seen, time.monotonic() - self.PRESENT_FOR
        gone = [r for r in rows if seen.get(r[1], -1e9) < fresh and not self._present(r[1])]
        rows = gone or rows
        name = os.path.basename(exclude_path or "")
        same = [r for r in rows if r[1].endswith(os.sep + name)] if name else []
        if same:  # its folder's names, compared from the end
            tail = Path(exclude_path).parts[::-1]

            def alike(r) -> int:  # how many trailing path parts it shares with the new path
                parts = Path(r[1]).parts[::-1]
                return next((i for i, (a, b) in enumerate(zip(parts, tail)) if a != b), min(len(tail), len(parts)))

            pick = max(same, key=lambda r: (alike(r), r[0]))
        else:
            pick = rows[0]  # the newest: the rows come newest first
        with self._lock:
            return self.db.execute("SELECT * FROM photos WHERE id = ?", (pick[0],)).fetchone()

    # seconds a file seen present counts as present without a new stat: a file moved away within that minute is
    # taken for copied (its row stays, the new path gets a copy of its findings; the old row is pruned once missing)
    PRESENT_FOR = 60.0

    def _present(self, path: str) -> bool:
        now = time.monotonic()
        if now - self._seen.get(path, -1e9) < self.PRESENT_FOR:
            return True
        if not os.path.exists(path):
            return False
        if len(self._seen) > 100_000:
            self._seen.clear()  # a long-running daemon's memory stays bounded
        self._seen[path] = now
        return True

    def known_size(self, size: int) -> bool:
        """Whether a catalogued file has this size: only then can a new path hold a known photo, so only then is
        it worth hashing the file before analysing it."""
        with self._lock:
            return self.db.execute("SELECT 1 FROM photos WHERE size = ? LIMIT 1", (size,)).fetchone() is not None

    def adopt(self, photo: Photo, content_hash: str, size: int, mtime_ns: int) -> tuple[int, str] | None:
        """A photo at a path the catalog does not know it under, with content it does know: (photo id, "moved")
        when the file it was catalogued as is gone (its row, findings, verdict and the record of what its sidecars
        hold follow it here: sidecars travel with their photos), (photo id, "copied") when that file is still
        there (a new row with a copy of its findings, or of its lasting error). None: content never seen."""
        with self._lock:
            src = self.row_by_hash(content_hash, exclude_path=photo.path, errors=True)
            if src is None:
                return None
            if not os.path.exists(src["path"]):
                self.touch(src["id"], photo.path, size, mtime_ns)
                return src["id"], "moved"
            if src["error"] is not None:
                return self.save(photo, content_hash=content_hash, size=size, mtime_ns=mtime_ns, meta=None,
                                 findings=None, error=src["error"]), "copied"
            return self.copy_findings(src["id"], photo, content_hash, size, mtime_ns), "copied"
