"""Files that moved or went: a row following a file Keepers moved (move) or dropped with a file it removed
(forget), and rows whose files are gone found (check_files, check_folder), marked missing, or pruned where another
present row holds the same content, so search and similar never return them (missing_ids). A part of Catalog
(catalog.py): the methods use its connection and lock (self.db, self._lock) and catalog_photos.py's photo_row and
touch.
"""

from __future__ import annotations

import os
from typing import Iterable

from keepers.core.io.catalog_schema import utc_now


class GoneFiles:
    """Catalog's record of moved, removed and missing files (a mixin: Catalog opens the connection)."""

    def move(self, old: str, new: str) -> None:
        """A file Keepers moved (`sort --move`, its undo): its row follows it."""
        with self._lock:
            row = self.photo_row(old)
            if row is not None:
                self.touch(row["id"], new, row["size"], row["mtime_ns"])

    def forget(self, path: str) -> None:
        """A file Keepers removed (a copy or link taken back by `sort --undo`): its row goes too."""
        with self._lock, self.db:
            self.db.execute("DELETE FROM photos WHERE path = ?", (path,))

    def missing_ids(self) -> set[int]:
        """Photos whose files were found gone: search and similar never return them."""
        with self._lock:
            return {r[0] for r in self.db.execute("SELECT id FROM photos WHERE missing_since IS NOT NULL")}

    def check_files(self, ids: Iterable[int]) -> set[int]:
        """Of these photo ids, those whose files are gone, now marked missing. A row whose content another present
        row still holds is pruned instead (nothing of it is lost); the others stay, marked, so a later cull of the
        moved photo finds its analysis by hash. A gone folder marks all its rows at once (a deleted shoot)."""
        ids = list(ids)
        if not ids:
            return set()
        with self._lock:
            rows = self.db.execute(f"SELECT id, path FROM photos WHERE id IN ({','.join('?' * len(ids))})",
                                   ids).fetchall()
        gone = [r for r in rows if not os.path.exists(r["path"])]
        folders = {os.path.dirname(r["path"]) for r in gone}
        with self._lock, self.db:
            for folder in folders:
                if not os.path.isdir(folder):  # an exact prefix (LIKE ignores case): /a/b must not take /a/B's rows
                    prefix = folder.rstrip(os.sep) + os.sep
                    self._mark(self.db.execute("SELECT id FROM photos WHERE substr(path, 1, ?) = ? AND "
                                               "missing_since IS NULL", (len(prefix), prefix)).fetchall())
            self._mark([(r["id"],) for r in gone])
        return {r["id"] for r in gone}

    def check_folder(self, folder: str) -> set[int]:
        """check_files() for the rows of the photos directly in `folder` (a cull passing through it)."""
        prefix = folder.rstrip(os.sep) + os.sep
        with self._lock:
            rows = self.db.execute("SELECT id, path FROM photos WHERE substr(path, 1, ?) = ? AND missing_since IS NULL",
                                   (len(prefix), prefix)).fetchall()
        return self.check_files([r["id"] for r in rows if os.sep not in r["path"][len(prefix):]])

    def _mark(self, rows) -> None:
        now = utc_now()
        for (pid,) in rows:
            self.db.execute("UPDATE photos SET missing_since = COALESCE(missing_since, ?) WHERE id = ?", (now, pid))
        # pruned: rows gone whose content is still catalogued at a present path
        self.db.execute("DELETE FROM photos WHERE missing_since IS NOT NULL AND EXISTS (SELECT 1 FROM photos p "
                        "WHERE p.content_hash = photos.content_hash AND p.missing_since IS NULL AND p.id != photos.id "
                        "AND p.error IS NULL AND p.analyzed_at IS NOT NULL)")
