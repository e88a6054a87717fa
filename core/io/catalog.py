"""The catalog: SQLite (WAL) with one row per photo, keyed by path and content hash, and every analyzer's
findings stored with that analyzer's version, so a re-run analyses only what changed.

SQLite comes from `pysqlite3` when installed: many Pythons' stdlib `sqlite3` cannot load extensions, and the
similarity index needs the sqlite-vec extension (../shared/research/performance.md).

The pieces, read from here: catalog_schema.py (the schema and its migrations, the errors remembered, a value as a
column's JSON, a stored verdict read back), catalog_photos.py (a photo's row, its findings and embeddings saved and
read), catalog_twins.py (known content under a new path: a moved or copied photo found by hash and adopted) and
catalog_gone.py (rows following files Keepers moved or removed; files found gone, marked missing or pruned). This
module holds the connection (Catalog: open, migrate, close) and the verdicts.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

try:
    import pysqlite3.dbapi2 as sqlite3  # can load extensions
except ImportError:  # pragma: no cover - other platforms
    import sqlite3

from keepers.core.io.catalog_gone import GoneFiles
from keepers.core.io.catalog_photos import PhotoRows
from keepers.core.io.catalog_schema import LASTING_ERRORS, MIGRATIONS, dumps, utc_now, verdict_of
from keepers.core.io.catalog_twins import Twins
from keepers.core.types import Verdict

__all__ = ["LASTING_ERRORS", "MIGRATIONS", "Catalog", "dumps", "verdict_of"]


SQLITE_HEADER = b"SQLite format 3\x00"


def _refuse_a_file_of_another_kind(path: Path) -> None:
    """SQLite takes a file too short to hold its header for a new, empty database and writes a catalog over it:
    `--catalog notes.txt`, a note of one line, lost it without a word. An empty file, or a SQLite one, is opened;
    any other is refused with the words SQLite uses for a longer one."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError:  # not there yet (it is made), or not a file: SQLite says why
        return
    if head and head != SQLITE_HEADER:
        raise sqlite3.DatabaseError("file is not a database")


class Catalog(PhotoRows, Twins, GoneFiles):
    """One SQLite file; safe to share between threads (one connection, serialised by a lock)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._seen: dict[str, float] = {}  # path -> when its file was last seen present (row_by_hash)
        _refuse_a_file_of_another_kind(self.path)
        self.db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a crash loses at most the last commits
        self.db.execute("PRAGMA foreign_keys=ON")
        self.migrate()

    def migrate(self) -> None:
        with self._lock:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            for i, script in enumerate(MIGRATIONS[version:], start=version + 1):
                with self.db:
                    self.db.executescript(f"BEGIN; {script}; PRAGMA user_version = {i}; COMMIT;")

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:  # a write in flight on another thread is committed first
            self.db.close()

    def counts(self) -> dict[str, int]:
        return {t: self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("photos", "findings", "verdicts", "embeddings")}

    # --- verdicts ---------------------------------------------------------------------------------------------

    def save_verdict(self, photo_id: int, v: Verdict, written: str | None = None) -> None:
        with self._lock, self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "COALESCE(?, (SELECT written FROM verdicts WHERE photo_id = ?)), ?)",
                (photo_id, v.score, v.verdict, v.confidence, v.stars, dumps([r.as_dict() for r in v.reasons]),
                 dumps(v.keywords), v.group, int(v.pick), v.judged_by, written, photo_id, utc_now()))

    def mark_written(self, photo_id: int, fingerprint: str) -> None:
        with self._lock, self.db:
            self.db.execute("UPDATE verdicts SET written = ? WHERE photo_id = ?", (fingerprint, photo_id))

    def written(self, photo_id: int) -> str | None:
        row = self.db.execute("SELECT written FROM verdicts WHERE photo_id = ?", (photo_id,)).fetchone()
        return row["written"] if row else None

    def verdict(self, photo_id: int) -> Verdict | None:
        r = self.db.execute("SELECT * FROM verdicts WHERE photo_id = ?", (photo_id,)).fetchone()
        return None if r is None else verdict_of(r)
